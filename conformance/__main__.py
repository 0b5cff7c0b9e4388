"""`python -m conformance run ...`: the conformance tooling's command line (see conformance/cli.py
and docs/conformance.md). It is not an `lrs` subcommand: the core does not depend on this tooling."""
from conformance.cli import conformance

conformance(prog_name="python -m conformance")
