"""Background work that yields the cores to the model.

Work that does not need the model's answer runs while the model thinks: the trajectory's PNGs,
the loop guard's comparison, a replay's next screenshots, an evaluation's next images. On a CPU
machine the model's own threads want every core at that moment, so these threads run at a lower
scheduling priority (:data:`BACKGROUND_NICE` on Linux, where the nice value is per thread;
"lowest" on Windows): the model's threads get the cores first and the background takes what
they leave. When the loop waits for background work (a screenshot file before the first input
event of a step) the model is done, so nothing slows it then. ``bench/step_cost.py overlap``
measures a model's compute with the trajectory writer beside it at both priorities.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["BACKGROUND_NICE", "background_pool", "lower_priority"]

BACKGROUND_NICE = 10
"""The nice value of background threads on Linux: about a tenth of a normal thread's share of a
busy core (19 would starve them when other programs keep the machine busy)."""


def lower_priority() -> None:
    """Lower the calling thread's scheduling priority, where the platform allows it per thread."""
    try:
        if sys.platform.startswith("linux"):
            tid = threading.get_native_id()
            nice = max(os.getpriority(os.PRIO_PROCESS, tid), BACKGROUND_NICE)
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        elif sys.platform == "win32":
            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
            kernel32.SetThreadPriority(kernel32.GetCurrentThread(), -2)  # THREAD_PRIORITY_LOWEST
    except (OSError, AttributeError):
        pass  # not allowed here: the thread keeps the process's priority


def background_pool(name: str, workers: int = 1) -> ThreadPoolExecutor:
    """A pool whose threads run at the background priority."""
    return ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix=name, initializer=lower_priority
    )
