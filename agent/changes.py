"""Where a capture differs from the one before it, carried by the image itself.

:class:`agent.screen.Screen` compares each capture with the last one in the platform's raw
pixels (cheaper than comparing images) and notes the box that changed on the new image;
:class:`agent.models.resize.Resizer` then redoes only that region. The note names the previous
image by a weak reference, so it never keeps an old capture alive, and it is trusted only for
that very image object.
"""

from __future__ import annotations

import weakref

from PIL import Image

__all__ = ["changed_since", "note_change"]

_KEY = "gui_agent_changed"


def note_change(
    image: Image.Image, previous: Image.Image, box: tuple[int, int, int, int] | None
) -> None:
    """Note on ``image`` that it equals ``previous`` outside ``box`` (None: equal everywhere)."""
    image.info[_KEY] = (weakref.ref(previous), box)


def changed_since(
    image: Image.Image, previous: Image.Image
) -> tuple[bool, tuple[int, int, int, int] | None]:
    """``(known, box)``: whether ``image`` carries a note about ``previous``, and its box."""
    note = image.info.get(_KEY)
    if note is None or note[0]() is not previous:
        return False, None
    return True, note[1]
