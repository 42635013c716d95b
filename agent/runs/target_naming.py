"""Names for what a person pointed at, so that a recording can find it again.

A recorded click is a point; a replay whose window moved, and a task file a person edits, need
the *thing* clicked. :class:`TextNamer` reads the text around the point with the OCR grounder
and names the target by the line under the point, else the nearest line within
:data:`NEAR_PX`, a line on the point's row counting as nearer than one above or below it
(:data:`ROW_WEIGHT`: a field is named by the label beside it, not by the line under it): its
text, its box and where the point lay from the box's centre (``offset``, so a re-grounded replay
clicks beside the label as the person did).
Only a region of :data:`READ_BOX` around the point is read (a few hundred milliseconds, where
the whole screen takes seconds). :class:`ModelNamer` asks a vision-language model (any
:class:`~agent.grounding.base.Grounder` that answers questions) to describe the element under a
marker drawn at the point, in the words one would use to find it again ("the Save button").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from PIL import Image, ImageDraw

from agent.grounding.base import Grounder, grounder_name
from agent.grounding.ocr import OCRGrounder, TextLine

__all__ = [
    "NEAR_PX",
    "READ_BOX",
    "ROW_WEIGHT",
    "ModelNamer",
    "NamedTarget",
    "TargetNamer",
    "TextNamer",
]

NEAR_PX = 240
"""text further than this from the point (pixels to its box, vertical ones weighted) does not
name it"""
ROW_WEIGHT = 3.0
"""a vertical pixel counts this many horizontal ones: labels sit beside their fields"""
READ_BOX = (720, 200)
"""the region read around the point, in capture pixels (wide: labels sit beside fields)"""
_MARKER_BOX = 768  # the region a model is shown around the point
DESCRIBE_PROMPT = (
    "A person clicked the user-interface element under the red circle. Name that element in a "
    "few words, the way one would ask to find it again on this screen (for example: the Save "
    "button, the Email field, the File menu). Answer with the name only."
)


@dataclass(frozen=True)
class NamedTarget:
    """What a point was on: a description the grounder finds again, its box, by whom."""

    description: str
    located_by: str
    box: tuple[int, int, int, int] | None = None
    """capture pixels (left, top, right, bottom)"""
    offset: tuple[float, float] | None = None
    """the point minus the box's centre, capture pixels"""
    seconds: float = 0.0


class TargetNamer(Protocol):
    """Names the element at a capture pixel; None when nothing names it."""

    name: str

    def describe(self, image: Image.Image, pixel: tuple[float, float]) -> NamedTarget | None: ...

    def prepare(self) -> None:
        """Load what naming needs (a model, an engine) before the first action."""
        ...


def _region(
    image: Image.Image, pixel: tuple[float, float], size: tuple[int, int]
) -> tuple[int, int, int, int]:
    width, height = min(size[0], image.width), min(size[1], image.height)
    left = min(max(0, round(pixel[0] - width / 2)), image.width - width)
    top = min(max(0, round(pixel[1] - height / 2)), image.height - height)
    return left, top, left + width, top + height


def _distance(box: tuple[float, float, float, float], x: float, y: float) -> float:
    dx = max(box[0] - x, 0.0, x - box[2])
    dy = max(box[1] - y, 0.0, y - box[3])
    return math.hypot(dx, ROW_WEIGHT * dy)


class TextNamer:
    """Names a point by the OCR text under it or nearest to it (:data:`NEAR_PX`)."""

    name = "ocr"

    def __init__(self, grounder: OCRGrounder | None = None) -> None:
        self.grounder = grounder or OCRGrounder()

    def prepare(self) -> None:
        """Load the OCR engine now (seconds), not at the first action."""
        self.grounder.read(Image.new("RGB", (64, 32), "white"))

    def describe(self, image: Image.Image, pixel: tuple[float, float]) -> NamedTarget | None:
        start = time.perf_counter()
        left, top, right, bottom = _region(image, pixel, READ_BOX)
        lines = self.grounder.read(image.crop((left, top, right, bottom)))
        x, y = pixel
        best: tuple[float, TextLine] | None = None
        for line in lines:
            if not line.text.strip():
                continue
            box = (line.box[0] + left, line.box[1] + top, line.box[2] + left, line.box[3] + top)
            found = TextLine(line.text.strip(), box, line.score)
            distance = _distance(box, x, y)
            if distance <= NEAR_PX and (best is None or distance < best[0]):
                best = (distance, found)
        if best is None:
            return None
        line = best[1]
        left, top, right, bottom = (round(v) for v in line.box)
        centre = ((line.box[0] + line.box[2]) / 2, (line.box[1] + line.box[3]) / 2)
        return NamedTarget(
            description=line.text,
            located_by="ocr",
            box=(left, top, right, bottom),
            offset=(round(x - centre[0], 1), round(y - centre[1], 1)),
            seconds=time.perf_counter() - start,
        )


class ModelNamer:
    """Names a point by a model's description of the element under a marker drawn there."""

    def __init__(self, grounder: Grounder) -> None:
        self.grounder = grounder
        self.name = grounder_name(grounder)

    def prepare(self) -> None:
        """A model is loaded when it is made: nothing to do."""

    def describe(self, image: Image.Image, pixel: tuple[float, float]) -> NamedTarget | None:
        start = time.perf_counter()
        left, top, right, bottom = _region(image, pixel, (_MARKER_BOX, _MARKER_BOX))
        shown = image.crop((left, top, right, bottom)).convert("RGB")
        x, y = pixel[0] - left, pixel[1] - top
        draw = ImageDraw.Draw(shown)
        for radius, width in ((14, 3), (3, 0)):
            box = (x - radius, y - radius, x + radius, y + radius)
            draw.ellipse(box, outline=(230, 0, 0), width=width, fill=(230, 0, 0) if not width
                         else None)  # fmt: skip
        answer = self.grounder.ask(shown, DESCRIBE_PROMPT)
        text = " ".join(answer.text.split()).strip(" .\"'")
        if not text:
            return None
        return NamedTarget(text[:120], self.name, seconds=time.perf_counter() - start)
