"""A loaded tiny model scripted per call, for tests whose model is asked several questions.

:func:`~agent.testing.tiny_qwen.script_answer` fixes one answer per checkpoint, read when the
model is loaded. :class:`ScriptedTinyBackend` sets the same ``sequence_bias`` on the loaded
model before each call instead, so one process can answer each prompt differently, still
through the whole real backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.chat import Message
from agent.testing.tiny_qwen import answer_bias

__all__ = ["Responder", "ScriptedTinyBackend"]


Responder = Callable[[Sequence[Message]], str]


class ScriptedTinyBackend:
    """A loaded tiny model that answers each call as ``answers`` says: in order from a list, or
    ``answers(messages)`` (a test can answer from the prompt: which target is asked for).

    The answer is forced exactly as :func:`script_answer` forces it through the file (the
    model's ``sequence_bias``), set before each ``generate()``; the call itself goes through the
    real backend: chat template, processor, frame check, generation, decoding. ``calls`` counts
    the model calls.
    """

    def __init__(self, backend: Any, checkpoint: Path, answers: Sequence[str] | Responder) -> None:
        self.backend = backend
        self.checkpoint = Path(checkpoint)
        self.answers = answers
        self.calls = 0
        for name in ("model", "min_pixels", "max_pixels", "factor", "model_type"):
            setattr(self, name, getattr(backend, name))

    def frame_for(self, width: int, height: int) -> Any:
        return self.backend.frame_for(width, height)

    def complete(self, messages: Sequence[Message], frame: Any) -> Any:
        if callable(self.answers):
            answer = self.answers(messages)
        elif self.calls < len(self.answers):
            answer = self.answers[self.calls]
        else:
            raise IndexError(f"only {len(self.answers)} scripted answers")
        self.calls += 1
        self.backend.net.generation_config.sequence_bias = answer_bias(self.checkpoint, answer)
        return self.backend.complete(messages, frame)
