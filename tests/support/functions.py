"""Throw-away function packages for tests of the local Lambda runtime and gateway."""

from __future__ import annotations

from pathlib import Path


def write_functions(root: Path, handlers: dict[str, str]) -> Path:
    """``<root>/functions/<name>/handler.py`` for each handler source; returns the ``functions`` directory."""
    functions = root / "functions"
    functions.mkdir()
    (functions / "__init__.py").write_text("")
    for name, code in handlers.items():
        (functions / name).mkdir()
        (functions / name / "__init__.py").write_text("")
        (functions / name / "handler.py").write_text(code)
    return functions
