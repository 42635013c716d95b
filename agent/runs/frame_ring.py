"""The screen, kept: a small ring of the last distinct captures, taken on a thread of its own.

While a person is recorded, :class:`FrameRing` captures the monitor every
:data:`CAPTURE_INTERVAL_S` (off the input path: the input listener and the gesture reader never
wait for it) and keeps the last :data:`RING_FRAMES` captures that differ from the one kept
before them, each with the time its capture began. A capture equal to the last kept one is
dropped, and so is one whose only change is a text caret (a box at most
:data:`~agent.screen.matching.CARET_PX` wide or high, compared with the kept frame itself so
that small changes cannot pile up unseen). :meth:`FrameRing.before` answers "what was on the
screen just before time t": the last kept frame whose capture began before t, the screen the
person saw when they decided (frames are compared in the X server's raw pixels first, and only
rows that changed are converted: :class:`~agent.screen.capture.Screen`). A frame is immutable and
may be held (a pending gesture pins its frame) after the ring moved on.

The interval is far below a person's reaction time (about 200 ms), so the frame paired with an
action is one the person had time to see; ``bench/record_cost.py`` measures what the capturing
costs at 1920x1080 and how long a change takes to reach the ring.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from PIL import Image

from agent.errors import ConfigurationError
from agent.geometry import Monitor
from agent.screen.capture import MonitorChoice, Screen
from agent.screen.changes import changed_since
from agent.screen.matching import CARET_PX, same_screen

__all__ = ["CAPTURE_INTERVAL_S", "RING_FRAMES", "Frame", "FrameRing"]

CAPTURE_INTERVAL_S = 0.05
"""how often the screen is captured (20 per second)"""
RING_FRAMES = 8
"""distinct frames kept (at 1920x1080, about 6 MB each)"""


@dataclass(frozen=True)
class Frame:
    """One distinct capture: the image, its monitor, when its capture began (monotonic)."""

    image: Image.Image
    monitor: Monitor
    grabbed: float
    number: int
    """its place among the distinct frames, from 0"""


class FrameRing:
    """Captures ``monitor`` of ``display`` (default ``$DISPLAY``) on its own thread into a ring
    of distinct frames. :meth:`start` returns once the first frame is in (ConfigurationError if
    the screen cannot be captured); :meth:`stop` ends it. Counters: ``captures`` taken,
    ``busy_s`` spent capturing and comparing."""

    def __init__(
        self,
        display: str | None = None,
        monitor: MonitorChoice = "primary",
        scale: float | None = None,
        *,
        interval_s: float = CAPTURE_INTERVAL_S,
        capacity: int = RING_FRAMES,
    ) -> None:
        if interval_s <= 0 or capacity < 2:
            raise ConfigurationError("the capture interval must be > 0 and the ring hold >= 2")
        self.display, self.monitor_choice, self.scale = display, monitor, scale
        self.interval_s = interval_s
        self._frames: deque[Frame] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.captures = 0
        self.distinct = 0
        self.busy_s = 0.0

    def start(self, timeout_s: float = 10.0) -> Frame:
        self._thread = threading.Thread(target=self._run, name="frame-ring", daemon=True)
        self._thread.start()
        if not self._first.wait(timeout_s) or self.error is not None:
            self.stop()
            why = f"{type(self.error).__name__}: {self.error}" if self.error else "no capture"
            raise ConfigurationError(f"cannot capture the screen to record it: {why}")
        latest = self.latest()
        assert latest is not None
        return latest

    def _run(self) -> None:
        try:
            screen = Screen(self.monitor_choice, self.scale, display=self.display)
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self.error = exc
            self._first.set()
            return
        previous: Image.Image | None = None
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                shot = screen.capture()
                self._offer(shot.image, shot.monitor, began, previous)
                previous = shot.image
                self.captures += 1
                spent = time.monotonic() - began
                self.busy_s += spent
                self._first.set()
                self._stop.wait(max(0.0, self.interval_s - spent))
        except BaseException as exc:  # noqa: BLE001 - the display went away: the recorder stops
            self.error = exc
            self._first.set()
        finally:
            screen.close()

    def _offer(
        self, image: Image.Image, monitor: Monitor, began: float, previous: Image.Image | None
    ) -> None:
        kept = self._frames[-1] if self._frames else None
        if kept is not None and previous is not None:
            known, box = changed_since(image, previous)
            if known and box is None:
                return
            small = box is not None and min(box[2] - box[0], box[3] - box[1]) <= CARET_PX
            if (small or not known) and same_screen(kept.image, image):
                return
        frame = Frame(image, monitor, began, self.distinct)
        with self._lock:
            self._frames.append(frame)
        self.distinct += 1

    def latest(self) -> Frame | None:
        with self._lock:
            return self._frames[-1] if self._frames else None

    def before(self, moment: float) -> Frame:
        """The last frame whose capture began at or before ``moment`` (monotonic); the oldest
        kept when none is that old."""
        with self._lock:
            frames = list(self._frames)
        if not frames:
            raise ConfigurationError("no frame captured yet")
        found = [f for f in frames if f.grabbed <= moment]
        return found[-1] if found else frames[0]

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
