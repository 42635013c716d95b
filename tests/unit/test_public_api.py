"""The public surface: __all__ complete and importable, and light to import."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import actions
import agent


@pytest.mark.parametrize("package", [agent, actions])
def test_all_is_complete_and_sorted(package: ModuleType) -> None:
    exported = list(package.__all__)
    assert exported == sorted(exported) and len(set(exported)) == len(exported)
    for name in exported:
        assert getattr(package, name) is not None
    declared = getattr(package, "_EXPORTS", None)
    if declared is not None:  # lazy exports: the table and __all__ name the same things
        assert set(declared) == set(exported)
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and name not in ("annotations", "importlib", "Any", "TYPE_CHECKING")
    }
    assert public <= set(exported)


def test_importing_does_not_load_torch_or_pyautogui() -> None:
    code = (
        "import sys, agent, actions; "
        "print(sorted(m for m in ('torch', 'transformers', 'pyautogui') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
