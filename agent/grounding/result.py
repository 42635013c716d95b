"""One element located in one picture, in image pixels: :func:`ground`, and :func:`annotate`
to draw it (the ``gui-agent ground`` command and the UI's grounding tab)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PIL import Image, ImageDraw

from agent.errors import ConfigurationError
from agent.geometry import ModelFrame, Point
from agent.grounding.base import Grounder
from agent.grounding.vlm import VLMGrounder
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
    image: Image.Image,
    instruction: str,
    grounder: Grounder | Backend,
    style: Style | None = None,
    *,
    clamp: bool = False,
) -> GroundingResult:
    """Locate ``instruction`` in ``image`` with a grounder (or a backend and its style).
    Raises ModelError (ParseError, OutOfBounds, NotFound) for unusable answers."""
    image = image.convert("RGB")
    if style is not None:
        grounder = VLMGrounder(grounder, style)  # type: ignore[arg-type]
    elif not hasattr(grounder, "locate"):
        raise ConfigurationError("a backend needs a style to ground with")
    start = time.perf_counter()
    located = grounder.locate(image, instruction)
    return GroundingResult(
        point=located.pixel(clamp),
        box=located.box_pixels(clamp),
        raw_output=located.raw_output,
        frame=located.frame,
        model_point=located.point,
        latency_s=located.latency_s or time.perf_counter() - start,
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
