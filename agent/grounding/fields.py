"""Form controls beside a label, read off the screenshot: the input field, the checkbox's state.

A label's text (found by OCR) is not the control it names: a GTK label takes no focus, so a click
on it types nowhere. Real toolkits lay forms out the same way (GTK, Qt, web pages, Tk): the field
is to the right of its label or below it, a checkbox's box is left of its text. This module finds
those controls with no model, on the pixels alone:

* :func:`rectangles` finds boxes drawn with edges: two long horizontal edges (top and bottom)
  joined by vertical edges at both ends. Entries, combo boxes, ``<select>``\\ s and checkbox
  boxes are such rectangles in every toolkit here, empty or holding text;
* :func:`field_beside` picks the nearest field-sized rectangle right of a label box (its middle
  within the label's rows) or below it (overlapping the label's columns), or the rectangle the
  label lies inside (a placeholder, the text in a combo box);
* :func:`checkbox_beside` picks the nearest small square left (else right) of a label and
  :func:`is_marked` says whether a mark is inside: an empty box is one colour, a checked one
  holds a tick (or a fill and a tick).

Boxes are ``(left, top, right, bottom)`` in capture pixels, right and bottom exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = ["Box", "Rectangle", "checkbox_beside", "field_beside", "is_marked", "rectangles"]

Box = tuple[int, int, int, int]

_EDGE = 28  # the least colour step (largest channel) that is an edge
_SIDE_COVER = 0.6  # the share of a side's middle rows that must be an edge
_FIELD_MIN_WIDTH = 40
_FIELD_HEIGHT = (0.9, 4.0)  # a field's height, in label heights
_REACH_RIGHT = 40.0  # how far right of a label its field may start, in label heights
_REACH_BELOW = 2.5  # how far below a label its field may start, in label heights
_BOX_SIZE = (0.5, 2.2)  # a checkbox's side, in label heights
_BOX_REACH = 3.0  # how far from its label a checkbox may be, in label heights
_MARK_SHARE = 0.06  # the share of a box's inside that differs from its fill when marked
_MARK_STEP = 60  # the grey step that is a mark on the fill


@dataclass(frozen=True)
class Rectangle:
    """A box drawn with edges: where it is, in capture pixels."""

    box: Box

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def _pixels(image: Image.Image) -> NDArray[np.int16]:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def _runs(row: NDArray[np.bool_], min_length: int) -> list[tuple[int, int]]:
    """The runs of True in ``row`` at least ``min_length`` long, as (start, end) exclusive."""
    padded = np.concatenate(([False], row, [False])).astype(np.int8)
    steps = np.diff(padded)
    starts = np.flatnonzero(steps == 1)
    ends = np.flatnonzero(steps == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_length]


def rectangles(
    image: Image.Image,
    region: Box,
    *,
    min_width: int,
    max_width: int,
    min_height: int,
    max_height: int,
) -> list[Rectangle]:
    """The boxes drawn with edges inside ``region`` (clipped to the image) whose size is in the
    bounds, outermost first where several edges (a double border, a focus ring) nest."""
    width, height = image.size
    left, top = max(0, region[0]), max(1, region[1])
    right, bottom = min(width, region[2]), min(height, region[3])
    if right - left < min_width or bottom - top < min_height:
        return []
    pixels = _pixels(image.crop((left, top - 1, right, bottom)))
    rows = np.abs(np.diff(pixels, axis=0)).max(axis=2) >= _EDGE  # edge between y-1 and y
    cols = np.abs(np.diff(pixels[1:], axis=1)).max(axis=2) >= _EDGE  # between x-1 and x
    lines = [(y, s, e) for y in range(rows.shape[0]) for s, e in _runs(rows[y], min_width)]
    found: list[Box] = []
    for index, (y1, s1, e1) in enumerate(lines):
        for y2, s2, e2 in lines[index + 1 :]:
            tall = y2 - y1
            if tall < min_height:
                continue
            if tall > max_height:
                break
            a, b = max(s1, s2), min(e1, e2)
            if b - a < min_width or b - a < 0.8 * max(e1 - s1, e2 - s2):
                continue  # not one box's top and bottom
            if _crossed(lines, y1, y2, a, b):
                continue  # the bottom of one box and the top of the next
            box = _sides(cols, y1, y2, a, b)
            if box is not None and box[2] - box[0] <= max_width:
                found.append((box[0] + left, y1 + top, box[2] + left, y2 + top))
    return [Rectangle(b) for b in _outermost(found)]


def _crossed(lines: list[tuple[int, int, int]], y1: int, y2: int, a: int, b: int) -> bool:
    """Whether an edge crosses the box between ``y1`` and ``y2`` (its borders' own inner
    lines, within a few rows of them, left out): then it is two boxes, not one."""
    return any(y1 + 3 < y < y2 - 3 and min(e, b) - max(s, a) >= 0.8 * (b - a) for y, s, e in lines)


def _sides(cols: NDArray[np.bool_], y1: int, y2: int, a: int, b: int) -> Box | None:
    """Left and right edges near ``a`` and ``b`` over the middle rows (corners may be round)."""
    middle = slice(y1 + (y2 - y1) // 4, y2 - (y2 - y1) // 4 or y2)
    cover: NDArray[np.bool_] = np.asarray(cols[middle].mean(axis=0) >= _SIDE_COVER)
    near = max(3, (b - a) // 20)

    def side(anchor: int) -> int | None:
        """The vertical edge nearest ``anchor`` (where the horizontal edges end)."""
        lo = max(0, anchor - near)
        hits = np.flatnonzero(cover[lo : min(len(cover), anchor + near + 1)]) + lo
        return int(hits[np.argmin(np.abs(hits - anchor))]) if len(hits) else None

    left, right = side(a), side(b)
    if left is None or right is None or right - left < (b - a) // 2:
        return None
    return left, y1, right, y2


def _outermost(boxes: list[Box]) -> list[Box]:
    """``boxes`` without those nested just inside another (the inner line of one border)."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1])):
        if not any(_nested(box, outer) for outer in kept):
            kept.append(box)
    return kept


def _nested(inner: Box, outer: Box, slack: int = 4) -> bool:
    return (
        outer[0] <= inner[0] <= outer[0] + slack
        and outer[1] <= inner[1] <= outer[1] + slack
        and outer[2] - slack <= inner[2] <= outer[2]
        and outer[3] - slack <= inner[3] <= outer[3]
    )


def _contains(box: Box, x: float, y: float) -> bool:
    return box[0] <= x < box[2] and box[1] <= y < box[3]


def field_beside(image: Image.Image, label: Box) -> Box | None:
    """The input field ``label`` names: the rectangle holding the label (placeholder text, a
    combo box's shown value), else the nearest one right of it (its middle within the label's
    rows) or, where none is, below it (overlapping its columns): a field on the label's rows
    is its field in every toolkit's layout. None when no field-sized box is there."""
    lx1, ly1, lx2, ly2 = label
    unit = max(8, ly2 - ly1)
    middle_x, middle_y = (lx1 + lx2) / 2, (ly1 + ly2) / 2
    region = (
        lx1 - 4 * unit,
        ly1 - 2 * unit,
        int(lx2 + _REACH_RIGHT * unit),
        int(ly2 + (_REACH_BELOW + _FIELD_HEIGHT[1]) * unit),
    )
    boxes = rectangles(
        image,
        region,
        min_width=_FIELD_MIN_WIDTH,
        max_width=image.width,
        min_height=int(_FIELD_HEIGHT[0] * unit),
        max_height=int(_FIELD_HEIGHT[1] * unit),
    )
    best: tuple[int, float, Box] | None = None
    for rect in boxes:
        x1, y1, x2, y2 = rect.box
        if _contains(rect.box, middle_x, middle_y):
            rank = (0, 0.0)
        elif x1 >= lx2 - unit / 2 and y1 <= middle_y <= y2:
            rank = (1, float(x1 - lx2))  # right of the label, on its rows
        elif y1 >= ly2 - unit / 4 and x1 <= lx2 and x2 >= lx1 and y1 - ly2 <= _REACH_BELOW * unit:
            rank = (2, float(y1 - ly2))  # below it, under its columns
        else:
            continue
        if best is None or rank < best[:2]:
            best = (*rank, rect.box)
    return best[2] if best else None


def checkbox_beside(image: Image.Image, label: Box) -> Box | None:
    """The checkbox ``label`` names: the small square nearest the label's left end (before it,
    or read as part of the line), else its right end. None when there is none."""
    lx1, ly1, lx2, ly2 = label
    unit = max(8, ly2 - ly1)
    reach = int(_BOX_REACH * unit)
    smallest, largest = int(_BOX_SIZE[0] * unit), int(_BOX_SIZE[1] * unit)
    middle_y = (ly1 + ly2) / 2
    for region, near in (
        # the recogniser often reads the box as the line's first glyph: look into the line too
        ((lx1 - reach, ly1 - unit, lx1 + 2 * unit, ly2 + unit), lambda b: abs(b[0] - lx1)),
        ((lx2 - 2 * unit, ly1 - unit, lx2 + reach, ly2 + unit), lambda b: abs(b[2] - lx2)),
    ):
        squares = [
            r.box
            for r in rectangles(
                image,
                region,
                min_width=smallest,
                max_width=largest,
                min_height=smallest,
                max_height=largest,
            )
            if abs(r.width - r.height) <= max(2, r.height // 5) and r.box[1] <= middle_y <= r.box[3]
        ]
        if squares:
            return min(squares, key=near)
    return None


def is_marked(image: Image.Image, box: Box) -> bool:
    """Whether the checkbox ``box`` holds a mark: the inside (its border left out) is not one
    colour. An empty box is filled with one colour; a checked one holds a tick, drawn on the
    fill or on a coloured fill of its own."""
    x1, y1, x2, y2 = box
    inset = max(2, (x2 - x1) // 5)
    inside = _pixels(image.crop((x1 + inset, y1 + inset, x2 - inset, y2 - inset)))
    if inside.size == 0:
        return False
    grey = inside.mean(axis=2)
    fill = float(np.median(grey))
    return bool((np.abs(grey - fill) >= _MARK_STEP).mean() >= _MARK_SHARE)
