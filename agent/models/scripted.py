"""A scripted backend: answers from a list or a function, no model. Ships with the library so
tests, benchmarks and examples can never reach a real model by accident."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from agent.chat import Message
from agent.errors import BackendError
from agent.geometry import IMAGE_FACTOR, QWEN_MAX_PIXELS, QWEN_MIN_PIXELS, ModelFrame
from agent.models.base import Completion, PixelBudget

__all__ = ["ScriptedBackend"]

Responder = Callable[[Sequence[Message], ModelFrame], str]


class ScriptedBackend(PixelBudget):
    """Returns ``answers`` one per call (or whatever ``answers(messages, frame)`` returns).

    Every call is kept in :attr:`calls` as ``(messages, frame)``. ``model_type`` is the
    checkpoint family it stands in for (a ``config.model_type`` such as ``"qwen2_5_vl"``), or
    ``None``: unknown, as by default.
    """

    def __init__(
        self,
        answers: Sequence[str] | Responder,
        *,
        model: str = "scripted",
        min_pixels: int = QWEN_MIN_PIXELS,
        max_pixels: int = QWEN_MAX_PIXELS,
        factor: int = IMAGE_FACTOR,
        model_type: str | None = None,
    ) -> None:
        self.model = model
        self.model_type = model_type
        self.factor = factor
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self._answers = answers
        self.calls: list[tuple[list[Message], ModelFrame]] = []


    def complete(self, messages: Sequence[Message], frame: ModelFrame) -> Completion:
        start = time.perf_counter()
        index = len(self.calls)
        self.calls.append((list(messages), frame))
        if callable(self._answers):
            text = self._answers(messages, frame)
        elif index < len(self._answers):
            text = self._answers[index]
        else:
            raise BackendError(f"scripted backend has only {len(self._answers)} answers")
        return Completion(text=text, frame=frame, latency_s=time.perf_counter() - start)
