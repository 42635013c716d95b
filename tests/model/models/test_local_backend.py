"""TransformersBackend on the tiny Qwen2.5-VL: the real processor, generate() and frame check."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from actions.executor import DryRunExecutor
from actions.schema import Click
from agent.errors import ConfigurationError, FrameMismatch
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.loop import Agent
from agent.models.openai_backend import OpenAIBackend
from agent.models.scripted import ScriptedBackend
from agent.models.transformers_backend import TransformersBackend
from agent.screen.capture import ImageScreen
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.styles.registry import make_style
from agent.testing.tiny_qwen import build_tiny_qwen2vl, build_tiny_qwen25vl, script_answer

pytestmark = pytest.mark.model

ANSWER = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    '"coordinate": [658, 364]}}\n</tool_call>'
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny") / "ckpt", answer=ANSWER)


@pytest.mark.parametrize(
    "size,max_pixels",
    [
        ((1366, 768), 12845056),
        ((1920, 1080), 1280 * 28 * 28),
        ((2560, 1440), 600_000),
        ((300, 40), 12845056),
        ((4000, 200), 256 * 28 * 28),
    ],
)
def test_answer_and_frame(checkpoint: Path, size: tuple[int, int], max_pixels: int) -> None:
    backend = TransformersBackend(str(checkpoint), max_pixels=max_pixels)
    style = Qwen25VLComputerUse()
    image = Image.new("RGB", size, (30, 60, 90))
    frame = backend.frame_for(*size)
    assert frame == ModelFrame.for_image(*size, max_pixels=max_pixels)
    completion = backend.complete(style.messages("Click OK", frame, image, []), frame)
    assert completion.text == ANSWER
    assert completion.frame == frame
    assert completion.prompt_tokens is not None and completion.prompt_tokens > frame.visual_tokens
    assert style.parse(completion.text) == [
        Click(point=Point(x=658, y=364, space=CoordinateSpace.RESIZED))
    ]


@pytest.mark.parametrize("pixels", [1_003_520, 2_000_000, 4_000_000])
def test_equal_pixel_bounds_give_the_frame_the_official_processor_gives(
    checkpoint: Path, pixels: int
) -> None:
    """min_pixels == max_pixels: Qwen's rule puts 1920x1080 outside one bound (shrunk by floor
    under 2,000,000, grown by ceil over 4,000,000); the model still sees exactly the frame that
    the checkpoint's own processor makes of the original screenshot (it saw 1904x1064 and
    2660x1484, a FrameMismatch, while the processor kept the pre-resize's bounds)."""
    from transformers import AutoProcessor

    image = Image.new("RGB", (1920, 1080), (30, 60, 90))
    official = AutoProcessor.from_pretrained(str(checkpoint)).image_processor
    official.size = {"shortest_edge": pixels, "longest_edge": pixels}
    _, rows, columns = official(images=[image], return_tensors="pt")["image_grid_thw"][0].tolist()
    patch = int(official.patch_size)
    backend = TransformersBackend(str(checkpoint), min_pixels=pixels, max_pixels=pixels)
    frame = backend.frame_for(1920, 1080)
    assert (frame.width, frame.height) == (columns * patch, rows * patch)
    style = Qwen25VLComputerUse()
    assert backend.complete(style.messages("Click OK", frame, image, []), frame).frame == frame


def test_generation_is_deterministic_without_a_script(tmp_path: Path) -> None:
    directory = build_tiny_qwen25vl(tmp_path / "free")
    backend = TransformersBackend(str(directory), max_pixels=200_000, max_new_tokens=12)
    frame = backend.frame_for(640, 480)
    messages = Qwen25VLComputerUse().messages("x", frame, Image.new("RGB", (640, 480)), [])
    first = backend.complete(messages, frame).text
    assert backend.complete(messages, frame).text == first


def test_a_processor_with_other_bounds_is_a_frame_mismatch(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A processor that does not take the bounds it is given (another version's attributes)."""
    backend = TransformersBackend(str(checkpoint), max_pixels=1280 * 28 * 28)
    backend.processor.image_processor.size = {"shortest_edge": 3136, "longest_edge": 500_000}
    monkeypatch.setattr(backend, "_bound_processor", lambda low, high: None)
    frame = backend.frame_for(1920, 1080)
    messages = Qwen25VLComputerUse().messages("x", frame, Image.new("RGB", (1920, 1080)), [])
    with pytest.raises(FrameMismatch, match="the model saw"):
        backend.complete(messages, frame)


def test_missing_model_directory_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="model directory not found"):
        TransformersBackend(str(tmp_path / "nope"))
    with pytest.raises(ConfigurationError, match="cannot load model"):
        TransformersBackend(str(tmp_path))  # exists, but holds no checkpoint
    with pytest.raises(ConfigurationError, match="min_pixels"):
        TransformersBackend(str(tmp_path), min_pixels=10, max_pixels=5)


def test_rescripting_changes_the_answer(tmp_path: Path) -> None:
    directory = build_tiny_qwen25vl(tmp_path / "c", answer="first")
    script_answer(directory, "second")
    backend = TransformersBackend(str(directory), max_pixels=100_000)
    frame = backend.frame_for(320, 240)
    messages = Qwen25VLComputerUse().messages("x", frame, Image.new("RGB", (320, 240)), [])
    assert backend.complete(messages, frame).text == "second"


def test_model_type_is_the_checkpoint_family(checkpoint: Path) -> None:
    backend = TransformersBackend(str(checkpoint), max_pixels=100_000)
    assert backend.model_type == "qwen2_5_vl"
    assert backend.model_type == backend.net.config.model_type
    with pytest.raises(AttributeError):
        setattr(backend, "model_type", "qwen3_vl")  # noqa: B010 (read-only: a property)
    assert backend.model_type == "qwen2_5_vl"


def test_other_backends_say_whether_they_know_the_family() -> None:
    assert ScriptedBackend(["x"]).model_type is None
    assert ScriptedBackend(["x"], model_type="qwen3_vl").model_type == "qwen3_vl"
    assert OpenAIBackend.model_type is None  # a server does not say (constructing needs openai)


@pytest.fixture(scope="module")
def qwen2vl_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny2") / "ckpt", answer=ANSWER)


def test_agent_refuses_a_style_of_another_family(
    checkpoint: Path, qwen2vl_checkpoint: Path
) -> None:
    image = Image.new("RGB", (640, 480), (30, 60, 90))
    qwen25 = TransformersBackend(str(checkpoint), max_pixels=100_000)
    qwen2 = TransformersBackend(str(qwen2vl_checkpoint), max_pixels=100_000)
    assert (qwen25.model_type, qwen2.model_type) == ("qwen2_5_vl", "qwen2_vl")
    refused = [(qwen25, "qwen2vl"), (qwen25, "uitars"), (qwen2, "qwen25vl"), (qwen2, "uitars15")]
    for backend, style_name in refused:
        with pytest.raises(ConfigurationError) as error:
            Agent(backend, make_style(style_name), DryRunExecutor(), ImageScreen(image))
        message = str(error.value)
        assert f"style {style_name} " in message
        assert "qwen2_5_vl" in message and "qwen2_vl" in message
    accepted = [
        (qwen25, "qwen25vl"), (qwen25, "qwen25vl-grounding"), (qwen25, "uitars15"),
        (qwen2, "qwen2vl"), (qwen2, "uitars"),
    ]  # fmt: skip
    for backend, style_name in accepted:
        agent = Agent(backend, make_style(style_name), DryRunExecutor(), ImageScreen(image))
        assert agent.backend is backend and agent.style.name == style_name
