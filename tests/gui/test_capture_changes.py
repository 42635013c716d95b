"""Screen converts only the rows that changed since its last capture, and the image is exactly
what a full conversion gives; the noted change lets the resizer stay bit-identical."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import Image

from agent.changes import changed_since
from agent.geometry import ModelFrame
from agent.models.resize import Resizer, resize_to
from agent.screen import Screen
from agent.testing.xvfb import VirtualDisplay

pytestmark = pytest.mark.gui


def test_incremental_captures_equal_full_conversions(
    virtual_display: Callable[..., VirtualDisplay], tk_app: Callable[..., object],
    xdotool: Callable[..., None],
) -> None:  # fmt: skip
    display = virtual_display(800, 600)
    app = tk_app(display, x=200, y=150)
    frame = ModelFrame.for_image(800, 600, max_pixels=200704)
    resizer = Resizer()
    with Screen(display=display.name) as screen, Screen(display=display.name) as fresh:
        previous = screen.capture().image
        resizer.resize(previous, frame)
        cx, cy = app.center("ok")  # type: ignore[attr-defined]
        for step in range(4):
            if step % 2 == 0:
                xdotool(display, "mousemove", str(cx), str(cy), "click", "1")
            shot = screen.capture().image
            fresh._last = None  # a full BGRX conversion, as every capture did before
            full = fresh.capture().image
            assert shot.tobytes() == full.tobytes()
            known, box = changed_since(shot, previous)
            assert known
            if box is not None:
                outside = Image.new("RGB", shot.size)
                outside.paste(previous)
                outside.paste(shot.crop(box), box[:2])
                assert outside.tobytes() == shot.tobytes()  # nothing changed outside the box
            assert resizer.resize(shot, frame).tobytes() == resize_to(shot, frame).tobytes()
            previous = shot
