"""The backend protocol: messages in, text out, and the frame the model saw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agent.chat import Message
from agent.geometry import ModelFrame

__all__ = ["Backend", "Completion", "PixelBudget"]


@dataclass(frozen=True)
class Completion:
    """One answer of the model."""

    text: str
    frame: ModelFrame
    """The frame of the last image, as the backend actually sent it (checked)."""
    latency_s: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Backend(Protocol):
    """A vision-language model. The backend owns its pixel bounds: :meth:`frame_for` tells the
    style which resolution to state in the prompt, :meth:`complete` resizes images to exactly
    that frame and raises :class:`~agent.errors.FrameMismatch` if the model saw anything else."""

    model: str
    min_pixels: int
    max_pixels: int
    factor: int
    """Side multiple of the resized image (28 for Qwen2/2.5-VL, 32 for Qwen3-VL)."""

    def frame_for(self, width: int, height: int) -> ModelFrame:
        """The frame a ``width`` x ``height`` capture becomes for this model."""
        ...

    def complete(self, messages: Sequence[Message], frame: ModelFrame) -> Completion:
        """Ask the model; ``frame`` is the frame of the last image in ``messages``."""
        ...


class PixelBudget:
    """The frame rule every backend shares: a capture is smart-resized to multiples of
    ``factor`` within ``min_pixels``..``max_pixels`` (:meth:`ModelFrame.for_image`). A backend
    sets the three attributes and inherits :meth:`frame_for`."""

    min_pixels: int
    max_pixels: int
    factor: int

    def frame_for(self, width: int, height: int) -> ModelFrame:
        bounds = {"min_pixels": self.min_pixels, "max_pixels": self.max_pixels}
        return ModelFrame.for_image(width, height, factor=self.factor, **bounds)
