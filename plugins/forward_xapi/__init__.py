"""The xAPI forwarder: copies stored statements to any number of other xAPI LRSs (Learning
Locker, SCORM Cloud, another instance of this LRS, ...), each configured on its own.

Enable with `LRS_PLUGINS=forward_xapi` and describe the targets in LRS_FORWARD_XAPI_TARGETS;
the core's forwarding engine does the rest (`lrs forward`). See docs/forwarding.md.
"""
from __future__ import annotations

import logging
from typing import Iterable

from lrs.core import LRS
from lrs.hooks import hookimpl
from lrs.settings import Setting
from lrs_plugins.forward_xapi.client import XAPITarget
from lrs_plugins.forward_xapi.config import parse_targets

PLUGIN_NAME = "forward_xapi"
log = logging.getLogger(__name__)


@hookimpl
def lrs_declare_settings() -> Iterable[Setting]:
    return [Setting("forward_xapi_targets", (), "The xAPI LRSs to forward to: a JSON list of target "
                    "objects, or @ and the path of a file holding it (see docs/forwarding.md).",
                    parse_targets, secret=True)]


@hookimpl
def lrs_forward_targets(lrs: LRS) -> Iterable[XAPITarget]:
    return [XAPITarget(config) for config in lrs.settings["forward_xapi_targets"]]


@hookimpl
def lrs_startup(lrs: LRS) -> None:
    """Enabled without a target, the plugin forwards nothing, and nothing said so: an operator who
    forgot LRS_FORWARD_XAPI_TARGETS (or misspelt it, which is warned of too) waited for statements
    that never came."""
    if not lrs.settings["forward_xapi_targets"]:
        log.warning("LRS_PLUGINS enables forward_xapi but LRS_FORWARD_XAPI_TARGETS names no target: nothing is "
                    "forwarded (docs/forwarding.md, Configuring targets)")
