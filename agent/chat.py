"""Chat messages as styles build them and backends consume them (text and images in order)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PIL.Image import Image

__all__ = ["Message", "Role"]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat turn: text parts and images, in order.

    Images are the captures as taken; the backend resizes them to its frame (it owns the bounds).
    """

    role: Role
    content: tuple[str | Image, ...]

    @property
    def text(self) -> str:
        return "".join(part for part in self.content if isinstance(part, str))

    @property
    def images(self) -> list[Image]:
        return [part for part in self.content if not isinstance(part, str)]
