"""The LRS object: settings, store and plugins wired together, shared by HTTP, CLI and plugins.

It is what hooks receive as `lrs` and what Flask keeps in `app.extensions["lrs"]`.
"""
from __future__ import annotations

import functools
import logging
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Iterable, Mapping

import pluggy
from pymongo.collection import Collection

from lrs.auth import ADMIN_SCOPE, OPERATOR_SCOPES, XAPI_SCOPES, Credential, VerifiedPairs, check_secret
from lrs.erasure import finish_interrupted
from lrs.plugins import call_isolated, declared_settings, plugin_manager
from lrs.settings import CORE_SETTINGS, SAFE_HASH_COST, SettingError, Settings
from lrs.statements import StatementService, utc_now
from lrs.store import check_reachable, connect, warn_embedded
from lrs.store.activities import ActivityStore
from lrs.store.agents import AgentStore
from lrs.store.attachments import AttachmentStore
from lrs.store.credentials import CredentialStore, revoked
from lrs.store.documents import DocumentStore
from lrs.store.embedded import EmbeddedDatabase, StoreUnwritable
from lrs.store.statements import StatementStore
from lrs.throttle import FailedChecks, Limits

log = logging.getLogger(__name__)
AUDIT = logging.getLogger("lrs.credentials")  # where the admin API's changes of credentials are logged too

# The LRS_ADMIN_KEY credential: full xAPI access and the running of the LRS.
ADMIN_CREDENTIAL_SCOPES = ("all", ADMIN_SCOPE)


class LRS:
    def __init__(self, settings: Settings, plugins: pluggy.PluginManager):
        self.settings = settings
        self.plugins = plugins
        self.db = connect(settings["mongo_uri"], settings["mongo_db"], settings["data_dir"])
        limits = Limits(settings["auth_max_failures_per_key"], settings["auth_max_failures_per_address"],
                        settings["auth_failure_window_seconds"])
        self.credentials = CredentialStore(self.db, VerifiedPairs(settings["auth_cache_seconds"]),
                                           settings["secret_hash_cost"], FailedChecks(limits))
        if settings["secret_hash_cost"] < SAFE_HASH_COST:
            log.warning("secrets are hashed below the safe cost (LRS_SECRET_HASH_COST): for tests only")
        self.statement_store = StatementStore(self.db)
        self.attachments = AttachmentStore(self.db)
        self.documents = DocumentStore(self.db)
        self.activities = ActivityStore(self.db)
        self.agents = AgentStore(self.db)
        self.statements = StatementService(self.statement_store, self._learn, self._notify_stored,
                                           settings["max_statements_per_request"])
        self.started = False

    @classmethod
    def from_settings(cls, overrides: dict[str, Any] | None = None, extra_plugins: Iterable[object] = ()) -> "LRS":
        """The LRS of these settings (see `resolve`), connected to its store."""
        return cls(*cls.resolve(overrides, extra_plugins))

    @staticmethod
    def resolve(overrides: dict[str, Any] | None = None,
                extra_plugins: Iterable[object] = ()) -> tuple[Settings, pluggy.PluginManager]:
        """Every setting and the plugins, without touching the store: core settings first, to
        learn which plugins to load, then the plugins' own. Raises SettingError."""
        core = Settings.resolve(CORE_SETTINGS, {k: v for k, v in (overrides or {}).items()
                                                if k in {s.name for s in CORE_SETTINGS}})
        manager = plugin_manager(core["plugins"], extra_plugins)
        if not core["public_url"]:
            overrides = {**(overrides or {}), "public_url": served_url(core["host"], core["port"])}
        return Settings.resolve(declared_settings(manager), overrides), manager

    def start(self) -> None:
        """Idempotent start-up: indexes, crash recovery, the admin credential if configured, then
        the plugins' `lrs_startup` (every command that opens the LRS runs this, not only serving)."""
        if self.settings["mongo_uri"]:
            check_reachable(self.settings["mongo_uri"], self.settings["mongo_timeout_seconds"])
        elif not self.settings["data_dir"]:
            warn_embedded()
        self.statement_store.ensure_indexes()
        self.statement_store.recover(utc_now())
        self.statement_store.upgrade()
        self.attachments.ensure_indexes()
        self.attachments.recover(utc_now(), everyone=self.statement_store.exclusive)
        finish_interrupted(self, everyone=self.statement_store.exclusive)
        self.documents.ensure_indexes()
        self.documents.recover(utc_now())
        pair = admin_pair(self.settings)
        if pair:
            existing = self.credentials.collection.find_one({"_id": pair[0]})
            refuse_revoked_admin(existing)
            if existing is not None and ADMIN_SCOPE not in existing["scopes"]:
                log.warning("LRS_ADMIN_KEY names the existing credential %r (scopes: %s): it now holds scopes "
                            "all and admin, and LRS_ADMIN_SECRET replaces its secret", pair[0],
                            ", ".join(existing["scopes"]) or "none")
            changed = _admin_change(*pair, existing)
            self.create_credential(*pair, [*ADMIN_CREDENTIAL_SCOPES], label="admin")
            if changed:
                AUDIT.info(changed)
        self.plugins.hook.lrs_startup(lrs=self)
        self.started = True

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope a credential may hold: xAPI's, `admin`, `metrics` and the enabled plugins'."""
        extra = [scope for group in self.plugins.hook.lrs_declare_scopes() for scope in group]
        return (*XAPI_SCOPES, *OPERATOR_SCOPES, *extra)

    def check_scopes(self, scopes: Iterable[str]) -> None:
        """ValueError naming the scopes that no one declared."""
        unknown = set(scopes) - set(self.scopes)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))} (known: {', '.join(self.scopes)})")

    def create_credential(self, key: str, secret: str, scopes: Iterable[str], label: str = "",
                          authority: dict | None = None) -> Credential:
        """Create the credential, or replace an existing key's secret and scopes: its authority
        stays as first made, whatever LRS_PUBLIC_URL says now (or `authority` asks)."""
        scopes = list(scopes)
        self.check_scopes(scopes)
        authority = authority or self.default_authority(key, label)
        return self.credentials.save(key, secret, scopes, authority, label)

    def default_authority(self, key: str, label: str = "") -> dict:
        """An Agent identified by an account on this LRS, named after the credential."""
        return {"objectType": "Agent", "name": label or key,
                "account": {"homePage": self.settings["public_url"], "name": key}}

    def unit_of_work(self) -> ContextManager[None]:
        """Writes made inside are acknowledged together at its end: on the embedded store one
        disk commit instead of one per store call; on MongoDB each write already is."""
        return self.db.unit_of_work() if isinstance(self.db, EmbeddedDatabase) else nullcontext()

    def plugin_collection(self, plugin: str, name: str) -> Collection:
        """A collection that belongs to one plugin, for its own state (sessions, tokens, ...)."""
        return self.db[f"plugin.{plugin}.{name}"]

    def after_commit(self, callback: Callable[[], None]) -> None:
        """`callback` once the writes made so far are acknowledged: on the embedded store after the
        commit of the current unit of work, and not at all if that commit fails (its writes are
        undone); on MongoDB at once, each write already is."""
        if isinstance(self.db, EmbeddedDatabase):
            self.db.after_commit(callback)
        else:
            callback()

    def _notify_stored(self, statements: list[dict], source: str) -> None:
        self.after_commit(functools.partial(call_isolated, self.plugins.hook.lrs_statements_stored,
                                            statements=statements, source=source, lrs=self))

    def _learn(self, statements: list[dict]) -> None:
        """Refine the canonical Activities and Persons. The statements are stored: a failure here
        is logged, never the client's error, which would only make it retry (and store id-less
        statements twice). A store that cannot write is the exception: it refuses the batch too."""
        for store in (self.activities, self.agents):
            try:
                store.record(statements)
            except StoreUnwritable:
                raise
            except Exception:  # noqa: BLE001 - the batch is stored whatever happens to what is learnt from it
                log.exception("%s: not refined from a stored batch", store.collection.name)


def served_url(host: str, port: int) -> str:
    """The base URL `lrs serve` answers on: LRS_PUBLIC_URL's default, so that authorities and
    adapter IRIs name the port actually served."""
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def refuse_revoked_admin(stored: dict | None) -> None:
    """The LRS_ADMIN_KEY credential is created or updated at start, but a revoked one stays revoked
    (its key may have leaked): naming it is a SettingError, not a way to bring it back. `stored`
    is the credential document of that key, if any."""
    if revoked(stored):
        raise SettingError("LRS_ADMIN_KEY names a revoked credential; choose another key (a revoked key "
                           "stays revoked)")


def _admin_change(key: str, secret: str, existing: dict | None) -> str | None:
    """The audit line of what this start does to the LRS_ADMIN_KEY credential, as the admin API
    logs its changes: a restart with another (or mistyped) LRS_ADMIN_SECRET replaced the secret
    in silence, and the clients still using the old one met 401s with nothing in the log to say why."""
    if existing is None:
        return (f"credential {key!r} created by LRS_ADMIN_KEY at start: scopes "
                f"{','.join(sorted(ADMIN_CREDENTIAL_SCOPES))}, label 'admin'")
    if not check_secret(secret, existing["secret_hash"]):
        return (f"credential {key!r} given a new secret by LRS_ADMIN_SECRET at start: the one it had, and the "
                "console sessions and OAuth tokens made with it, work no more")
    return None


def admin_pair(settings: Mapping[str, Any]) -> tuple[str, str] | None:
    """LRS_ADMIN_KEY and LRS_ADMIN_SECRET, or None; one without the other is a ValueError, not a
    server nobody can administer."""
    key, secret = settings["admin_key"], settings["admin_secret"]
    if bool(key) != bool(secret):
        given, missing = ("LRS_ADMIN_KEY", "LRS_ADMIN_SECRET") if key else ("LRS_ADMIN_SECRET", "LRS_ADMIN_KEY")
        raise SettingError(f"{given} is set but {missing} is not: set both (the admin credential's key and "
                         "secret) or neither")
    return (key, secret) if key else None
