"""A local installation of the ADL LRS conformance test suite: checked, never installed.

The tool only uses a suite someone installed (git clone + npm install); when something is
missing it says exactly what and how to fix it, instead of failing half way through a run.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lrs_conformance.logparse import Where

TEST_FOLDERS = {"1.0.3": "v1_0_3", "2.0.0": "v2_0"}
INSTALL_HINT = ("git clone https://github.com/adlnet/lrs-conformance-test-suite.git DIR && "
                "cd DIR && npm install")


class SuiteError(Exception):
    """The suite cannot be used as it is; the message says what to do."""


@dataclass(frozen=True)
class Suite:
    directory: Path
    node: str

    @property
    def runner(self) -> Path:
        return self.directory / "bin" / "console_runner.js"

    def commit(self) -> str:
        """The suite's git commit, so a report says which tests it ran; "" if not a clone."""
        done = subprocess.run(["git", "-C", str(self.directory), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    def list_tests(self, xapi: str, grep: str | None = None) -> list[Where]:
        """Every test the suite would run for `xapi`, in run order, as (suite path, title)."""
        with resources.as_file(resources.files("lrs_conformance") / "list_tests.js") as script:
            command = [self.node, str(script), str(self.directory), TEST_FOLDERS[xapi]]
            done = subprocess.run(command + ([grep] if grep else []), capture_output=True,
                                  text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise SuiteError(f"could not list the suite's {xapi} tests:\n{done.stderr[-2000:]}")
        return [(tuple(test["path"]), test["title"]) for test in json.loads(done.stdout)]


def find_suite(directory: str | Path, versions: list[str], node: str = "node") -> Suite:
    """The suite in `directory`, after checking everything a run needs is there."""
    root = Path(directory).expanduser().resolve()
    node_path = shutil.which(node)
    problems = _problems(root, versions)
    if node_path is None:
        problems.append(f"`{node}` is not on PATH: install Node.js 20 or later (or pass --node)")
    if problems:
        raise SuiteError(f"the ADL conformance suite at {root} is not usable:\n"
                         + "\n".join(f"  - {problem}" for problem in problems)
                         + f"\nTo install it: {INSTALL_HINT}")
    return Suite(root, node_path)


def _problems(root: Path, versions: list[str]) -> list[str]:
    if not root.is_dir():
        return [f"{root} does not exist"]
    if not (root / "bin" / "console_runner.js").is_file():
        return [f"{root} has no bin/console_runner.js: it is not the ADL LRS conformance suite"]
    problems = []
    if not (root / "node_modules" / "mocha").is_dir():
        problems.append(f"its dependencies are not installed: run `npm install` in {root}")
    for version in versions:
        if not (root / "test" / TEST_FOLDERS[version]).is_dir():
            problems.append(f"it has no test/{TEST_FOLDERS[version]} folder for xAPI {version}: "
                            "update the clone (git pull)")
    return problems
