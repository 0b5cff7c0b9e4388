"""The Dockerfile and docker-compose.yml checked as far as a machine without Docker can: they
parse, and every image, file, command and LRS_* setting they name exists."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from lrs.cli import main
from lrs.core import LRS
from tests.conftest import app_settings

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL_IMAGES = {"python": r"3\.1[0-9]-slim", "mongo": r"[4-9]\.[0-9]+"}  # Docker Hub's official images


def known_settings() -> set[str]:
    lrs = LRS.from_settings(app_settings(plugins="simple_events,h5p,caliper,forward_xapi"))
    return {setting.env for setting in lrs.settings.declared.values()}


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_dockerfile_is_slim_non_root_healthchecked_and_names_what_exists():
    steps = dockerfile()
    for _, image in [s for s in steps if s[0] == "FROM"]:
        name, _, tag = image.split()[0].partition(":")
        assert name in OFFICIAL_IMAGES and re.fullmatch(OFFICIAL_IMAGES[name], tag), image
    for _, args in [s for s in steps if s[0] == "COPY" and "--from" not in s[1]]:
        for source in shlex.split(args)[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert steps.index(("USER", users[-1])) > max(i for i, s in enumerate(steps) if s[0] == "FROM")
    [healthcheck] = [args for instruction, args in steps if instruction == "HEALTHCHECK"]
    assert "/health/ready" in healthcheck
    env = dict(re.findall(r"(\w+)=(\S+)", next(args for instruction, args in steps if instruction == "ENV")))
    assert {name for name in env if name.startswith("LRS_")} <= known_settings()
    entrypoint = next(args for instruction, args in steps if instruction == "ENTRYPOINT")
    assert entrypoint == '["lrs"]' and "lrs = lrs.cli:main" in (ROOT / "setup.cfg").read_text()
    command = next(args for instruction, args in steps if instruction == "CMD")
    assert yaml.safe_load(command)[0] in main.commands


def test_the_compose_file_runs_a_replica_set_the_server_and_a_forwarder_with_real_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"mongo", "lrs", "forward"} <= set(services)
    mongo = services["mongo"]
    name, _, tag = mongo["image"].partition(":")
    assert name == "mongo" and re.fullmatch(OFFICIAL_IMAGES["mongo"], tag)
    assert "--replSet" in mongo["command"] and "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    settings = known_settings()
    for name in ("lrs", "forward"):
        service = services[name]
        assert service["build"] == "." and (ROOT / "Dockerfile").exists()
        assert service["command"][0] in main.commands
        assert set(service["depends_on"]) <= set(services)
        env = service["environment"]
        assert set(env) <= settings, set(env) - settings
        assert "replicaSet=rs0" in env["LRS_MONGO_URI"] and "mongo:27017" in env["LRS_MONGO_URI"]
    assert services["lrs"]["command"] == ["serve"] and services["forward"]["command"] == ["forward"]
    assert "8000:8000" in services["lrs"]["ports"]
    assert set(compose.get("volumes", {})) >= {v.split(":")[0] for v in mongo["volumes"]}


def test_the_mongodb_workflow_tests_every_version_from_the_oldest_the_readme_claims_to_composes():
    """The README promises MongoDB 4.4 or later and docker-compose.yml runs 7.0: CI tests both
    ends and what lies between, with a health check that finds a shell in each image (4.4 has
    only the legacy `mongo`, 6.0 on only `mongosh`)."""
    oldest = re.search(r"\((\d+\.\d+) or later", (ROOT / "README.md").read_text()).group(1)
    composed = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["mongo"]["image"].split(":")[1]
    job = yaml.safe_load((ROOT / ".github/workflows/mongodb.yml").read_text())["jobs"]["mongodb"]
    versions = job["strategy"]["matrix"]["mongodb"]
    assert versions[0] == oldest and versions[-1] == composed
    assert [int(v.split(".")[0]) for v in versions] == list(range(int(oldest.split(".")[0]), int(composed.split(".")[0]) + 1))
    health = job["services"]["mongo"]["options"]
    assert "mongosh --quiet" in health and "|| mongo --quiet" in health


def test_ci_runs_the_readmes_test_command():
    """CI must run what the README tells a newcomer to run: its set-up, then its tests (the lint may
    stand between). The README's command had gained a virtual environment that .ci/run lacked."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Install and run the tests:\n\n<!--[^\n]*-->\n```sh\n([^\n]+)\n```", readme).group(1)
    set_up, tests = command.rsplit(" && ", 1)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert set_up in ci and tests in ci and ci.index(set_up) < ci.index(tests)
    assert ci[-1] == tests
