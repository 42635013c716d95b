"""Values computed from images, kept by the images' identity: what the resizer, the request
encoder and the local model's input builder use so that a history screenshot shown again on
every step is resized, encoded and processed once.

An entry holds its image, so the image's ``id`` cannot be reused by another object while the
entry lives; the last ``size`` entries are kept, the least recently used dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["IdentityCache"]

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """``get(image, variant)`` / ``put(image, variant, value)``; thread-safe."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, Hashable], tuple[object, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, image: object, variant: Hashable = None) -> V | None:
        key = (id(image), variant)
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or hit[0] is not image:
                return None
            self._entries.move_to_end(key)
            return hit[1]

    def put(self, image: object, variant: Hashable, value: V) -> None:
        key = (id(image), variant)
        with self._lock:
            self._entries[key] = (image, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
