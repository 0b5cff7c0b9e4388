"""Run the ADL LRS conformance test suite against an LRS and report what it really found.

The suite's own console output names no failing test and its exit code is its failure count
mod 256, so this package reads the suite's JSON run log instead, compares it with the list of
tests the suite would have run, and reports every test as passed, failed or never ran.
"""
