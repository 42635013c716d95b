"""The one resize of a capture to a model frame, and a :class:`Resizer` that avoids repeating it.

:func:`resize_to` is the reference: Pillow's bicubic, as qwen-vl-utils resizes. Pillow resizes in
two separable passes, horizontal (every row on its own) then vertical (every column on its own),
each rounded to 8 bits, and the coefficients of a pass depend only on the two sizes. So:

* the horizontal pass of some rows of an image equals those rows of the whole pass, and the
  vertical pass of some columns of the intermediate equals those columns of the whole pass;
* an image that changed only inside a box needs its horizontal pass redone for the box's rows
  only, and its vertical pass for the output columns whose filter reaches the box's columns.

:class:`Resizer` keeps, per thread and frame, the last capture, its intermediate and its output,
and redoes only what a change touched (:func:`agent.screen.matching.changed_box`: noted by the
capture in :mod:`agent.screen.changes`, else found by comparing). The result
is bit-identical to :func:`resize_to` (tests compare every byte); an image it resized recently is
returned from its cache without any work (history screenshots shown again every step).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from PIL import Image

from agent.geometry import ModelFrame
from agent.models.identity_cache import IdentityCache
from agent.screen.changes import note_change
from agent.screen.matching import changed_box

__all__ = ["Resizer", "resize_to"]

_BICUBIC = Image.Resampling.BICUBIC
_SUPPORT = 2.0  # Pillow's bicubic filter support, in output-scaled source pixels
_FULL_FRACTION = 0.6  # a change covering more of the rows than this: redo the whole resize
_SizeKey = tuple[int, int, int, int]  # source width, height, frame width, height


def resize_to(image: Image.Image, frame: ModelFrame) -> Image.Image:
    """``image`` as the model sees it in ``frame``: RGB, resized with bicubic interpolation as
    qwen-vl-utils does (an image already that size is kept)."""
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    if rgb.size == (frame.width, frame.height):
        return rgb
    return rgb.resize((frame.width, frame.height), _BICUBIC)


@dataclass
class _Last:
    """The last capture resized to one frame size, with both passes' results."""

    source: Image.Image
    middle: Image.Image
    """the horizontal pass: output width, source height"""
    output: Image.Image


def _columns(left: int, right: int, source_width: int, width: int) -> tuple[int, int]:
    """Output columns whose bicubic filter reaches source columns [left, right), with one column
    of margin for rounding (and the same for rows)."""
    scale = source_width / width
    support = _SUPPORT * max(scale, 1.0)
    first = math.floor((left - support) / scale - 0.5) - 1
    last = math.ceil((right + support) / scale - 0.5) + 1
    return max(0, first), min(width, last + 1)


class Resizer:
    """:func:`resize_to` with reuse: unchanged captures and unchanged regions are not resized
    again. Thread-safe (each thread keeps its own last captures); the last ``cached`` results
    are kept by the source image's identity (history screenshots)."""

    def __init__(self, cached: int = 8) -> None:
        self._local = threading.local()
        self._seen: IdentityCache[Image.Image] = IdentityCache(cached)
        self.partial = 0
        """how many resizes redid only a changed region (for benchmarks and tests)"""

    def resize(self, image: Image.Image, frame: ModelFrame) -> Image.Image:
        """``image`` in ``frame``, bit-identical to :func:`resize_to`."""
        size = (frame.width, frame.height)
        hit = self._seen.get(image, size)
        if hit is not None:
            return hit
        last_by_size = getattr(self._local, "last", None)
        if last_by_size is None:
            last_by_size = self._local.last = {}
        output = self._resize(image, size, last_by_size)
        self._seen.put(image, size, output)
        return output

    def _resize(
        self,
        image: Image.Image,
        size: tuple[int, int],
        last_by_size: dict[_SizeKey, _Last],
    ) -> Image.Image:
        rgb = image.convert("RGB") if image.mode != "RGB" else image
        if rgb.size == size:
            return rgb
        width, height = size
        key = (rgb.width, rgb.height, width, height)
        last = last_by_size.get(key)
        box: tuple[int, int, int, int] | None = (0, 0, *rgb.size)
        if last is not None:
            box = changed_box(last.source, rgb)
        if last is not None and box is None:
            last.source = rgb
            return last.output
        assert box is not None
        left, top, right, bottom = box
        if last is None or bottom - top > _FULL_FRACTION * rgb.height:
            middle = rgb.resize((width, rgb.height), _BICUBIC)
            output = middle.resize(size, _BICUBIC)
            last_by_size[key] = _Last(rgb, middle, output)
            return output
        rows = rgb.crop((0, top, rgb.width, bottom)).resize((width, bottom - top), _BICUBIC)
        last.middle.paste(rows, (0, top))
        first, end = _columns(left, right, rgb.width, width)
        columns = last.middle.crop((first, 0, end, rgb.height))
        columns = columns.resize((end - first, height), _BICUBIC)
        output = last.output.copy()  # the old output may be held as a history image
        output.paste(columns, (first, 0))
        row_first, row_end = _columns(top, bottom, rgb.height, height)  # the same rule for rows
        note_change(output, last.output, (first, row_first, end, row_end))
        last.source, last.output = rgb, output
        self.partial += 1
        return output
