"""The forwarding targets the enabled plugins provide."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from lrs.forwarding.contract import Target
from lrs.settings import SettingError

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_names(names: Iterable[str]) -> None:
    """A ValueError unless every name is well-formed and unique: names key the stored state.
    A forwarder plugin checks its setting with it, so the error names its variable."""
    seen: set[str] = set()
    for name in names:
        if not NAME.fullmatch(name):
            raise ValueError(f"forwarding target name {name!r}: use letters, digits, '_', '.', '-' (at most 64)")
        if name in seen:
            raise ValueError(f"two forwarding targets are named {name!r}; names must be unique")
        seen.add(name)


def forward_targets(lrs: "LRS") -> list[Target]:
    """Every target of every forwarder plugin, their names checked across plugins."""
    targets = [target for group in lrs.plugins.hook.lrs_forward_targets(lrs=lrs) for target in group]
    try:
        check_names(target.options.name for target in targets)
    except ValueError as error:
        raise SettingError(f"forwarding targets of the enabled plugins: {error}") from None
    return targets
