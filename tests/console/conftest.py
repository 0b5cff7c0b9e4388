"""Fixtures of the console's browser tests: headless Chromium (Debian's /usr/bin/chromium driven by
Playwright for Python, never a downloaded browser) and axe-core's source (npm, pinned, installed
once per machine into ~/.cache/lrs-tests, outside the repository)."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Iterator

import pytest
from playwright.sync_api import sync_playwright

from tests.console.browser import AXE, AXE_CACHE, AXE_SCRIPT, CHROMIUM, FLAGS


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def axe_script() -> str:
    """axe-core's source, installed with npm on first use."""
    if not AXE_SCRIPT.exists():
        if shutil.which("npm") is None:
            pytest.skip(f"npm is not installed, so {AXE} cannot be")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        install = subprocess.run(["npm", "install", "--prefix", str(AXE_CACHE), "--no-audit", "--no-fund", AXE],
                                 capture_output=True, text=True, timeout=300)
        if install.returncode != 0 or not AXE_SCRIPT.exists():
            pytest.skip(f"npm could not install {AXE}: {install.stderr[-500:]}")
    return AXE_SCRIPT.read_text()
