"""Screen converts only the rows that changed since its last capture, and the image is exactly
what a full conversion of mss's own grab gives, whether the pixels are read in place from mss's
shared memory or taken from its grab; the noted change lets the resizer stay bit-identical."""

from __future__ import annotations

from collections.abc import Callable

import mss
import pytest
from PIL import Image

import agent.screen.capture
from agent.geometry import ModelFrame
from agent.models.resize import Resizer, resize_to
from agent.screen.capture import Screen
from agent.screen.changes import changed_since
from agent.screen.xvfb import VirtualDisplay

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("in_place", [True, False], ids=["shared-memory", "mss-grab"])
def test_incremental_captures_equal_full_conversions(
    virtual_display: Callable[..., VirtualDisplay], tk_app: Callable[..., object],
    xdotool: Callable[..., None], monkeypatch: pytest.MonkeyPatch, in_place: bool,
) -> None:  # fmt: skip
    display = virtual_display(800, 600)
    app = tk_app(display, x=200, y=150)
    frame = ModelFrame.for_image(800, 600, max_pixels=200704)
    resizer = Resizer()
    if not in_place:  # as on a platform or mss version without the shared segment
        monkeypatch.setattr(agent.screen.capture, "shared_pixels", lambda sct, monitor: None)
    with Screen(display=display.name) as screen, mss.MSS(display=display.name) as sct:
        previous = screen.capture().image
        read_in_place = vars(agent.screen.capture)["shared_pixels"]  # what Screen calls
        assert (read_in_place(screen._sct, sct.monitors[1]) is not None) == in_place
        resizer.resize(previous, frame)
        cx, cy = app.center("ok")  # type: ignore[attr-defined]
        boxes = []
        for step in range(4):
            if step % 2 == 0:
                xdotool(display, "mousemove", str(cx), str(cy), "click", "1")
            shot = screen.capture().image
            grab = sct.grab(sct.monitors[1])  # mss's own grab, converted whole
            full = Image.frombytes("RGB", grab.size, grab.raw, "raw", "BGRX")
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
            boxes.append(box)
        assert any(box is not None for box in boxes)  # the clicks changed the app
    # (closing mss's segment raises BufferError while an array still uses it)


def test_a_screen_closes_while_an_error_still_holds_the_shared_pixels(
    virtual_display: Callable[..., VirtualDisplay],
) -> None:
    display = virtual_display(320, 200)
    screen = Screen(display=display.name)
    screen.capture()

    def interrupted(pixels: object, shared: bool) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the capture is converted

    screen._frames.image = interrupted  # type: ignore[method-assign,assignment]
    with pytest.raises(KeyboardInterrupt) as caught:
        screen.capture()
    held = caught.value.__traceback__  # its frames still hold mss's shared segment
    screen.close()  # no BufferError in place of the interrupt
    assert screen._sct._closed and held is not None
