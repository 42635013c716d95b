"""A monitor's pixels read in place from mss's X11 shared-memory segment.

mss's XShmGetImage grab has the X server write the screen into a shared-memory segment, then
copies the segment into a new bytearray (``ScreenShot.raw``): at 1920x1080 that copy and the
page faults of the fresh 8 MB cost about as much as the server's own part of the grab.
:func:`shared_pixels` makes the same request and hands the segment over as an array, so
:class:`agent.screen.capture.Screen` compares it with its last capture and copies only the rows that
changed.

It relies on mss internals (mss 10.x, ``mss.linux.xshmgetimage``). Where they are not there
(another platform, another mss version, no MIT-SHM, a capture the segment cannot hold), it
returns None and the caller grabs through mss's public API: the same pixels, one copy more.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["close_capture", "shared_pixels"]


def _backend(sct: Any) -> Any | None:
    """mss's X11 shared-memory backend behind ``sct``, when it is in use and working."""
    impl = getattr(sct, "_impl", sct)
    status = getattr(impl, "shm_status", None)
    if getattr(status, "name", None) != "AVAILABLE":  # set by mss after its first shm grab
        return None
    names = ("conn", "drawable", "drawable_depth", "drawable_visual_id", "_buf", "_shmseg")
    if any(getattr(impl, name, None) is None for name in names):
        return None
    return impl


def shared_pixels(sct: Any, monitor: dict[str, Any]) -> npt.NDArray[np.uint32] | None:
    """The monitor's pixels as mss grabs them (BGRX, one uint32 each, height x width), read in
    place; None where only mss's public grab can take them. The array is read-only and valid
    until the next grab, which overwrites it: do not keep it (mss cannot close the segment
    while an array still uses it)."""
    impl = _backend(sct)
    width, height = int(monitor["width"]), int(monitor["height"])
    if impl is None or width * height * 4 > len(impl._buf):
        return None
    try:
        xcb: Any = importlib.import_module("mss.linux.xcb")  # mss internals: not typed for use
    except ImportError:
        return None
    reply = xcb.shm_get_image(
        impl.conn, impl.drawable, monitor["left"], monitor["top"], width, height,
        0xFFFFFFFF, xcb.ImageFormat.ZPixmap, impl._shmseg, 0,
    )  # fmt: skip
    if reply.depth != impl.drawable_depth or reply.visual != impl.drawable_visual_id:
        raise RuntimeError(  # what mss raises in the same case; a window cannot change its visual
            f"the X server returned an image of depth {reply.depth}, expected {impl.drawable_depth}"
        )
    pixels = np.frombuffer(memoryview(impl._buf), dtype=np.uint32, count=width * height)
    return pixels.reshape(height, width)


def close_capture(sct: Any) -> None:
    """Close ``sct``. Where an array from :func:`shared_pixels` is still alive (held by the
    traceback of an error or Ctrl-C raised during a capture), mss cannot close its segment:
    it is then left to be unmapped when that array goes, and the connection is closed anyway
    (instead of a BufferError hiding the error being raised)."""
    try:
        sct.close()
    except BufferError:
        getattr(sct, "_impl", sct)._buf = None
        sct.close()
