"""Make torchvision importable in every process of a CPU vLLM (imported by ``site`` at start-up).

vLLM's CPU build pulls torchvision 0.28.0, a CUDA build whose C extension does not load next to
the CPU torch; ``import torchvision`` then dies with "operator torchvision::nms does not exist"
(its ``_meta_registrations`` registers fake kernels for ``nms``/``qnms`` unguarded), and with it
the Qwen2.5-VL processor. The API server, EngineCore and Worker are separate processes: all of
them inherit PYTHONPATH, so this file, on PYTHONPATH, reaches each one.

Nothing is imported at start-up. A finder on ``sys.meta_path`` waits for the first
``import torchvision``; then, before torchvision runs, it loads torchvision's extension the way
torchvision does and, if the extension did not define ``nms``/``qnms``, defines those two
schemas (schemas only: ``torchvision.ops.nms`` still raises torchvision's own error). With a
working torchvision it changes nothing. This is :mod:`agent.models.torch_compat` for processes
that do not have the ``agent`` package.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
# Kept for the life of the process: dropping a torch.library.Library removes its schemas.
_library: Any = None


def _has_op(torch: Any, name: str) -> bool:
    try:
        getattr(torch.ops.torchvision, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def _define_missing_schemas() -> None:
    global _library
    spec = importlib.machinery.PathFinder.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    try:
        import torch as _torch
    except ImportError:
        return
    torch: Any = _torch  # torch.library and torch.ops are untyped
    for folder in spec.submodule_search_locations:
        for extension in sorted(Path(folder).glob("_C.*")):
            try:  # what torchvision.extension does; loading a library twice is harmless
                torch.ops.load_library(str(extension))
            except (ImportError, OSError):
                pass
    missing = [name for name in _SCHEMAS if not _has_op(torch, name)]
    if missing:
        library = torch.library.Library("torchvision", "DEF")
        for name in missing:
            library.define(_SCHEMAS[name])
        _library = library


class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    """Runs :func:`_define_missing_schemas` once, just before torchvision is first imported."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "torchvision":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        try:
            _define_missing_schemas()
        except Exception as error:  # never break start-up; torchvision will report its own error
            print(f"sitecustomize: torchvision schemas not defined: {error}", file=sys.stderr)
        return None  # the regular finders import torchvision


if "torchvision" not in sys.modules:
    sys.meta_path.insert(0, _BeforeTorchvision())
