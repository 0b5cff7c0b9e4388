"""Loading plugins: the enabled names are looked up in the `lrs.plugins` entry-point group."""
from __future__ import annotations

import difflib
import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Iterable, Mapping

import pluggy

from lrs import hooks
from lrs.forwarding import settings as forwarding_settings
from lrs.settings import CORE_SETTINGS, Setting, SettingError

ENTRY_POINT_GROUP = "lrs.plugins"
log = logging.getLogger(__name__)
CORE_PLUGIN = "lrs.core"  # the core's own hook implementations, registered always


class PluginError(SettingError):
    """An enabled plugin cannot be found or loaded; the LRS refuses to start without it."""


def available_plugins() -> dict[str, EntryPoint]:
    """Plugin name -> entry point, for every installed plugin (built-in or third-party)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


# LRS_ variables that are not settings: `lrs credentials --url`'s, and the test suite's.
NOT_SETTINGS = ("LRS_URL", "LRS_TEST_")


def ignored_variables(declared: Iterable[Setting], environ: Mapping[str, str]) -> list[str]:
    """A warning for each LRS_ variable in `environ` that no setting reads: a misspelt one
    (LRS_PLUGIN=h5p) or one of a plugin LRS_PLUGINS does not enable was ignored in silence, and
    the LRS ran on the defaults it was meant to replace."""
    known = [setting.env for setting in declared]
    warnings = []
    for name in sorted(environ):
        if not name.startswith("LRS_") or name in known or name.startswith(NOT_SETTINGS):
            continue
        plugin = next((plugin for plugin in available_plugins() if name.startswith(f"LRS_{plugin.upper()}_")), None)
        if plugin:
            warnings.append(f"{name} is ignored: it is a setting of plugin {plugin}, which LRS_PLUGINS does not enable")
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f"did you mean {close[0]}? " if close else ""
        warnings.append(f"{name} is ignored: no setting has that name ({hint}`lrs settings` lists them)")
    return warnings


def builtin_plugins() -> list[str]:
    """The plugins this distribution ships (third-party ones installed beside it left out)."""
    return sorted(name for name, ep in available_plugins().items() if ep.dist and ep.dist.name == "lrs")


def declared_settings(manager: pluggy.PluginManager) -> list[Setting]:
    """The core's settings, then those declared through `lrs_declare_settings`."""
    return [*CORE_SETTINGS, *(setting for group in manager.hook.lrs_declare_settings() for setting in group)]


def reference_settings() -> list[Setting]:
    """Every setting of the core and of every built-in plugin: the README's table (cog)."""
    # pluggy calls the last registered plugin first: register in reverse to list them by name
    return declared_settings(plugin_manager(reversed(builtin_plugins())))


def plugin_manager(enabled: Iterable[str], extra: Iterable[object] = ()) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs and exactly the enabled plugins registered.

    `extra` takes plugin objects directly (tests, embedding applications). A plugin whose
    `@hookimpl` names no hook (a misspelling such as `lrs_register_route`) or takes an argument
    its hook does not have stops the start, like a plugin that is not installed.
    """
    manager = pluggy.PluginManager(hooks.PROJECT)
    manager.add_hookspecs(hooks)
    manager.register(forwarding_settings, name=CORE_PLUGIN)
    installed = available_plugins()
    for name in enabled:
        _register(manager, _load(name, installed), name)
    for plugin in extra:
        _register(manager, plugin, getattr(plugin, "PLUGIN_NAME", None))
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise _misfit(manager.get_name(error.plugin), error) from error
    return manager


def call_isolated(hook: pluggy.HookCaller, **kwargs: Any) -> None:
    """Call every implementation of a notification hook, each on its own: one that raises is
    logged with its plugin's name and the others still run (the caller's work has been done)."""
    for impl in reversed(hook.get_hookimpls()):  # pluggy's own calling order
        try:
            impl.function(*(kwargs[name] for name in impl.argnames))
        except Exception:  # noqa: BLE001 - a plugin's failure must not undo or fail the core's work
            log.exception("plugin %r: %s failed", impl.plugin_name, hook.name)


def _register(manager: pluggy.PluginManager, plugin: object, name: str | None) -> None:
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise _misfit(name or repr(plugin), error) from error


def _misfit(name: str, error: pluggy.PluginValidationError) -> PluginError:
    return PluginError(f"plugin {name!r} does not fit the hooks in lrs/hooks.py: {' '.join(str(error).split())}")


def _load(name: str, installed: dict[str, EntryPoint]) -> object:
    if name not in installed:
        known = ", ".join(sorted(installed)) or "none"
        raise PluginError(f"LRS_PLUGINS: plugin {name!r} is not installed (installed plugins: {known})")
    try:
        return installed[name].load()
    except ImportError as error:
        raise PluginError(f"LRS_PLUGINS: plugin {name!r} failed to import: {error}") from error
