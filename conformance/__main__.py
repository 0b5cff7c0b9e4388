"""`python -m lrs_conformance run ...`: the conformance tooling's command line (see conformance/cli.py
and docs/conformance.md). It is not an `lrs` subcommand: the core does not depend on this tooling."""
from lrs_conformance.cli import conformance

conformance(prog_name="python -m lrs_conformance")
