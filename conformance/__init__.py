"""Run the ADL LRS conformance test suite against an LRS and report what it really found.

The suite's own console output names no failing test and its exit code is its failure count
mod 256, so this package reads the suite's JSON run log instead, compares it with the list of
tests the suite would have run, and reports every test as passed, failed or never ran.

The folder is `conformance/`, but it installs as `lrs_conformance` (setup.cfg `package_dir`), a name
no other distribution uses; imported as `conformance` (from the repository's root on sys.path) its
modules would load a second time under that name: refused.
"""
if __name__ != "lrs_conformance":
    raise ImportError(f"import lrs_conformance, not {__name__}: the folder conformance/ installs under that name")
