"""Grounding: where is one element in one image.

A :class:`Grounder` answers two questions about a capture: *where is this element*
(:meth:`Grounder.locate`, a :class:`Located` in the grounder's frame) and *what does the screen
say* (:meth:`Grounder.ask`, free text, for queries and assertions). :class:`VLMGrounder` asks a
vision-language model with its style's grounding prompt; the OCR grounder
(:mod:`agent.models.ocr`) matches text lines. A :class:`Located` keeps its point in the space
the grounder answered in, tagged with the frame it refers to, so the one conversion
(:func:`~agent.geometry.to_screen`) turns it into screen or capture pixels.

:func:`ground` locates in a picture and returns image pixels; :func:`annotate` draws the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image, ImageDraw

from agent.chat import Message
from agent.decision import Decision, UnusableAnswer, check_grid
from agent.errors import ConfigurationError, ModelError, ParseError
from agent.geometry import ModelFrame, Monitor, Point, to_screen
from agent.models.base import Backend
from agent.styles.base import Style
from agent.styles.jsontext import extract_objects, loads_lenient

__all__ = [
    "Answer",
    "Grounder",
    "GroundingResult",
    "Located",
    "Sighting",
    "VLMGrounder",
    "annotate",
    "ground",
    "grounder_name",
]


@dataclass(frozen=True)
class Located:
    """Where a grounder found an element: ``point`` (and ``box``) in the space of ``frame``."""

    point: Point
    frame: ModelFrame
    box: tuple[Point, Point] | None = None
    raw_output: str = ""
    messages: list[Message] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float = 0.0
    model_calls: int = 0
    """model calls the answer took (0 for a grounder that is not a model)"""
    text: str | None = None
    """the text the element was matched on (OCR)"""

    def _capture(self) -> Monitor:
        """The capture as a monitor at origin 0, scale 1: converting to it gives its pixels."""
        return Monitor(0, 0, 0, self.frame.source_width, self.frame.source_height)

    def pixel(self, clamp: bool = False) -> tuple[int, int]:
        """The point in capture pixels."""
        return to_screen(self.point, self.frame, self._capture(), clamp=clamp).screen_xy()

    def box_pixels(self, clamp: bool = False) -> tuple[int, int, int, int] | None:
        """The box in capture pixels (left, top, right, bottom), if the grounder gave one."""
        if self.box is None:
            return None
        (x1, y1), (x2, y2) = (
            to_screen(p, self.frame, self._capture(), clamp=clamp).screen_xy() for p in self.box
        )
        return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


@dataclass(frozen=True)
class Answer:
    """A grounder's free-text answer about a capture."""

    text: str
    messages: list[Message] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model_calls: int = 0


@dataclass(frozen=True)
class Sighting:
    """Whether something is visible, and how the grounder knows."""

    visible: bool
    detail: str
    """one line: what was matched, or the model's reason"""
    located: Located | None = None
    answer: Answer | None = None


class Grounder(Protocol):
    """Finds elements on captures. ``model`` names it in trajectories."""

    model: str
    min_pixels: int
    max_pixels: int

    def frame_for(self, width: int, height: int) -> ModelFrame:
        """The frame a ``width`` x ``height`` capture is read in."""
        ...

    def locate(self, image: Image.Image, description: str) -> Located:
        """Where ``description`` is in ``image``. Raises ModelError (NotFound, ParseError,
        OutOfBounds) when the answer gives no usable element."""
        ...

    def ask(self, image: Image.Image, prompt: str) -> Answer:
        """A free-text answer to ``prompt`` about ``image``. Raises ConfigurationError where
        the grounder cannot answer questions."""
        ...

    def seen(self, image: Image.Image, description: str) -> Sighting:
        """Whether ``description`` is visible in ``image``. Raises ModelError when the answer
        cannot be read."""
        ...


VISIBILITY_PROMPT = (
    'Is this visible on the screen: "{description}"? Answer with only a JSON object: '
    '{{"visible": true or false, "reason": "one short sentence"}}'
)


def grounder_name(grounder: Grounder) -> str:
    """How a trajectory names a grounder that located a target: "ocr" or "model:NAME"."""
    return "ocr" if grounder.model == "rapidocr" else f"model:{grounder.model}"


class VLMGrounder:
    """Grounding with a vision-language model: the style's grounding prompt and parser. Refuses
    a backend that resizes to another grid than the style's family."""

    def __init__(self, backend: Backend, style: Style) -> None:
        check_grid(backend, style)
        self.backend = backend
        self.style = style
        self.model = backend.model
        self.min_pixels = backend.min_pixels
        self.max_pixels = backend.max_pixels

    def frame_for(self, width: int, height: int) -> ModelFrame:
        return self.backend.frame_for(width, height)

    def locate(self, image: Image.Image, description: str) -> Located:
        frame = self.backend.frame_for(image.width, image.height)
        messages = self.style.grounding_messages(description, frame, image)
        completion = self.backend.complete(messages, frame)
        try:
            location = self.style.locate(completion.text)
        except ModelError as exc:
            raise UnusableAnswer(
                exc,
                _partial(
                    completion.text,
                    completion.frame,
                    messages,
                    completion.prompt_tokens,
                    completion.completion_tokens,
                ),
            ) from exc
        return Located(
            point=location.point,
            frame=completion.frame,
            box=location.box,
            raw_output=completion.text,
            messages=messages,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_s=completion.latency_s,
            model_calls=1,
        )

    def ask(self, image: Image.Image, prompt: str) -> Answer:
        frame = self.backend.frame_for(image.width, image.height)
        messages = [
            Message("system", ("You are a helpful assistant.",)),
            Message("user", (image, prompt)),
        ]
        completion = self.backend.complete(messages, frame)
        return Answer(
            completion.text,
            messages,
            completion.prompt_tokens,
            completion.completion_tokens,
            model_calls=1,
        )

    def seen(self, image: Image.Image, description: str) -> Sighting:
        answer = self.ask(image, VISIBILITY_PROMPT.format(description=description))
        try:
            data = next(
                (
                    d
                    for d in map(loads_lenient, extract_objects(answer.text))
                    if isinstance(d, dict) and isinstance(d.get("visible"), bool)
                ),
                None,
            )
            if data is None:
                raise ParseError(
                    'no {"visible": true|false} object in the answer; answer with only '
                    '{"visible": true or false, "reason": "..."}'
                )
        except ModelError as exc:
            frame = self.backend.frame_for(image.width, image.height)
            raise UnusableAnswer(
                exc,
                _partial(
                    answer.text,
                    frame,
                    answer.messages,
                    answer.prompt_tokens,
                    answer.completion_tokens,
                ),
            ) from exc
        reason = str(data.get("reason") or "").strip().replace("\n", " ")
        return Sighting(
            data["visible"],
            reason or ("visible" if data["visible"] else "not visible"),
            answer=answer,
        )


def _partial(
    text: str,
    frame: ModelFrame,
    messages: list[Message],
    prompt_tokens: int | None,
    completion_tokens: int | None,
) -> Decision:
    """What an unusable answer leaves for the record: the prompt and the raw answer."""
    return Decision(
        actions=[],
        frame=frame,
        messages=messages,
        raw_output=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        model_calls=1,
    )


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
