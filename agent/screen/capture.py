"""Screen capture with mss: one monitor, its geometry and its HiDPI scale kept with every shot.

Monitor numbers are mss's: 1, 2, ... are the physical monitors, 0 is the union of all of them,
and ``"primary"`` picks the one the system marks primary (or 1 where the platform cannot tell).
The scale (captured physical pixels per pyautogui unit) is measured from the first capture of a
monitor (2 on a Retina display) unless the caller overrides it. :class:`SettledScreen` waits for
a screen to stop changing before it hands a capture over (what a replay acts on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from agent.errors import CaptureError, ConfigurationError
from agent.geometry import Monitor
from agent.screen.changes import note_change
from agent.screen.matching import same_screen
from agent.screen.shared_pixels import close_capture, shared_pixels

__all__ = [
    "CaptureSource",
    "FrameImages",
    "ImageScreen",
    "MonitorChoice",
    "Screen",
    "Screenshot",
    "SettledScreen",
    "detect_scale",
]

MonitorChoice = int | Literal["primary"]
T = TypeVar("T")


@dataclass(frozen=True)
class Screenshot:
    """A capture of one monitor: the image in physical pixels and where it sits on the screen."""

    image: Image.Image
    monitor: Monitor
    captured_at: float
    """time.time() when the capture was taken."""


def detect_scale(captured: tuple[int, int], logical: tuple[int, int]) -> float:
    """Physical pixels per screen unit, from a capture's size and the monitor's size in units.

    2.0 on a Retina display, 1.25/1.5 on scaled Windows desktops, 1.0 on X11. Both axes must
    agree (within the rounding of one pixel), else the capture is not of this monitor.
    """
    sx, sy = captured[0] / logical[0], captured[1] / logical[1]
    if abs(sx - sy) * max(logical) > 1.5:
        raise ConfigurationError(
            f"capture {captured[0]}x{captured[1]} does not match monitor {logical[0]}x{logical[1]}"
            f" (x scale {sx:.3f}, y scale {sy:.3f}); pass the scale explicitly"
        )
    return round(sx, 4)


class CaptureSource(Protocol):
    """Anything the loop can look at: a real monitor or a fixed image."""

    @property
    def monitor(self) -> Monitor: ...

    def capture(self) -> Screenshot: ...


class ImageScreen:
    """A screen that always shows the same image (a saved screenshot), for grounding a picture,
    dry runs and tests. Its monitor is the image itself at ``scale``, placed at (left, top)."""

    def __init__(self, image: Image.Image, *, left: int = 0, top: int = 0, scale: float = 1.0):
        self.image = image.convert("RGB")
        self._monitor = Monitor(
            index=1,
            left=left,
            top=top,
            width=round(self.image.width / scale),
            height=round(self.image.height / scale),
            scale=scale,
            is_primary=True,
        )

    @property
    def monitor(self) -> Monitor:
        return self._monitor

    def capture(self) -> Screenshot:
        return Screenshot(self.image.copy(), self._monitor, time.time())


def _pairs(pixels: npt.NDArray[np.uint32]) -> npt.NDArray[Any]:
    """Rows of pixels seen two at a time (half the elements to compare), where the width allows."""
    return pixels.view(np.uint64) if pixels.shape[1] % 2 == 0 else pixels


class FrameImages:
    """Images of successive captures of one screen given as BGRX pixels (``(height, width)``
    uint32: X11's and mss's layout, and the pixel format the VNC client asks its server for).
    Only the rows that changed since the last capture are converted (the rest is the last
    image's), and each image carries where it changed (:func:`agent.screen.changes.changed_since`)
    for the resizer and the encoder. The one conversion of raw captures into images."""

    def __init__(self) -> None:
        self._last: tuple[npt.NDArray[np.uint32], Image.Image] | None = None

    def forget(self) -> None:
        """Compare the next capture with nothing (its buffer may hold the last one's pixels)."""
        self._last = None

    def shares(self, pixels: npt.NDArray[np.uint32]) -> bool:
        """Whether ``pixels`` is the buffer the last capture was kept in."""
        return self._last is not None and np.may_share_memory(self._last[0], pixels)

    def image(self, pixels: npt.NDArray[np.uint32], shared: bool) -> Image.Image:
        """The image of ``pixels``; ``shared``: the caller will overwrite ``pixels``, so the
        rows kept for the next comparison are copied."""
        height, width = pixels.shape
        last = self._last
        if last is None or last[0].shape != pixels.shape:
            image = Image.frombytes("RGB", (width, height), pixels, "raw", "BGRX")
            kept = pixels.copy() if shared else pixels
        else:
            kept, previous = last
            rows = np.flatnonzero((_pairs(kept) != _pairs(pixels)).any(axis=1))
            image = previous.copy()
            box = None
            if rows.size:
                top, bottom = int(rows[0]), int(rows[-1]) + 1
                band = pixels[top:bottom]
                image.paste(
                    Image.frombytes("RGB", (width, bottom - top), band, "raw", "BGRX"), (0, top)
                )
                columns = np.flatnonzero((kept[top:bottom] != band).any(axis=0))
                box = (int(columns[0]), top, int(columns[-1]) + 1, bottom)
                if shared:
                    kept[top:bottom] = band
            kept = kept if shared else pixels
            note_change(image, previous, box)
        self._last = (kept, image)
        return image


class Screen:
    """Captures one monitor. Not thread-safe: use it from the thread that created it.

    ``scale`` overrides the measured physical pixels per screen unit; ``display`` picks an X
    display other than ``$DISPLAY`` (X11 only).
    """

    def __init__(
        self,
        monitor: MonitorChoice = "primary",
        scale: float | None = None,
        *,
        display: str | None = None,
    ) -> None:
        try:
            import mss
            import mss.exception
        except ImportError as exc:  # pragma: no cover - mss is a hard dependency
            raise ConfigurationError(f"mss is not installed: {exc}") from exc
        try:
            factory: Any = getattr(mss, "MSS", None) or mss.mss  # mss.mss is deprecated in 10.2
            self._sct: Any = factory(display=display) if display else factory()
            infos: list[dict[str, Any]] = list(self._sct.monitors)
        except (mss.exception.ScreenShotError, KeyError, OSError) as exc:
            raise ConfigurationError(
                f"cannot open the display for screen capture ({exc}); is DISPLAY set?"
            ) from exc
        if scale is not None and not scale > 0:
            raise ConfigurationError(f"scale must be positive, got {scale}")
        self._infos = infos
        self._index = self._resolve(monitor)
        self._scale = scale
        self._checked = False
        self._frames = FrameImages()

    @staticmethod
    def list_monitors() -> list[Monitor]:
        """All monitors (index 1..n) at scale 1, as mss reports them."""
        screen = Screen()
        try:
            return [screen._monitor_at(i, 1.0) for i in range(1, len(screen._infos))]
        finally:
            screen.close()

    def _resolve(self, choice: MonitorChoice) -> int:
        count = len(self._infos) - 1
        if choice == "primary":
            for i in range(1, len(self._infos)):
                if self._infos[i].get("is_primary"):
                    return i
            return 1
        if not isinstance(choice, int) or not 0 <= choice <= count:
            raise ConfigurationError(
                f"no monitor {choice!r}: this display has monitors 1..{count} (0 = all together)"
            )
        return choice

    def _monitor_at(self, index: int, scale: float) -> Monitor:
        info = self._infos[index]
        primary = bool(info.get("is_primary")) or (index == self._resolve("primary") and index > 0)
        return Monitor(
            index=index,
            left=int(info["left"]),
            top=int(info["top"]),
            width=int(info["width"]),
            height=int(info["height"]),
            scale=scale,
            is_primary=primary,
        )

    @property
    def monitor(self) -> Monitor:
        """The chosen monitor with its scale: measured by a first capture unless given, and a
        given scale checked against one."""
        if not self._checked:
            self.capture()
        return self._monitor_at(self._index, self._scale or 1.0)

    def grab_raw(self) -> bytearray:
        """The monitor's pixels exactly as captured (BGRA), without building an image: cheap
        enough to poll (what :class:`SettledScreen` compares)."""
        try:
            raw: bytearray = self._sct.grab(self._infos[self._index]).raw
            return raw
        except Exception as exc:  # noqa: BLE001 - as in capture()
            raise CaptureError(f"cannot capture monitor {self._index}: {exc}") from exc

    def _grab(self, info: dict[str, Any]) -> Image.Image:
        """The monitor's pixels as the platform captures them (physical pixels): read in place
        where mss's X11 shared memory allows (:mod:`agent.screen.shared_pixels`), else mss's
        grab."""
        pixels = shared_pixels(self._sct, info)
        if pixels is not None:  # mss's segment, which the next grab overwrites: keep a copy
            return self._frames.image(pixels, shared=True)
        shot = self._sct.grab(info)
        width, height = shot.size
        pixels = np.frombuffer(shot.raw, dtype=np.uint32).reshape(height, width)
        reused = self._frames.shares(pixels)
        if reused:  # a buffer mss fills again: the last capture is gone, compare with nothing
            self._frames.forget()
        return self._frames.image(pixels, shared=reused)

    def capture(self) -> Screenshot:
        """A capture of the monitor; raises CaptureError when the platform cannot take one."""
        info = self._infos[self._index]
        try:
            image = self._grab(info)
        except Exception as exc:  # noqa: BLE001 - mss raises ScreenShotError, OSError, Xlib errors
            raise CaptureError(
                f"cannot capture monitor {self._index}: {type(exc).__name__}: {exc}"
            ) from exc
        if not self._checked:
            logical = (int(info["width"]), int(info["height"]))
            measured = detect_scale(image.size, logical)
            if self._scale is None:
                self._scale = measured
            elif any(
                abs(size / self._scale - units) > 1.5
                for size, units in ((image.width, logical[0]), (image.height, logical[1]))
            ):
                raise ConfigurationError(
                    f"scale {self._scale:g} does not fit monitor {self._index}: its capture is "
                    f"{image.width}x{image.height} physical pixels for {logical[0]}x{logical[1]}"
                    f" screen units, which is scale {measured:g}; pass {measured:g} or leave "
                    "the scale out to measure it"
                )
            self._checked = True
        return Screenshot(image, self._monitor_at(self._index, self._scale or 1.0), time.time())

    def close(self) -> None:
        close_capture(self._sct)

    def __enter__(self) -> Screen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SettledScreen:
    """A capture source that waits until the screen has settled: it looks every ``poll_s``
    seconds until two consecutive looks show the same screen or ``timeout_s`` has passed, and
    returns a capture of it. A :class:`Screen` is compared by its raw pixels (no image is built
    until it settled: exactly equal, so a caret that blinks between two looks takes one look
    more); any other source by its captures (:func:`same_screen`: a caret does not count).
    ``waited_s`` and ``settled`` tell how the last capture went."""

    def __init__(self, screen: CaptureSource, timeout_s: float = 5.0, poll_s: float = 0.01):
        if timeout_s < 0 or poll_s < 0:
            raise ConfigurationError("the settle timeout and poll interval must be >= 0")
        self.screen = screen
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.waited_s = 0.0
        self.settled = True

    @property
    def monitor(self) -> Monitor:
        return self.screen.monitor

    def capture(self) -> Screenshot:
        start = time.monotonic()
        grab_raw = getattr(self.screen, "grab_raw", None)
        if callable(grab_raw):
            self.settled = self._wait(start, grab_raw, lambda a, b: a == b)
            shot = self.screen.capture()
        else:
            looks: list[Screenshot] = []

            def look() -> Image.Image:
                looks.append(self.screen.capture())
                return looks[-1].image

            self.settled = self._wait(start, look, same_screen)
            shot = looks[-1]
        self.waited_s = time.monotonic() - start
        return shot

    def _wait(self, start: float, look: Callable[[], T], same: Callable[[T, T], bool]) -> bool:
        last = look()
        while time.monotonic() - start < self.timeout_s:
            time.sleep(self.poll_s)
            now = look()
            if same(last, now):
                return True
            last = now
        return False

    def describe(self) -> str:
        """How the last capture went, in words (for the step's record)."""
        if self.settled:
            return f"screen settled in {self.waited_s:.2f} s"
        return f"screen still changing after {self.waited_s:.1f} s: acted on the last capture"
