"""HiDPI for real: captures with more pixels than pyautogui's units (Retina 2x, Windows
1.25/1.5) are detected per monitor, converted in the one conversion function, and the click
lands on the button. The platform's scaled capture is emulated by upscaling Xvfb's pixels
inside Screen._grab; everything else (mss, detection, conversion, pyautogui) is the real path."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from actions.executor import PyAutoGUIExecutor
from agent.chat import Message
from agent.errors import ConfigurationError
from agent.geometry import ModelFrame, Point, to_model
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.screen.capture import Screen
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.testing.tk_app import TkApp

pytestmark = pytest.mark.gui


class ScaledCaptureScreen(Screen):
    """A monitor whose captures have ``factor`` physical pixels per screen unit."""

    def __init__(self, factor: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = factor

    def _grab(self, info: dict[str, Any]) -> Image.Image:
        image = super()._grab(info)
        size = (round(image.width * self.factor), round(image.height * self.factor))
        return image.resize(size, Image.Resampling.NEAREST)


@pytest.mark.parametrize("factor", [2.0, 1.5, 1.25])
def test_clicks_land_on_scaled_captures(
    virtual_display: Any, tmp_path: Path, factor: float
) -> None:
    display = virtual_display(1280, 800)  # 2560x1600 captures at 2x, like a 13" Retina
    app = TkApp.launch(display.env, tmp_path / "app.json", x=900, y=600)
    try:
        cx, cy = app.center("ok")

        def answer(messages: Sequence[Message], frame: ModelFrame) -> str:
            # the model sees the scaled capture; it points at the button in that image
            image = messages[-1].images[0]
            assert image.size == (round(1280 * factor), round(800 * factor))
            fx, fy = (cx + 0.5) * factor / image.width, (cy + 0.5) * factor / image.height
            args = {
                "action": "left_click",
                "coordinate": [round(fx * frame.width), round(fy * frame.height)],
            }
            return (
                "<tool_call>"
                + json.dumps({"name": "computer_use", "arguments": args})
                + "</tool_call>"
            )

        screen = ScaledCaptureScreen(factor, display=display.name)
        backend = ScriptedBackend(answer, max_pixels=1280 * 28 * 28)
        executor = PyAutoGUIExecutor(settle_s=0.05, display=display.name)
        agent = Agent(backend, Qwen25VLComputerUse(), executor, screen, max_steps=1)
        result = agent.run("Click OK")
        step = result.history[0].record
        assert step.error is None, step.error
        assert step.monitor.scale == factor and step.monitor.width == 1280
        assert (step.frame.source_width, step.frame.source_height) == (
            round(1280 * factor),
            round(800 * factor),
        )
        state = app.wait_for(lambda s: s["clicks"]["ok"] == 1, 10, "the OK button clicked")
        x, y, w, h = app.widget("ok")
        assert x <= state["last_click"]["x_root"] < x + w
        assert y <= state["last_click"]["y_root"] < y + h
        executed = step.executed[0].point  # type: ignore[union-attr]
        assert executed is not None and abs(executed.x - cx) <= 1 and abs(executed.y - cy) <= 1
        screen.close()
    finally:
        app.close()


def test_a_scale_that_disagrees_with_the_capture_is_a_configuration_error(
    virtual_display: Any,
) -> None:
    display = virtual_display(800, 600)
    with Screen(display=display.name, scale=2.0) as screen:
        with pytest.raises(ConfigurationError, match="scale 2 does not fit .* scale 1"):
            screen.capture()
    with Screen(display=display.name, scale=1.0) as screen:
        assert screen.capture().monitor.scale == 1.0  # a scale that fits is taken as given


def test_scale_override_and_model_space_inverse(virtual_display: Any) -> None:
    display = virtual_display(800, 600)
    with Screen(display=display.name) as screen:
        shot = screen.capture()
        assert shot.monitor.scale == 1.0
        frame = ModelFrame.for_image(*shot.image.size)
        p = to_model(Point.screen(400, 300), frame, shot.monitor)
        assert (round(p.x), round(p.y)) == (frame.width // 2, frame.height // 2)
