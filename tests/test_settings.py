"""The settings module is a leaf; the forwarding engine's settings come in through the core's own
lrs_declare_settings implementation, whichever plugins are enabled."""
from __future__ import annotations

import subprocess
import sys

import pytest

from lrs.core import LRS
from lrs.settings import CORE_SETTINGS, Setting, SettingError, Settings, between
from tests.conftest import app_settings


def test_importing_lrs_settings_imports_nothing_else_of_the_lrs():
    code = "import sys, lrs.settings; print(sorted(m for m in sys.modules if m.split('.')[0] in ('lrs', 'plugins')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.strip() == "['lrs', 'lrs.settings']"


def test_the_forwarding_settings_follow_the_cores_without_any_plugin():
    lrs = LRS.from_settings(app_settings(forward_poll_seconds="0.5"))
    names = list(lrs.settings.declared)
    assert names[len(CORE_SETTINGS)] == "forward_in_process"
    assert lrs.settings["forward_poll_seconds"] == 0.5


@pytest.mark.parametrize("parse, raw, message", [
    (between(float, 0.01, 60), "0", "must be a number from 0.01 to 60"),
    (between(int, 1, 10), "-3", "must be a whole number from 1 to 10"),
    (between(int, 14, 17), "18", "must be a whole number from 14 to 17"),
    (between(int, 14, 17), "lots", "must be a whole number from 14 to 17"),
])
def test_shared_parsers_name_the_variable_and_the_rule(parse, raw, message):
    with pytest.raises(SettingError) as error:
        Settings.resolve([Setting("some_number", 1, "A number.", parse)], environ={"LRS_SOME_NUMBER": raw})
    assert str(error.value) == f"LRS_SOME_NUMBER={raw!r}: {message}"
