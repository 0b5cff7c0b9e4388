"""`python -m conformance ...`: the same commands as `lrs conformance ...`."""
from conformance.cli import conformance

conformance(prog_name="python -m conformance")
