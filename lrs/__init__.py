"""A standards-exact xAPI Learning Record Store with adapter and forwarder plugins."""

__version__ = "0.1.0"
