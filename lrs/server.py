"""Running the LRS under gunicorn, sized for the store in use, in this process or a child one."""
from __future__ import annotations

import errno
import http.client
import ipaddress
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, suppress
from typing import Any, Callable, Iterator, Mapping

from gunicorn.app.base import BaseApplication
from gunicorn.errors import AppImportError

from lrs.core import LRS, admin_pair, refuse_revoked_admin
from lrs.logs import gunicorn_logconfig
from lrs.metrics import enable_multiprocess
from lrs.settings import CORE_SETTINGS, SettingError, Settings, parse_public_url, public_url_unset, shown_uri
from lrs.store import check_reachable, read_before_start
from lrs.store.credentials import COLLECTION as CREDENTIALS
from lrs.store.embedded.disk import check_data_dir


class _Gunicorn(BaseApplication):
    """gunicorn with these options, serving the app `factory` builds (default: the LRS)."""

    def __init__(self, options: dict[str, Any], factory: Callable[[], Any] | None = None):
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings:  # e.g. control_socket_disable exists from gunicorn 25.1
                self.cfg.set(name, value)

    def load(self) -> Any:
        if self.factory is not None:
            return self.factory()
        from lrs.app import create_app

        try:
            app = create_app()
        except SettingError as error:  # found only with the store open, e.g. a revoked LRS_ADMIN_KEY
            raise AppImportError(str(error)) from None  # gunicorn prints it as one line and stops
        logging.getLogger("lrs").info(ready_line(app.extensions["lrs"].settings))
        return app


def ready_line(settings: Settings) -> str:
    """What whoever started the server needs next: gunicorn's own lines name neither the xAPI
    endpoint nor the console, nor where the data goes (a relative LRS_DATA_DIR depends on the
    folder the server was started in)."""
    base = settings["public_url"].rstrip("/")
    if settings["mongo_uri"]:
        store = f"MongoDB {shown_uri(settings['mongo_uri'])}, database {settings['mongo_db']!r}"
    elif settings["data_dir"]:
        store = f"the embedded store in {os.path.abspath(settings['data_dir'])} (LRS_DATA_DIR)"
    else:
        store = "the embedded store in memory only (LRS_DATA_DIR is empty)"
    return (f"LRS ready: xAPI endpoint {base}/xapi, admin console {base}/console/; data in {store}; "
            f"plugins: {', '.join(settings['plugins']) or 'none'}")


def serve_app(factory: Callable[[], Any], settings: Settings) -> None:
    """Any WSGI app under gunicorn exactly as `lrs serve` runs the LRS (a benchmark's floor)."""
    _Gunicorn(gunicorn_options(settings, settings["host"], settings["port"]), factory).run()


def gunicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """The embedded store lives in one process, so it gets one worker; MongoDB gets many."""
    if not settings["mongo_uri"] and settings["workers"] > 1:
        raise SettingError(f"LRS_WORKERS={settings['workers']}: the embedded store keeps its data in one "
                           "process's memory, so it runs one worker (with LRS_THREADS threads). Unset "
                           "LRS_WORKERS, or use MongoDB (LRS_MONGO_URI) for several worker processes.")
    workers = settings["workers"] or multiprocessing.cpu_count() * 2 + 1
    return {
        "bind": f"{host}:{port}",
        "workers": workers if settings["mongo_uri"] else 1,
        "threads": settings["threads"],
        "worker_class": "lrs.worker.BufferingWorker",
        "timeout": 120,
        "loglevel": settings["log_level"].lower(),
        "logconfig_dict": gunicorn_logconfig(settings["log_level"].upper(), settings["log_format"]),
        "control_socket_disable": True,  # one shared ~/.gunicorn/gunicorn.ctl would clash between instances
        "child_exit": _forget_worker_metrics,
        **({} if settings["mongo_uri"] else {"on_reload": _stop_worker_before_reload}),
    }


def run(host: str | None = None, port: int | None = None) -> None:
    """Serve until stopped. Settings that cannot work (the plugins' too), plugins that cannot load,
    a MongoDB that does not answer, a data folder in use and an address that cannot be listened on
    are a SettingError before gunicorn starts, not a worker that fails to boot. Metrics of all
    workers meet in a directory of this instance's own."""
    # --host/--port reach the workers (and LRS_PUBLIC_URL's default) the way LRS_HOST/LRS_PORT do,
    # checked the same way (an empty --host is refused as an empty LRS_HOST is).
    flags = {name: value for name, value in (("host", host), ("port", port)) if value is not None}
    _check_flags(flags)
    os.environ.update({f"LRS_{name.upper()}": str(value) for name, value in flags.items()})
    settings, _ = LRS.resolve()  # no store client yet: workers fork from this process
    pair = admin_pair(settings)
    host, port = settings["host"], settings["port"]
    options = gunicorn_options(settings, host, port)
    if not parse_public_url(os.environ.get("LRS_PUBLIC_URL", "")) and not _loopback(host):
        options["when_ready"] = _warn_public_url_unset(settings["public_url"], host, port)
    named = {name: f"--{name}" if name in flags else f"LRS_{name.upper()}" for name in ("host", "port")}
    check_listen(host, port, named["host"], named["port"])
    if settings["mongo_uri"]:
        check_reachable(settings["mongo_uri"], settings["mongo_timeout_seconds"])
    elif settings["data_dir"]:
        check_data_dir(settings["data_dir"])  # opened and let go: the worker opens it for good
    if pair:
        refuse_revoked_admin(read_before_start(settings, CREDENTIALS, pair[0]))
    metrics_dir, master = tempfile.mkdtemp(prefix="lrs-metrics-"), os.getpid()
    enable_multiprocess(metrics_dir)
    try:
        _Gunicorn(options).run()
    finally:
        # A worker ends with sys.exit, which unwinds through here in the worker too: only the
        # master removes the directory the other workers still count in.
        if os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _loopback(host: str) -> bool:
    """Whether only this machine reaches `host`, so that an authority naming 127.0.0.1 is right."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name
        return host == "localhost"


def _warn_public_url_unset(default: str, host: str, port: int) -> Callable[[Any], None]:
    """gunicorn's when_ready hook saying, in its log, that clients beyond this machine will meet
    authorities (fixed for good when a credential is made) and IRIs naming an address of its own."""
    def warn(server: Any) -> None:
        server.log.warning(public_url_unset(f"lrs serve listens on {host}:{port}, beyond this machine", default))
    return warn


def _check_flags(flags: Mapping[str, Any]) -> None:
    """--host and --port checked as LRS_HOST and LRS_PORT are, an error naming the flag: the
    operator typed no LRS_PORT='0'."""
    for setting in CORE_SETTINGS:
        if setting.name in flags:
            try:
                setting.parse(str(flags[setting.name]))
            except ValueError as error:
                raise SettingError(f"--{setting.name}={flags[setting.name]!r}: {error}") from None


def check_listen(host: str, port: int, host_name: str = "LRS_HOST", port_name: str = "LRS_PORT") -> None:
    """A SettingError unless this process could listen on host:port: gunicorn would retry a busy
    port for five seconds and an unknown host once, then end with lines of its own. The names are
    where the values came from (the variables, or the flags of `lrs serve`)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            sock.bind(address)
    except OSError as error:
        raise SettingError(f"{host_name}={host!r}, {port_name}={port}: cannot listen there: "
                           f"{error.strerror or error}{_listen_advice(error, host_name, port_name)}") from None


def _listen_advice(error: OSError, host_name: str, port_name: str) -> str:
    """What to do about the errors a newcomer meets: the OS's words say what is wrong, not which
    setting to change (a second `lrs serve` on the default port is the usual one)."""
    if error.errno == errno.EADDRINUSE:
        return (f" (another program listens there, perhaps another `lrs serve`: stop it, or choose another "
                f"port with {port_name})")
    if error.errno == errno.EACCES:
        return f" (ports below 1024 need privileges: choose {port_name} from 1024 up, and put a proxy in front)"
    if error.errno == errno.EADDRNOTAVAIL:
        return f" (not an address of this machine: {host_name} takes one of its own, or 0.0.0.0 for every one)"
    return ""


def _stop_worker_before_reload(server: Any) -> None:
    """gunicorn's SIGHUP starts the new worker before it stops the old one. The embedded store is
    one process's, its folder locked by the old worker: the new one was refused, and gunicorn
    stopped altogether (a log rotation's HUP took the LRS down). So the old worker ends first (its
    requests answered, its commits made, within graceful_timeout), while new connections wait in
    the listen queue until the new worker has loaded the store."""
    server.log.info("Reload on the embedded store: stopping worker %s before starting the new one, "
                    "which loads the store (requests wait meanwhile)", ", ".join(map(str, server.WORKERS)))
    for signum, seconds in ((signal.SIGTERM, server.cfg.graceful_timeout), (signal.SIGKILL, 10)):
        server.kill_workers(signum)
        deadline = time.monotonic() + seconds
        while server.WORKERS and time.monotonic() < deadline:
            server.reap_workers()
            time.sleep(0.05)
        if not server.WORKERS:
            return


def _forget_worker_metrics(server: Any, worker: Any) -> None:
    """A dead worker's gauges must not linger (its counters stay summed, as Prometheus expects)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def spawned(env: Mapping[str, str], port: int = 0, stdout: Any = subprocess.DEVNULL,
            timeout: float = 30, own_session: bool = False, command: list[str] | None = None,
            cwd: str | os.PathLike | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`lrs serve` as a child process on 127.0.0.1 with these LRS_* variables (over the current
    environment), yielded as (xAPI endpoint, process) once /xapi/about answers; stopped on exit,
    whatever happened inside (SIGTERM, then SIGKILL if it has not ended within `timeout`).

    Benchmarks and tests use it when they need a real server process (its memory, its signals).
    `own_session` starts it in a session (and process group) of its own, the group id being the
    process id: a caller can then signal gunicorn and all its workers at once with os.killpg, and
    stopping signals the whole group too.
    `command` runs another server that reads LRS_HOST and LRS_PORT instead (a benchmark's floor).
    `cwd` is its working directory, where a relative LRS_DATA_DIR lives.
    """
    port = port or free_port()
    process = subprocess.Popen(command or [sys.executable, "-c", "from lrs.cli import main; main(['serve'])"],
                               env={**os.environ, **env, "LRS_HOST": "127.0.0.1", "LRS_PORT": str(port)},
                               stdout=stdout, stderr=subprocess.STDOUT, start_new_session=own_session, cwd=cwd)
    endpoint = f"http://127.0.0.1:{port}/xapi"
    try:
        _wait_until_up(endpoint, process, timeout)
        yield endpoint, process
    finally:
        stop(process, own_session, timeout)


def stop(process: subprocess.Popen, group: bool = False, timeout: float = 30) -> None:
    """End a child process: SIGTERM, then SIGKILL if need be; with `group`, its whole process group,
    SIGKILLing anything of it still left after its leader ended. A process (group) that is already
    gone, e.g. killed by the caller, is fine: stopping never hides what happened before."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
        if process.returncode is not None and not group:
            return
    process.wait(timeout=timeout)


def _wait_until_up(endpoint: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"{endpoint}/about", timeout=5).close()
            return
        except (OSError, http.client.HTTPException):  # not listening yet, or a worker still booting
            time.sleep(0.1)
    raise RuntimeError(f"lrs serve did not answer on {endpoint} within {timeout} s "
                       f"(exit code: {process.poll()})")
