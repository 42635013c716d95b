"""Grounding: where is one element in one image, in that image's pixels.

:func:`ground` asks a backend with a style's grounding prompt and converts the answer (point and,
where given, box) from the style's coordinate space to image pixels with the same
:func:`~agent.geometry.to_screen` the agent loop uses (an image is a monitor at origin 0, scale 1).
:func:`annotate` draws the result onto the image.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from agent.geometry import ModelFrame, Monitor, Point, to_screen
from agent.models.base import Backend
from agent.styles.base import Style

__all__ = ["GroundingResult", "annotate", "ground"]


@dataclass(frozen=True)
class GroundingResult:
    """A grounding answer in image pixels, with what it came from."""

    point: tuple[int, int]
    box: tuple[int, int, int, int] | None
    raw_output: str
    frame: ModelFrame
    model_point: Point
    latency_s: float

    def as_json(self) -> dict[str, object]:
        return {
            "point": list(self.point),
            "box": list(self.box) if self.box else None,
            "frame": [self.frame.width, self.frame.height],
            "model_point": [self.model_point.x, self.model_point.y, self.model_point.space.value],
            "raw_output": self.raw_output,
            "latency_s": round(self.latency_s, 4),
        }


def ground(
    image: Image.Image, instruction: str, backend: Backend, style: Style, *, clamp: bool = False
) -> GroundingResult:
    """Locate ``instruction`` in ``image``. Raises ParseError/OutOfBounds for unusable answers."""
    image = image.convert("RGB")
    monitor = Monitor(index=0, left=0, top=0, width=image.width, height=image.height)
    frame = backend.frame_for(image.width, image.height)
    completion = backend.complete(style.grounding_messages(instruction, frame, image), frame)
    location = style.locate(completion.text)

    def pixels(p: Point) -> tuple[int, int]:
        sp = to_screen(p, completion.frame, monitor, clamp=clamp)
        return int(sp.x), int(sp.y)

    box = None
    if location.box is not None:
        (x1, y1), (x2, y2) = pixels(location.box[0]), pixels(location.box[1])
        box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    return GroundingResult(
        point=pixels(location.point),
        box=box,
        raw_output=completion.text,
        frame=completion.frame,
        model_point=location.point,
        latency_s=completion.latency_s,
    )


def annotate(image: Image.Image, result: GroundingResult, label: str = "") -> Image.Image:
    """A copy of ``image`` with the box (if any) and a crosshair at the point."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(out.size) / 600))
    if result.box is not None:
        draw.rectangle(result.box, outline=(0, 200, 0), width=width)
    x, y = result.point
    r = max(6, round(max(out.size) / 150))
    draw.ellipse((x - r, y - r, x + r, y + r), outline=(255, 0, 0), width=width)
    draw.line((x - 2 * r, y, x + 2 * r, y), fill=(255, 0, 0), width=width)
    draw.line((x, y - 2 * r, x, y + 2 * r), fill=(255, 0, 0), width=width)
    if label:
        draw.text((x + 2 * r, y + r), label, fill=(255, 0, 0))
    return out
