"""xAPI.js (@xapi/xapi, version pinned) for the tests: found on NODE_PATH, or installed with npm
once per machine into ~/.cache/lrs-tests/xapijs (outside the repository). Tests skip, saying why, without Node.
TinCanJS (pinned too) is installed the same way, into ~/.cache/lrs-tests/tincanjs."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

VERSION = "3.0.3"  # pinned: tests must not change with a new release; raise it deliberately
PACKAGE = f"@xapi/xapi@{VERSION}"
CACHE = Path.home() / ".cache" / "lrs-tests" / "xapijs"
TINCANJS = "tincanjs@0.50.0"
TINCANJS_CACHE = Path.home() / ".cache" / "lrs-tests" / "tincanjs"
TINCANJS_MODULES = TINCANJS_CACHE / "node_modules"


def _resolves(env: dict[str, str]) -> bool:
    """@xapi/xapi of the pinned version can be required."""
    probe = subprocess.run(["node", "-e", "process.stdout.write(require('@xapi/xapi/package.json').version)"],
                           env=env, capture_output=True, text=True, timeout=30)
    return probe.returncode == 0 and probe.stdout == VERSION


@pytest.fixture(scope="session")
def node_env() -> dict[str, str]:
    """An environment in which `node` requires @xapi/xapi at VERSION, installing it if need be."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    env = dict(os.environ)
    if _resolves(env):
        return env
    env["NODE_PATH"] = str(CACHE / "node_modules")
    if _resolves(env):
        return env
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed, so @xapi/xapi cannot be")
    CACHE.mkdir(parents=True, exist_ok=True)
    install = subprocess.run(["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--save-exact",
                              PACKAGE], capture_output=True, text=True, timeout=300)
    if install.returncode != 0 or not _resolves(env):
        pytest.skip(f"npm could not install {PACKAGE}: {install.stderr[-500:]}")
    return env


def install_tincanjs() -> None:
    """TinCanJS in TINCANJS_MODULES (its browser build and its Node.js one), installing it if need be."""
    if (TINCANJS_MODULES / "tincanjs/build/tincan-min.js").exists():
        return
    if shutil.which("npm") is None:
        pytest.skip(f"npm is not installed, so {TINCANJS} cannot be")
    TINCANJS_CACHE.mkdir(parents=True, exist_ok=True)
    install = subprocess.run(["npm", "install", "--prefix", str(TINCANJS_CACHE), "--no-audit", "--no-fund",
                              "--save-exact", TINCANJS], capture_output=True, text=True, timeout=300)
    if install.returncode != 0 or not (TINCANJS_MODULES / "tincanjs/build/tincan-min.js").exists():
        pytest.skip(f"npm could not install {TINCANJS}: {install.stderr[-500:]}")
