"""A family grounding style through the real transformers path: the tiny Qwen2.5-VL answers
GTA1's ``(x,y)`` in the frame it saw (whose size the GTA1 system prompt states), and
:func:`agent.grounding.result.ground` maps it to the image pixel; UI-Venus' box likewise."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from agent.decision import UnusableAnswer
from agent.errors import NotFound
from agent.geometry import ModelFrame
from agent.grounding.result import ground
from agent.models.transformers_backend import TransformersBackend
from agent.styles.registry import make_style
from agent.testing.tiny_qwen import build_tiny_qwen25vl

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny-family") / "ckpt", answer="(322,238)")


def test_gta1_point_through_the_tiny_model(checkpoint: Path) -> None:
    style = make_style("gta1")
    backend = TransformersBackend(
        str(checkpoint), min_pixels=style.min_pixels, max_pixels=style.max_pixels
    )
    image = Image.new("RGB", (640, 480), (30, 60, 90))
    frame = backend.frame_for(640, 480)
    assert (frame.width, frame.height) == (644, 476)
    system = style.grounding_messages("OK", frame, image)[0].text
    assert "The image resolution is height 476 and width 644." in system
    result = ground(image, "the OK button", backend, style)
    assert result.raw_output == "(322,238)"
    assert result.point == (320, 240)  # the centre of the 644x476 frame: the image's centre


def test_ui_venus_box_and_refusal_through_the_tiny_model(tmp_path: Path) -> None:
    style = make_style("ui-venus")
    image = Image.new("RGB", (640, 480), (30, 60, 90))
    frame = ModelFrame.for_image(640, 480, min_pixels=2_000_000, max_pixels=4_800_000)
    assert frame.width > 640  # the 7B's minimum of 2,000,000 pixels upscales the capture
    box = build_tiny_qwen25vl(tmp_path / "box", answer=f"[0,0,{frame.width},{frame.height}]")
    backend = TransformersBackend(
        str(box), min_pixels=style.min_pixels, max_pixels=style.max_pixels
    )
    assert backend.frame_for(640, 480) == frame
    result = ground(image, "the OK button", backend, style)
    assert result.point == (320, 240) and result.box == (0, 0, 639, 479)
    refusal = build_tiny_qwen25vl(tmp_path / "refusal", answer="[-1,-1]")
    backend = TransformersBackend(
        str(refusal), min_pixels=style.min_pixels, max_pixels=style.max_pixels
    )
    with pytest.raises(UnusableAnswer) as declined:
        ground(image, "the OK button", backend, style)
    assert declined.value.kind == "NotFound" and isinstance(declined.value.cause, NotFound)


@pytest.mark.parametrize(
    "style_name,answer",
    [
        ("opencua", "pyautogui.click(x=322, y=238)"),
        ("holo", '{"action": "click_absolute", "x": 322, "y": 238}'),
    ],
)
def test_a_family_point_through_the_tiny_model(
    tmp_path: Path, style_name: str, answer: str
) -> None:
    """OpenCUA's pyautogui code and Holo1.5's JSON, answered by the real transformers path at
    the centre of the 644x476 frame it saw: the image's centre."""
    style = make_style(style_name)
    checkpoint = build_tiny_qwen25vl(tmp_path / style_name, answer=answer)
    backend = TransformersBackend(
        str(checkpoint), min_pixels=style.min_pixels, max_pixels=style.max_pixels
    )
    image = Image.new("RGB", (640, 480), (30, 60, 90))
    result = ground(image, "the OK button", backend, style)
    assert result.raw_output == answer
    assert result.point == (320, 240)
