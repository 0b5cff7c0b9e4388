"""Loading plugins: the enabled names are looked up in the `lrs.plugins` entry-point group."""
from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Iterable

import pluggy

from lrs import hooks
from lrs.forwarding import settings as forwarding_settings

ENTRY_POINT_GROUP = "lrs.plugins"
CORE_PLUGIN = "lrs.core"  # the core's own hook implementations, registered always


class PluginError(RuntimeError):
    """An enabled plugin cannot be found or loaded; the LRS refuses to start without it."""


def available_plugins() -> dict[str, EntryPoint]:
    """Plugin name -> entry point, for every installed plugin (built-in or third-party)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def plugin_manager(enabled: Iterable[str], extra: Iterable[object] = ()) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs and exactly the enabled plugins registered.

    `extra` takes plugin objects directly (tests, embedding applications).
    """
    manager = pluggy.PluginManager(hooks.PROJECT)
    manager.add_hookspecs(hooks)
    manager.register(forwarding_settings, name=CORE_PLUGIN)
    installed = available_plugins()
    for name in enabled:
        manager.register(_load(name, installed), name=name)
    for plugin in extra:
        manager.register(plugin, name=getattr(plugin, "PLUGIN_NAME", None))
    return manager


def _load(name: str, installed: dict[str, EntryPoint]) -> object:
    if name not in installed:
        known = ", ".join(sorted(installed)) or "none"
        raise PluginError(f"plugin {name!r} is not installed (installed plugins: {known})")
    try:
        return installed[name].load()
    except ImportError as error:
        raise PluginError(f"plugin {name!r} failed to import: {error}") from error
