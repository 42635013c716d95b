"""gui-agent: drive a desktop with Qwen2.5-VL.

The public names are listed once, in ``__init__.pyi`` (what type checkers and editors read): each
loads from its module on first use (PEP 562), so ``import agent`` imports neither torch nor
pyautogui, and ``actions`` (which needs agent.geometry and agent.errors) imports without a cycle
through agent.loop. The folders are mapped in ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
import importlib
import importlib.resources
from typing import Any


def _public_face() -> dict[str, str]:
    """name -> module, read from the ``from MODULE import NAME as NAME`` lines of the stub."""
    stub = importlib.resources.files(__name__).joinpath("__init__.pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    return {
        alias.asname or alias.name: node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


_EXPORTS = _public_face()
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
