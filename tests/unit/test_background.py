"""Background threads run at a lower priority than the model's, the rest of the process not."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from agent.background import BACKGROUND_NICE, background_pool


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_background_thread_is_niced_and_the_caller_is_not() -> None:
    def nice_here() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = nice_here()
    with background_pool("test-background") as pool:
        inside = pool.submit(nice_here).result()
        name = pool.submit(lambda: threading.current_thread().name).result()
    assert inside == max(before, BACKGROUND_NICE)
    assert nice_here() == before
    assert name.startswith("test-background")
