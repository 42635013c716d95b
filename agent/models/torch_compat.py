"""Make torchvision importable when its C extension cannot be loaded.

The only torchvision wheel for torch 2.13 (0.28.0) is a CUDA build. Next to a CPU-only torch its
``_C`` extension does not load, and ``import torchvision`` then dies in ``_meta_registrations``
with "operator torchvision::nms does not exist": that module registers fake kernels for
``torchvision::nms`` and ``torchvision::qnms`` without checking whether the extension defined
them. transformers reports this as a misleading "Could not import module 'AutoProcessor'", and
``qwen_vl_utils`` imports torchvision at import time, so Qwen2.5-VL's processor is unusable.

:func:`prepare_torchvision` defines those two operator schemas (schemas only, no kernels) when,
and only when, torchvision fails for exactly that reason. The pure-Python transforms the
Qwen2.5-VL image and video processors use then work; calling ``torchvision.ops.nms`` still
raises torchvision's own "Couldn't load custom C++ ops" error. With a working torchvision (a
normal GPU install), or none at all, the function changes nothing. Call it before anything
imports transformers' Qwen2.5-VL processor or ``qwen_vl_utils``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from typing import Any

__all__ = ["prepare_torchvision"]

# The schemas torchvision 0.28's C++ extension defines for the two operators that
# ``torchvision/_meta_registrations.py`` decorates with ``torch.library.register_fake``
# unconditionally (every other registration there is guarded by ``extension._has_ops()``).
_UNGUARDED_SCHEMAS: dict[str, str] = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

_lock = threading.Lock()
_done = False
# Kept alive for the life of the process: dropping a torch.library.Library removes its schemas.
_library: Any = None


def _has_op(name: str) -> bool:
    import torch

    try:
        getattr(torch.ops.torchvision, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def _forget_partial_import() -> None:
    """Drop the submodules a failed ``import torchvision`` leaves behind in sys.modules."""
    if "torchvision" in sys.modules:
        return
    for name in [m for m in sys.modules if m.startswith("torchvision.")]:
        del sys.modules[name]


def _missing_op_error(error: BaseException) -> bool:
    text = str(error)
    named = any(f"torchvision::{op}" in text for op in _UNGUARDED_SCHEMAS)
    return named and "does not exist" in text


def _define_schemas() -> None:
    global _library
    import torch

    missing = [name for name in _UNGUARDED_SCHEMAS if not _has_op(name)]
    if not missing:
        return
    make_library: Any = torch.library.Library  # untyped in torch
    library = make_library("torchvision", "DEF")
    for name in missing:
        library.define(_UNGUARDED_SCHEMAS[name])
    _library = library


def prepare_torchvision() -> None:
    """Make ``import torchvision`` work when its C extension cannot load; otherwise do nothing.

    Idempotent and thread-safe; after the first call it returns at once. The first call tries
    ``import torchvision`` (which every caller of the Qwen2.5-VL processor needs anyway). If that
    fails because the extension's ``nms``/``qnms`` operators are missing, it removes the
    half-imported modules from ``sys.modules`` and defines the two schemas, so that the next
    ``import torchvision`` succeeds. Any other import failure is left for the caller's own import
    to report; torchvision or torch not being installed is not an error.
    """
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        try:
            _prepare()
        finally:
            _done = True


def _prepare() -> None:
    if "torchvision" in sys.modules:  # already imported, so it works
        return
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("torchvision") is None:
        return
    _forget_partial_import()
    try:
        importlib.import_module("torchvision")
    except Exception as error:  # any failure: leave no half-imported package behind
        _forget_partial_import()
        if _missing_op_error(error):
            _define_schemas()
