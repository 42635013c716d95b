"""The house's layout, checked: the layers hold (import-linter, as CI runs it), every folder is in
a layer, one name means one module, the root of ``agent/`` stays the loop and its vocabulary."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "actions")
SHARED_BASENAMES = {"__init__", "__main__", "base"}  # a base.py per subpackage is the house style


def _modules() -> list[Path]:
    found = (p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
    return sorted(p for p in found if "__pycache__" not in p.parts)


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _layered() -> set[str]:
    (layers,) = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    assert isinstance(layers, list)
    return {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}


def _top_level(package: str) -> set[str]:
    """The modules and subpackages directly inside ``package``, as dotted names."""
    names = set()
    for path in (ROOT / package).iterdir():
        if path.name.startswith(("_", ".")):
            continue
        if path.suffix == ".py" or (path / "__init__.py").is_file():
            names.add(f"{package}.{path.stem}")
    return names


def test_the_layers_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "lint-imports is missing: pip install -e '.[dev]'"
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_every_folder_and_root_module_is_in_a_layer() -> None:
    layered = _layered()
    product = (_top_level("agent") | _top_level("actions")) - {"agent.testing"}
    assert product - layered == set(), "add them to the layers in pyproject.toml"
    assert layered - product == set(), "the layers name modules that do not exist"


def test_the_product_never_imports_the_test_kit() -> None:
    (forbidden,) = [c for c in _contracts() if c["type"] == "forbidden"]
    assert forbidden["forbidden_modules"] == ["agent.testing"]
    product = (_top_level("agent") - {"agent.testing"}) | {"actions"}
    assert set(forbidden["source_modules"]) == product  # type: ignore[call-overload]


def test_no_two_modules_share_a_basename() -> None:
    names = Counter(p.stem for p in _modules() if p.stem not in SHARED_BASENAMES)
    folders = Counter(
        p.name for package in PACKAGES for p in (ROOT / package).rglob("*")
        if p.is_dir() and (p / "__init__.py").is_file()
    )
    clashes = {n for n, c in (names + folders).items() if c > 1}
    assert clashes == set()


def test_the_agent_root_holds_the_loop_and_its_vocabulary_only() -> None:
    root = [p.name for p in (ROOT / "agent").glob("*.py") if p.name != "__init__.py"]
    assert len(root) <= 15, sorted(root)


def test_product_code_finds_its_files_as_package_data() -> None:
    """Run-time data is reached through importlib.resources, never ``Path(__file__).parents``:
    an installed wheel has no clone around it."""
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "parents"
                and "__file__" in ast.unparse(node.value)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
