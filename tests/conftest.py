"""Shared test settings: offline, single-threaded, deterministic."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def _close_pyautogui_connections() -> Iterator[None]:
    """pyautogui keeps its X connections in module globals; close them when the session ends."""
    yield
    pyautogui = sys.modules.get("pyautogui")
    displays = [
        getattr(getattr(pyautogui, "platformModule", None), "_display", None),
        getattr(sys.modules.get("mouseinfo"), "_display", None),
    ]
    for display in {id(d): d for d in displays if d is not None}.values():
        with contextlib.suppress(Exception):
            display.close()
