"""The core (lrs/) never imports the built-in plugins or the conformance tooling (ARCHITECTURE.md):
the plugins use only the contract in lrs/hooks.py, as third-party ones do, and the LRS loads them
by entry point. An import the other way would make the core work only with its own plugins
installed, and tie a plugin's changes to the core's."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

CORE = Path(__file__).resolve().parent.parent / "lrs"
# The installed names and, for completeness, the folders' names (which their __init__ refuses).
OUTSIDE_THE_CORE = frozenset({"lrs_plugins", "plugins", "lrs_conformance", "conformance"})
IMPORTERS = frozenset({"import_module", "__import__"})


def imported_modules(source: str) -> Iterator[str]:
    """The absolute module names a module imports: `import`, `from ... import`, and a literal
    name given to importlib.import_module or __import__."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in IMPORTERS):
            yield node.args[0].value


def test_the_core_imports_neither_plugins_nor_the_conformance_tooling():
    modules = sorted(CORE.rglob("*.py"))
    crossing = [f"{path.relative_to(CORE.parent)}: {name}" for path in modules
                for name in imported_modules(path.read_text(encoding="utf-8"))
                if name.split(".")[0] in OUTSIDE_THE_CORE]

    assert len(modules) > 50 and crossing == []


def test_each_kind_of_import_is_seen():
    source = ("import lrs_plugins.h5p\nfrom plugins import caliper\nimport importlib\n"
              "importlib.import_module('lrs_conformance.cli')\n__import__('conformance')\nfrom . import sibling\n")

    assert set(imported_modules(source)) == {"lrs_plugins.h5p", "plugins", "importlib", "lrs_conformance.cli",
                                              "conformance"}
