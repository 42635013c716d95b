"""Where a step's actions come from: the ``decide`` phase behind one small interface.

A :class:`Decider` looks at a :class:`Situation` (the screenshot, the frame it is shown in, the
past steps, the reason the last answer was refused) and returns a :class:`Decision`: actions in
its coordinate space, plus what it was asked and answered, for the record. :class:`ModelDecider`
asks a vision-language model (backend + style); a script step, the location cache or a replay
plug in here the same way. A decider raises :class:`~agent.errors.ModelError` for an unusable
answer; the partial decision it had (prompt, raw answer) travels with the error.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from actions.schema import Action
from agent.chat import Message
from agent.errors import ConfigurationError, ModelError
from agent.geometry import ModelFrame
from agent.models.base import Backend
from agent.screen.capture import Screenshot
from agent.styles.base import PastStep, Style
from agent.trajectory import ReplayRecord, Source, TargetRecord

__all__ = [
    "Decider", "Decision", "ModelDecider", "Situation", "UnusableAnswer", "check_family",
    "check_grid",
]  # fmt: skip


@dataclass(frozen=True)
class Situation:
    """What a decision is made on."""

    index: int
    instruction: str
    screenshot: Screenshot
    frame: ModelFrame
    past: Sequence[PastStep]
    feedback: str | None = None
    """why the previous answer was refused, to be shown to the model"""


@dataclass(frozen=True)
class Decision:
    """A decider's answer: actions in the space of ``frame``'s model, and how they came about."""

    actions: list[Action]
    frame: ModelFrame
    """the frame the actions' points refer to"""
    source: Source = "model"
    messages: list[Message] = field(default_factory=list)
    raw_output: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """seconds per sub-phase of the decision (prompt, model, parse for a model)"""
    model_calls: int = 0
    """model calls the decision took (counted against the budget)"""
    notes: list[str] = field(default_factory=list)
    """what the decider concluded besides its actions, recorded with the policy's verdicts"""
    targets: list[TargetRecord] = field(default_factory=list)
    """a script step's targets and where their points came from"""
    replay: ReplayRecord | None = None
    """a replayed step: the recorded step it repeats and the replay's verdict"""


class UnusableAnswer(ModelError):
    """A ModelError with the partial decision (prompt and raw answer) it was raised on."""

    def __init__(self, cause: ModelError, partial: Decision) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.partial = partial

    @property
    def kind(self) -> str:
        return type(self.cause).__name__


class Decider(Protocol):
    source: Source

    def frame_for(self, width: int, height: int) -> ModelFrame:
        """The frame a ``width`` x ``height`` capture is shown in."""
        ...

    def decide(self, situation: Situation) -> Decision:
        """The actions for ``situation``. Raises ModelError (UnusableAnswer with what it had)."""
        ...


#: model types (config.json) each style's model family has; a style not listed accepts any
STYLE_MODEL_TYPES: dict[str, frozenset[str]] = {
    "qwen25vl": frozenset({"qwen2_5_vl"}),
    "qwen25vl-grounding": frozenset({"qwen2_5_vl"}),
    "uitars15": frozenset({"qwen2_5_vl"}),
    "qwen2vl": frozenset({"qwen2_vl"}),
    "uitars": frozenset({"qwen2_vl"}),
    "qwen3vl": frozenset({"qwen3_vl", "qwen3_vl_moe"}),
    "ui-venus": frozenset({"qwen2_5_vl"}),
    "holo": frozenset({"qwen2_5_vl"}),
    "gta1": frozenset({"qwen2_5_vl"}),
    "gui-owl": frozenset({"qwen3_vl", "qwen3_vl_moe"}),
}  # opencua: its own remote-code model type, not checked


def check_grid(backend: Backend, style: Style) -> None:
    """Refuse a backend that resizes to another grid than the style's family."""
    if backend.factor != style.factor:
        raise ConfigurationError(
            f"the backend resizes to multiples of {backend.factor} but style {style.name} "
            f"is for a family that uses {style.factor}: build both for the same family"
        )


def check_family(backend: Backend, style: Style) -> None:
    """Refuse a backend and a style of different model families (ConfigurationError): the
    answers would be read in the wrong coordinate space."""
    check_grid(backend, style)
    model_type = getattr(backend, "model_type", None)
    wanted = STYLE_MODEL_TYPES.get(style.name)
    if model_type is not None and wanted is not None and model_type not in wanted:
        raise ConfigurationError(
            f"{backend.model} is a {model_type} model, but style {style.name} is for "
            f"{' or '.join(sorted(wanted))}: its coordinates would be read in the wrong space"
        )


class ModelDecider:
    """Asks a vision-language model: the style builds the prompt and reads the answer, the
    backend runs the model. Refuses a backend and a style of different families."""

    source: Source = "model"

    def __init__(self, backend: Backend, style: Style) -> None:
        check_family(backend, style)
        self.backend = backend
        self.style = style

    def frame_for(self, width: int, height: int) -> ModelFrame:
        return self.backend.frame_for(width, height)

    def decide(self, situation: Situation) -> Decision:
        image = situation.screenshot.image
        start = time.perf_counter()
        messages = self.style.messages(
            situation.instruction, situation.frame, image, situation.past, situation.feedback
        )
        prompted = time.perf_counter()
        completion = self.backend.complete(messages, situation.frame)
        answered = time.perf_counter()
        decision = Decision(
            actions=[],
            frame=completion.frame,
            messages=messages,
            raw_output=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            timings={"prompt": prompted - start, "model": answered - prompted},
            model_calls=1,
        )
        try:
            actions = self.style.parse(completion.text)
        except ModelError as exc:
            raise UnusableAnswer(exc, decision) from exc
        parse = time.perf_counter() - answered
        return replace(decision, actions=actions, timings={**decision.timings, "parse": parse})
