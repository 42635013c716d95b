"""The screenshot a client gets: the capture resized once, its longest side and its PNG capped.

MCP clients refuse images over about 1 MB or 2000 px, and a model sees a smaller image as well as
a larger one. :func:`capped_frame` is the :class:`~agent.geometry.ModelFrame` of a capture whose
longest side is brought down to ``max_side`` (aspect kept, sides rounded); :func:`snapshot`
resizes the capture into it with the project's one resize (:func:`agent.models.resize.resize_to`)
and encodes it with the one PNG encoder, shrinking the frame (from the capture again, never the
shrunk image) until the file fits ``max_bytes``. The frame is remembered with the image, so a
point in its pixels goes to the screen through :func:`~agent.geometry.to_screen` exactly as a
model's point does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from agent.errors import ConfigurationError
from agent.geometry import ModelFrame, Monitor, round_half_away
from agent.models.resize import resize_to
from agent.screen.png import encode_png

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_SIDE", "Snapshot", "capped_frame", "snapshot"]

DEFAULT_MAX_SIDE = 1568
DEFAULT_MAX_BYTES = 1_000_000
_MIN_SIDE = 64
_PNG_LEVEL = 6
_TRIES = 8


def capped_frame(width: int, height: int, max_side: int) -> ModelFrame:
    """The frame of a ``width`` x ``height`` capture with its longest side at most ``max_side``
    (the capture itself when it fits): the other side in proportion, rounded, at least 1."""
    if width <= 0 or height <= 0 or max_side <= 0:
        raise ConfigurationError(f"cannot cap a {width}x{height} image to {max_side} px")
    longest = max(width, height)
    if longest <= max_side:
        return ModelFrame.identity(width, height)
    ratio = max_side / longest
    w = max(1, round_half_away(width * ratio))
    h = max(1, round_half_away(height * ratio))
    return ModelFrame(w, h, width, height, 1, w * h, 1)


@dataclass(frozen=True)
class Snapshot:
    """A capped screenshot: the PNG sent and the frame its pixels are in."""

    png: bytes
    frame: ModelFrame

    def describe(self, monitor: Monitor) -> str:
        """One line for the client: the sizes, and what a pixel of the image is on the screen."""
        f = self.frame
        per_pixel = f.source_width / f.width / monitor.scale
        return (
            f"screenshot {f.width}x{f.height} px ({len(self.png):,} bytes PNG) of the screen "
            f"{monitor.width}x{monitor.height} (origin {monitor.left:+d}{monitor.top:+d}, "
            f"{monitor.scale:g} capture px per screen unit; captured {f.source_width}x"
            f"{f.source_height}): scale {per_pixel:.4g} screen units per screenshot pixel. "
            "click(x=..., y=...) takes x, y in this screenshot's pixels."
        )


def snapshot(image: Image.Image, max_side: int, max_bytes: int) -> Snapshot:
    """``image`` (a capture) as a PNG of at most ``max_side`` px a side and ``max_bytes``
    bytes; ConfigurationError when even a small one does not fit."""
    side = min(max_side, max(image.size))
    for _ in range(_TRIES):
        frame = capped_frame(image.width, image.height, side)
        png = encode_png(resize_to(image, frame), level=_PNG_LEVEL)
        if len(png) <= max_bytes:
            return Snapshot(png, frame)
        smaller = math.floor(side * 0.95 * math.sqrt(max_bytes / len(png)))
        if side <= _MIN_SIDE:
            break
        side = max(_MIN_SIDE, min(smaller, side - 1))
    raise ConfigurationError(
        f"the screenshot does not fit in {max_bytes:,} bytes even at {side} px: raise "
        "--max-image-bytes"
    )
