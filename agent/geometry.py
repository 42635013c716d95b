"""Frames and coordinates: where a number on the screen or in a model answer points.

Three frames meet in every step:

* the **screen**: pyautogui's global coordinate system (logical units; several monitors side by
  side, origins may be negative);
* the **capture**: the screenshot of one monitor, in physical pixels (``scale`` physical pixels per
  screen unit: 2 on a Retina display, 1.25/1.5 on scaled Windows desktops, 1 on X11);
* the **model frame**: the capture resized by :func:`smart_resize` (Qwen2.5-VL answers in its
  absolute pixels; other families answer in 0-1000 or 0-1 of it).

A :class:`Point` always says which :class:`CoordinateSpace` it is in. :func:`to_screen` and
:func:`to_model` are the one conversion used by the loop, replay and evaluation alike; they apply
the per-axis resize factor, the monitor's scale and its origin in that order, and round to the
nearest screen unit (never truncate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from agent.errors import ConfigurationError, OutOfBounds

__all__ = [
    "IMAGE_FACTOR",
    "MAX_RATIO",
    "QWEN_MAX_PIXELS",
    "QWEN_MIN_PIXELS",
    "CoordinateSpace",
    "ModelFrame",
    "Monitor",
    "Point",
    "round_half_away",
    "smart_resize",
    "to_model",
    "to_screen",
]

IMAGE_FACTOR = 28
QWEN_MIN_PIXELS = 4 * 28 * 28  # qwen-vl-utils default: 3,136
QWEN_MAX_PIXELS = 16384 * 28 * 28  # qwen-vl-utils and official preprocessor_config: 12,845,056
MAX_RATIO = 200


def _round_by(n: float, factor: int) -> int:
    return round(n / factor) * factor


def _floor_by(n: float, factor: int) -> int:
    return math.floor(n / factor) * factor


def _ceil_by(n: float, factor: int) -> int:
    return math.ceil(n / factor) * factor


def smart_resize(
    height: int,
    width: int,
    factor: int = IMAGE_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[int, int]:
    """Return ``(height, width)`` of the image the model sees, exactly as qwen-vl-utils and the
    transformers Qwen2-VL image processor compute it.

    Both sides become multiples of ``factor``; the area ends within ``[min_pixels, max_pixels]``;
    the aspect ratio is kept as closely as the grid allows.
    """
    if height <= 0 or width <= 0:
        raise ConfigurationError(f"image size must be positive, got {width}x{height}")
    if min_pixels > max_pixels:
        raise ConfigurationError(f"min_pixels {min_pixels} exceeds max_pixels {max_pixels}")
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ConfigurationError(
            f"absolute aspect ratio must be smaller than {MAX_RATIO}, got "
            f"{max(height, width) / min(height, width)} for {width}x{height}"
        )
    h_bar = max(factor, _round_by(height, factor))
    w_bar = max(factor, _round_by(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = _floor_by(height / beta, factor)
        w_bar = _floor_by(width / beta, factor)
        if min(h_bar, w_bar) == 0:
            raise ConfigurationError(
                f"a {width}x{height} image does not fit in max_pixels={max_pixels} with sides "
                f"that are multiples of {factor}; raise max_pixels"
            )
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = _ceil_by(height * beta, factor)
        w_bar = _ceil_by(width * beta, factor)
    if max(h_bar, w_bar) / min(h_bar, w_bar) > MAX_RATIO:
        raise ConfigurationError(
            f"a {width}x{height} image becomes {w_bar}x{h_bar}, whose aspect ratio exceeds "
            f"{MAX_RATIO}: the processor refuses it"
        )
    return h_bar, w_bar


class CoordinateSpace(str, Enum):
    """Which frame a coordinate refers to. Declared by whoever produced the number, never guessed
    from its magnitude."""

    SCREEN = "screen"
    """pyautogui's global coordinates (logical units, integer)."""
    RESIZED = "resized_px"
    """Absolute pixels of the resized image the model saw (Qwen2.5-VL, UI-TARS-1.5)."""
    REL1000 = "rel1000"
    """0-1000 of the model frame (Qwen2-VL, UI-TARS v1, Qwen3-VL)."""
    REL1 = "rel1"
    """0-1 of the model frame."""


class Point(BaseModel):
    """A point tagged with its coordinate space."""

    model_config = ConfigDict(frozen=True)

    x: float = Field(description="horizontal coordinate, growing to the right")
    y: float = Field(description="vertical coordinate, growing downwards")
    space: CoordinateSpace = Field(description="the frame x and y refer to")

    @classmethod
    def screen(cls, x: int, y: int) -> Point:
        return cls(x=x, y=y, space=CoordinateSpace.SCREEN)

    def xy(self) -> tuple[float, float]:
        return self.x, self.y

    def screen_xy(self) -> tuple[int, int]:
        """The screen coordinates, rounded; raises if this point is not in screen space."""
        if self.space is not CoordinateSpace.SCREEN:
            raise ValueError(f"point is in {self.space.value} space, not screen space")
        return round_half_away(self.x), round_half_away(self.y)


@dataclass(frozen=True)
class Monitor:
    """One monitor: origin and size in screen units (pyautogui's global coordinates) and the
    number of captured physical pixels per screen unit."""

    index: int
    left: int
    top: int
    width: int
    height: int
    scale: float = 1.0
    is_primary: bool = False

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ConfigurationError(f"monitor size must be positive: {self}")
        if not self.scale > 0:
            raise ConfigurationError(f"monitor scale must be positive: {self}")

    def contains(self, x: int, y: int) -> bool:
        return self.left <= x < self.left + self.width and self.top <= y < self.top + self.height

    def describe(self) -> str:
        return (
            f"monitor {self.index} {self.width}x{self.height}{self.left:+d}{self.top:+d}"
            f" scale {self.scale:g}"
        )


@dataclass(frozen=True)
class ModelFrame:
    """The image the model saw: ``width`` x ``height`` resized pixels made from a capture of
    ``source_width`` x ``source_height`` physical pixels, with the bounds that produced it."""

    width: int
    height: int
    source_width: int
    source_height: int
    min_pixels: int = QWEN_MIN_PIXELS
    max_pixels: int = QWEN_MAX_PIXELS
    factor: int = IMAGE_FACTOR

    @classmethod
    def for_image(
        cls,
        source_width: int,
        source_height: int,
        *,
        min_pixels: int = QWEN_MIN_PIXELS,
        max_pixels: int = QWEN_MAX_PIXELS,
        factor: int = IMAGE_FACTOR,
    ) -> ModelFrame:
        height, width = smart_resize(source_height, source_width, factor, min_pixels, max_pixels)
        return cls(width, height, source_width, source_height, min_pixels, max_pixels, factor)

    @classmethod
    def identity(cls, width: int, height: int) -> ModelFrame:
        """The capture itself, unresized: points in its ``RESIZED`` space are capture pixels
        (what the OCR grounder and the location cache answer in)."""
        return cls(width, height, width, height, 1, width * height, 1)

    @property
    def visual_tokens(self) -> int:
        merged = self.factor
        return (self.height // merged) * (self.width // merged)

    def _extent(self, space: CoordinateSpace) -> tuple[float, float]:
        if space is CoordinateSpace.RESIZED:
            return float(self.width), float(self.height)
        if space is CoordinateSpace.REL1000:
            return 1000.0, 1000.0
        if space is CoordinateSpace.REL1:
            return 1.0, 1.0
        raise ValueError(f"{space.value} is not a model coordinate space")

    def fraction(self, point: Point) -> tuple[float, float]:
        """Where ``point`` lies in the frame, as fractions of its width and height."""
        ex, ey = self._extent(point.space)
        return point.x / ex, point.y / ey

    def contains(self, point: Point) -> bool:
        fx, fy = self.fraction(point)
        return 0.0 <= fx <= 1.0 and 0.0 <= fy <= 1.0


def round_half_away(value: float) -> int:
    """Round half away from zero (Python's round() is banker's rounding)."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


_EDGE_SLACK = 2


def to_screen(point: Point, frame: ModelFrame, monitor: Monitor, *, clamp: bool = False) -> Point:
    """Convert a model-space point to a screen point on ``monitor``.

    Per axis: fraction of the model frame -> capture pixels -> / scale -> + monitor origin,
    rounded to the nearest unit. A point on the frame's far edge maps to the monitor's last unit.
    A point outside the model frame raises :class:`OutOfBounds`, or with ``clamp`` is moved to
    the nearest edge (and one unit in from a corner, where pyautogui's fail-safe would fire).
    A point that lands outside the monitor (the capture and the monitor disagree) is refused,
    never moved onto the monitor's last pixel.
    """
    if point.space is CoordinateSpace.SCREEN:
        return point
    if not (math.isfinite(point.x) and math.isfinite(point.y)):
        raise OutOfBounds(f"point ({point.x}, {point.y}) is not a finite point")
    fx, fy = frame.fraction(point)
    clamped = clamp and not frame.contains(point)
    if clamped:
        fx, fy = min(max(fx, 0.0), 1.0), min(max(fy, 0.0), 1.0)
    elif not frame.contains(point):
        raise OutOfBounds(
            f"point ({point.x:g}, {point.y:g}) is outside the {frame.width}x{frame.height} image"
            if point.space is CoordinateSpace.RESIZED
            else f"point ({point.x:g}, {point.y:g}) is outside the {point.space.value} range"
        )
    right, bottom = monitor.left + monitor.width, monitor.top + monitor.height
    sx = monitor.left + round_half_away(fx * frame.source_width / monitor.scale)
    sy = monitor.top + round_half_away(fy * frame.source_height / monitor.scale)
    # The far edge of the frame is the monitor's last unit; a capture whose size is not a whole
    # number of units at this scale reaches up to _EDGE_SLACK units further, still the edge.
    if right <= sx < right + _EDGE_SLACK:
        sx = right - 1
    if bottom <= sy < bottom + _EDGE_SLACK:
        sy = bottom - 1
    if not monitor.contains(sx, sy):
        raise OutOfBounds(
            f"point ({point.x:g}, {point.y:g}) lands at ({sx}, {sy}), outside "
            f"{monitor.describe()}: the {frame.source_width}x{frame.source_height} capture does "
            f"not match the monitor at scale {monitor.scale:g}"
        )
    if clamped and sx in (monitor.left, right - 1) and sy in (monitor.top, bottom - 1):
        sx += 1 if sx == monitor.left else -1
        sy += 1 if sy == monitor.top else -1
    return Point.screen(sx, sy)


def to_model(
    point: Point,
    frame: ModelFrame,
    monitor: Monitor,
    space: CoordinateSpace = CoordinateSpace.RESIZED,
) -> Point:
    """The inverse of :func:`to_screen`: where a screen point lies in the model's frame."""
    sx, sy = point.screen_xy()
    fx = (sx - monitor.left) * monitor.scale / frame.source_width
    fy = (sy - monitor.top) * monitor.scale / frame.source_height
    ex, ey = frame._extent(space)
    return Point(x=fx * ex, y=fy * ey, space=space)
