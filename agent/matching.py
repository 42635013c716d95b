"""Comparing screenshots: did the screen change between two captures?

:func:`same_screen` is what the loop guard uses to decide that an action had no visible effect.
Exact equality is too strict on a real desktop, where a text caret blinks between two captures,
so a change whose bounding box is at most :data:`CARET_PX` pixels wide or high (a caret, a
focus line) does not count. Anything larger, however small its area (a digit that changed, a
checkbox), does.
"""

from __future__ import annotations

from PIL import Image, ImageChops

__all__ = ["CARET_PX", "changed_box", "same_screen"]

CARET_PX = 3


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box ``(left, top, right, bottom)`` of every changed pixel, None if none
    changed; the whole image when the sizes differ."""
    if before.size != after.size or before.mode != after.mode:
        return (0, 0, after.width, after.height)
    return ImageChops.difference(before, after).getbbox()


def same_screen(before: Image.Image, after: Image.Image) -> bool:
    """True if ``after`` shows what ``before`` showed, but for a caret-sized change."""
    box = changed_box(before, after)
    return box is None or min(box[2] - box[0], box[3] - box[1]) <= CARET_PX
