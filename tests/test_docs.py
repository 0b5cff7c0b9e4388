"""The plugin authors' guide and the README stay true to the code, in datasette's manner: every
hook and each of its arguments is documented in docs/writing-plugins.md, and the README's
settings table is the one generated from the settings the code declares (cog)."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from cogapp import Cog

from lrs import hooks
from lrs.plugins import reference_settings

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name, value in vars(hooks).items()
               if name.startswith("lrs_") and hasattr(value, f"{hooks.PROJECT}_spec"))


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_section_with_its_arguments(name):
    arguments = ", ".join(inspect.signature(getattr(hooks, name)).parameters)
    heading = f"### `{name}({arguments})`"
    assert heading in (ROOT / "docs/writing-plugins.md").read_text(), f"docs/writing-plugins.md lacks {heading}"


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    missing = [setting.env for setting in reference_settings() if f"| `{setting.env}` |" not in readme]
    assert not missing, f"{missing} not in the README: run `cog -r README.md`"


def test_the_readme_settings_table_is_current():
    """Defaults and meanings too, not only names: regenerate with `cog -r README.md`."""
    assert Cog().main(["cog", "--check", str(ROOT / "README.md")]) == 0, "stale README: run `cog -r README.md`"
