"""The docs run as written: every shell block of README.md and docs/*.md, in order, against a live
`lrs serve` started the way the README's quick start starts it.

Conventions for docs authors:
- Blocks fenced as ```sh, ```bash or ```shell run; every other language is text.
- The blocks of one file run in order in one bash (`set -euo pipefail`), so a variable defined in
  an earlier block of the file is there in later ones; files do not share variables.
- `curl` fails the block on an HTTP error status (it runs with --fail-with-body).
- `127.0.0.1:8000` in a block is the test server's address (rewritten to its real port).
- On the line right above a fence, `<!-- docs-test: skip REASON -->` keeps a block from running
  (it starts a server, needs MongoDB or an outside service, ...) and
  `<!-- docs-test: http-errors-ok -->` lets its curl calls show an HTTP error on purpose.
- The README's quick-start block is marked `<!-- docs-test: server -->`: for each file the test
  starts a fresh server with that block's `lrs serve` settings, every built-in plugin, and one
  forwarding target named `backup` (that answers nothing), and does not run the block itself.
- `<!-- flow -->` blocks (plugin guides' first steps, several servers) are run by
  tests/test_plugin_flows.py, not here.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from lrs.server import spawned

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)[^\n]*$")
MARK = re.compile(r"<!--\s*(?:docs-test:\s*(?P<what>skip|http-errors-ok|server)|(?P<flow>flow))\b\s*"
                  r"(?P<reason>.*?)\s*-->")
BACKUP_TARGET = '[{"name": "backup", "endpoint": "http://127.0.0.1:9/xapi", "auth": {"type": "basic", ' \
                '"username": "key", "password": "secret"}}]'
PLUGINS = {"LRS_PLUGINS": "simple_events,h5p,caliper,forward_xapi", "LRS_LOG_LEVEL": "WARNING",
           "LRS_FORWARD_XAPI_TARGETS": BACKUP_TARGET}
NOT_RUN = {"skip", "server", "flow"}
FILE_TIMEOUT = 180


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    text: str
    mark: str | None
    reason: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> Iterator[Block]:
    """The fenced code blocks of a Markdown file, with the docs-test mark just above each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening.group("fence")
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        above = lines[index - 1] if index else ""
        mark = MARK.search(above)
        what = (mark.group("what") or mark.group("flow")) if mark else None
        yield Block(path, index + 1, opening.group("lang").lower(), textwrap.dedent("\n".join(lines[index + 1:end])),
                    what, mark.group("reason") if mark else "")
        index = end + 1


def script(path: Path, port: int) -> str:
    """One bash script running the file's runnable blocks in order, announcing each."""
    parts = ["set -euo pipefail",
             "curl() { command curl --silent --show-error --fail-with-body \"$@\"; }"]
    for block in blocks(path):
        if block.lang not in SHELLS or block.mark in NOT_RUN:
            continue
        text = block.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        lenient = block.mark == "http-errors-ok"
        parts += [f"echo '>>> {block.where}' >&2",
                  'curl() { command curl --silent --show-error "$@"; }' if lenient else "",
                  text,
                  "curl() { command curl --silent --show-error --fail-with-body \"$@\"; }" if lenient else ""]
    return "\n".join(parts) + "\n"


def test_every_skip_mark_gives_a_reason():
    unexplained = [b.where for path in DOCS for b in blocks(path) if b.mark == "skip" and not b.reason]
    assert unexplained == []


def test_the_block_parser_reads_marks_and_languages(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("text\n```sh\necho one\n```\n<!-- docs-test: skip needs MongoDB -->\n```bash\nexit 1\n```\n"
                   "```json\n{}\n```\n")
    found = list(blocks(doc))
    assert [(b.lang, b.mark, b.reason, b.text) for b in found] == [
        ("sh", None, "", "echo one"), ("bash", "skip", "needs MongoDB", "exit 1"), ("json", None, "", "{}")]


def quick_start_settings() -> dict[str, str]:
    """The NAME=value settings the README's `docs-test: server` block gives `lrs serve`."""
    [block] = [b for b in blocks(ROOT / "README.md") if b.mark == "server"]
    for command in re.split(r"&&|;|\n", block.text.replace("\\\n", " ")):
        words = shlex.split(command)
        if "serve" in words and "lrs" in words:
            return dict(word.split("=", 1) for word in words[:words.index("lrs")] if "=" in word)
    raise AssertionError(f"{block.where}: no `lrs serve` command")


def test_the_quick_start_starts_a_server_with_an_admin_credential():
    settings = quick_start_settings()
    assert settings.get("LRS_ADMIN_KEY") and settings.get("LRS_ADMIN_SECRET")


@pytest.fixture
def server(tmp_path_factory) -> Iterator[int]:
    """`lrs serve` as the quick start starts it, with every built-in plugin: one per file, so
    files cannot disturb one another."""
    log = tmp_path_factory.mktemp("docs") / "server.log"
    with open(log, "wb") as out, spawned({**quick_start_settings(), **PLUGINS}, stdout=out,
                                         timeout=60) as (endpoint, _):
        yield int(endpoint.split(":")[-1].split("/")[0])


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_the_shell_blocks_run_as_written(path: Path, server: int, tmp_path: Path) -> None:
    runnable = [b for b in blocks(path) if b.lang in SHELLS and b.mark not in NOT_RUN]
    if not runnable:
        pytest.skip("no runnable shell block")
    run_blocks(path, server, tmp_path)


def run_blocks(path: Path, port: int, tmp_path: Path) -> None:
    """Run the file's runnable blocks in order against the LRS on `port`; fail naming the block."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(tmp_path),
           "LRS_PORT": str(port)}
    for name in list(env):
        if name.startswith("LRS_") and name != "LRS_PORT":
            del env[name]
    env["LRS_DATA_DIR"] = ""  # a command that opens a store of its own keeps it in memory
    done = subprocess.run(["bash", "-c", script(path, port)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=FILE_TIMEOUT, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        ran = [line for line in done.stderr.splitlines() if line.startswith(">>> ")]
        pytest.fail(f"block at {ran[-1][4:] if ran else '?'} failed (exit {done.returncode}):\n"
                    f"--- stdout (tail)\n{done.stdout[-2000:]}\n--- stderr (tail)\n{done.stderr[-3000:]}")


def test_the_quick_start_installs_into_a_virtual_environment():
    """`pip install -e .` alone is refused by Debian's and Ubuntu's own Python (PEP 668,
    externally-managed-environment): the quick start stopped at its first command there."""
    quick = [b for b in blocks(ROOT / "README.md") if b.mark == "server" or b.reason.startswith("runs the test suite")]
    assert len(quick) == 2
    for block in quick:
        steps = [step.strip() for step in block.text.split("&&")]
        assert steps[:3] == ["python3 -m venv .venv", ". .venv/bin/activate", steps[2]], block.where
        assert steps[2].startswith("pip install -e "), block.where
