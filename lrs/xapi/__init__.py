"""The xAPI data model: validation, LRS-set properties, equality and output formats.

Pure Python over parsed JSON (dicts, lists, strings, numbers): no Flask, no MongoDB, so every rule
can be tested in isolation and reused by the HTTP layer, the store and adapter plugins.
"""
