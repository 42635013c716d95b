"""What a style is: a prompt, a parser and the coordinate space its answers are in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL.Image import Image

from actions.schema import Action
from agent.chat import Message
from agent.geometry import CoordinateSpace, ModelFrame

__all__ = ["PastStep", "Style"]


@dataclass(frozen=True)
class PastStep:
    """A step already taken, as the next prompt shows it to the model."""

    actions: tuple[Action, ...]
    """What was done, in the model's coordinate space."""
    image: Image | None = None
    """The screenshot the step was decided on (used when the style shows past screenshots)."""


class Style(Protocol):
    """Prompt + parser + coordinate space of one model family. Stateless."""

    name: str
    space: CoordinateSpace

    def messages(
        self,
        instruction: str,
        frame: ModelFrame,
        screenshot: Image,
        history: Sequence[PastStep],
        feedback: str | None = None,
    ) -> list[Message]:
        """The chat for one decision. ``feedback`` says why the previous answer was refused."""
        ...

    def parse(self, text: str) -> list[Action]:
        """The actions in ``text``, in this style's space. Raises ParseError."""
        ...

    def render(self, action: Action) -> str:
        """``action`` (in this style's space) written the way the model writes it."""
        ...
