"""Grounding with a vision-language model: the style's grounding prompt and parser."""

from __future__ import annotations

from PIL import Image

from agent.chat import Message
from agent.decision import Decision, UnusableAnswer, check_grid
from agent.errors import ModelError, ParseError
from agent.geometry import ModelFrame
from agent.grounding.base import Answer, Located, Sighting
from agent.models.base import Backend
from agent.styles.base import Style
from agent.styles.jsontext import extract_objects, loads_lenient

__all__ = ["VISIBILITY_PROMPT", "VLMGrounder"]

VISIBILITY_PROMPT = (
    'Is this visible on the screen: "{description}"? Answer with only a JSON object: '
    '{{"visible": true or false, "reason": "one short sentence"}}'
)


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
