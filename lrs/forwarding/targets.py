"""The forwarding targets the enabled plugins provide."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lrs.forwarding.contract import Target

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def forward_targets(lrs: "LRS") -> list[Target]:
    """Every target of every forwarder plugin; names must be unique, they key the stored state."""
    targets = [target for group in lrs.plugins.hook.lrs_forward_targets(lrs=lrs) for target in group]
    seen: set[str] = set()
    for target in targets:
        name = target.options.name
        if not NAME.fullmatch(name):
            raise ValueError(f"forwarding target name {name!r}: use letters, digits, '_', '.', '-' (at most 64)")
        if name in seen:
            raise ValueError(f"two forwarding targets are named {name!r}; names must be unique")
        seen.add(name)
    return targets
