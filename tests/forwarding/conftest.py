"""Fixtures of the forwarding tests (`shared_store` is in tests/conftest.py)."""
