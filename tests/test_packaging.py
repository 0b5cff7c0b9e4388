"""What `pip install .` puts into site-packages: only top-level names of our own, every package and
data file of the source folders, and a working LRS with every built-in plugin.

The folders plugins/ and conformance/ install as lrs_plugins and lrs_conformance (setup.cfg
`package_dir`): a top-level `plugins` package ships in other distributions too (python-see 1.2.6,
for one), and two distributions writing the same folder overwrite each other's files.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALLED_AS = {"lrs": "lrs", "plugins": "lrs_plugins", "conformance": "lrs_conformance"}  # folder -> package
BUILD_INPUTS = ["pyproject.toml", "setup.cfg", "README.md"]  # besides the folders (the Dockerfile copies the same)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built, offline, from a copy of the sources (the build leaves nothing in the repository)."""
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        shutil.copy(ROOT / name, source / name)
    for folder in INSTALLED_AS:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(source)], check=True, timeout=300, capture_output=True)
    [built] = dist.glob("lrs-*.whl")
    return built


def _source_files(folder: str) -> set[str]:
    """Every file of a source folder as the wheel should hold it (under the package's install name)."""
    base = ROOT / folder
    return {f"{INSTALLED_AS[folder]}/{path.relative_to(base).as_posix()}" for path in base.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def test_the_wheel_installs_only_top_level_names_of_our_own(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [top_level] = [name for name in names if name.endswith(".dist-info/top_level.txt")]
        declared = archive.read(top_level).decode().split()
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}

    assert packages == set(declared) == {"lrs", "lrs_plugins", "lrs_conformance"}


def test_every_package_and_data_file_of_the_folders_is_in_the_wheel(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = set().union(*(_source_files(folder) for folder in INSTALLED_AS))

    assert expected - names == set(), "add the missing package to setup.cfg packages (or its files to package_data)"
    assert "lrs/console/templates/console/base.html" in names and "lrs_conformance/baseline-1.0.3.json" in names


def test_the_built_in_plugins_entry_points_name_the_installed_packages(wheel):
    with zipfile.ZipFile(wheel) as archive:
        [entry_points] = [name for name in archive.namelist() if name.endswith(".dist-info/entry_points.txt")]
        text = archive.read(entry_points).decode()

    for plugin in ("simple_events", "h5p", "caliper", "forward_xapi"):
        assert f"{plugin} = lrs_plugins.{plugin}\n" in text


SERVE_INSTALLED = """
import sys
from lrs.app import create_app
import lrs_plugins.caliper, lrs_conformance.cli
app = create_app({"plugins": "simple_events,h5p,caliper,forward_xapi", "data_dir": "", "log_level": "WARNING"})
client = app.test_client()
assert client.get("/xapi/about").status_code == 200
assert client.get("/console/sign-in").status_code == 200          # the console's templates
assert client.get("/console/static/console.css").status_code == 200  # and static files
assert client.post("/caliper/event/validate", json={}).status_code == 401  # caliper's routes (no token)
print(lrs_plugins.caliper.__file__)
print(lrs_conformance.cli.__file__)
print(sorted(name for name in sys.modules if name.split(".")[0] in ("plugins", "conformance")))
"""


def test_the_installed_wheel_serves_every_built_in_plugin_outside_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel)], check=True, timeout=300, capture_output=True)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()

    # PYTHONPATH comes before this venv's (editable) install, so the copy in `site` is what runs
    run = subprocess.run([sys.executable, "-c", SERVE_INSTALLED], cwd=workdir, env={"PYTHONPATH": str(site),
                         "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stderr
    caliper, cli, bare = run.stdout.splitlines()
    assert caliper == str(site / "lrs_plugins" / "caliper" / "__init__.py")
    assert cli == str(site / "lrs_conformance" / "cli.py")
    assert bare == "[]"
    assert sorted(path.name for path in site.iterdir() if path.is_dir() and path.name not in ("bin", "__pycache__")
                  and not path.name.endswith(".dist-info")) == ["lrs", "lrs_conformance", "lrs_plugins"]


@pytest.mark.parametrize("folder", ["plugins", "conformance"])
def test_the_folders_do_not_import_under_their_bare_names_from_the_repository_root(folder):
    """From the root (on sys.path in a pytest run) `import plugins` would find the folder and load
    every module a second time beside lrs_plugins' (other classes, other state): it is refused."""
    run = subprocess.run([sys.executable, "-c", f"import {INSTALLED_AS[folder]}; import {folder}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)

    assert run.returncode != 0
    assert f"ImportError: import {INSTALLED_AS[folder]}, not {folder}" in run.stderr
