"""Where a capture differs from the one before it, noted beside the image.

:class:`agent.screen.capture.Screen` compares each capture with the last one in the platform's raw
pixels (cheaper than comparing images) and notes the box that changed;
:class:`agent.models.resize.Resizer` then redoes only that region. Notes hold weak references
only (they never keep a capture alive; a note whose image is gone is dropped with the next
one), live outside the image (its ``info`` stays picklable) and are trusted only for those very
two image objects.
"""

from __future__ import annotations

import weakref

from PIL import Image

__all__ = ["changed_since", "note_change"]

Box = tuple[int, int, int, int]
_notes: dict[int, tuple[weakref.ref[Image.Image], weakref.ref[Image.Image], Box | None]] = {}


def note_change(image: Image.Image, previous: Image.Image, box: Box | None) -> None:
    """Note that ``image`` equals ``previous`` outside ``box`` (None: equal everywhere)."""
    # No weakref callbacks: an exception raised by a signal handler (SIGTERM stops a run) while
    # a callback runs would be swallowed. Notes of images that are gone are dropped here.
    for key in [k for k, note in _notes.items() if note[0]() is None]:
        del _notes[key]
    _notes[id(image)] = (weakref.ref(image), weakref.ref(previous), box)


def changed_since(image: Image.Image, previous: Image.Image) -> tuple[bool, Box | None]:
    """``(known, box)``: whether a note says how ``image`` differs from ``previous``; the box."""
    note = _notes.get(id(image))
    if note is None or note[0]() is not image or note[1]() is not previous:
        return False, None
    return True, note[2]
