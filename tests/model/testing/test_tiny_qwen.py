"""The tiny Qwen2.5-VL and Qwen2-VL checkpoints load and answer through the real transformers
path."""

from __future__ import annotations

import json
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from actions.schema import Click  # noqa: E402
from agent.geometry import CoordinateSpace, ModelFrame, Point  # noqa: E402
from agent.models.torch_compat import prepare_torchvision  # noqa: E402
from agent.models.transformers_backend import TransformersBackend  # noqa: E402
from agent.styles.registry import make_style  # noqa: E402
from agent.testing.tiny_qwen import (  # noqa: E402
    SPECIAL_TOKENS,
    build_tiny_qwen2vl,
    build_tiny_qwen25vl,
    script_answer,
)

prepare_torchvision()  # before anything imports the Qwen2.5-VL processor or qwen_vl_utils
import qwen_vl_utils  # noqa: E402
import transformers  # noqa: E402

pytestmark = pytest.mark.model

# transformers >= 5.18 warns on every processor call once min_pixels/max_pixels were given to
# AutoProcessor.from_pretrained (the way the Qwen2.5-VL README loads it); the bounds still apply.
PIXELS_KWARGS_DEPRECATED = pytest.mark.filterwarnings(
    "ignore:Passing `min_pixels` and `max_pixels` to a processor call is deprecated:FutureWarning"
)

MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28
GENERATION = "generation_config.json"
TOOL_CALL = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    '"coordinate": [658, 364]}}\n</tool_call>'
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tiny") / "Qwen2.5-VL-tiny"
    return build_tiny_qwen25vl(directory, answer=TOOL_CALL)


@pytest.fixture(scope="module")
def tiny2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tiny2") / "Qwen2-VL-tiny"
    return build_tiny_qwen2vl(directory, answer=TOOL_CALL)


def screenshot(width: int = 1920, height: int = 1080) -> Image.Image:
    image = Image.new("RGB", (width, height), (40, 70, 110))
    ImageDraw.Draw(image).rectangle(
        (width // 3, height // 3, width // 3 + width // 20, height // 3 + height // 20),
        fill=(220, 30, 30),
    )
    return image


def chat(image: Image.Image, min_pixels: int, max_pixels: int) -> list[dict[str, Any]]:
    item = {"type": "image", "image": image, "min_pixels": min_pixels, "max_pixels": max_pixels}
    return [{"role": "user", "content": [item, {"type": "text", "text": "Click the red box."}]}]


def run_chat(directory: Path, model_class: Any = None) -> str:
    processor = transformers.AutoProcessor.from_pretrained(
        directory, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS
    )
    model = (model_class or transformers.Qwen2_5_VLForConditionalGeneration).from_pretrained(
        directory
    )
    messages = chat(screenshot(), MIN_PIXELS, MAX_PIXELS)
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images, videos = qwen_vl_utils.process_vision_info(messages)
    inputs = processor(text=[text], images=images, videos=videos, padding=True, return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=128)
    new_tokens = output[0, inputs["input_ids"].shape[1] :]
    assert int(new_tokens[-1]) == processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    return str(processor.decode(new_tokens, skip_special_tokens=True))


@PIXELS_KWARGS_DEPRECATED
@pytest.mark.parametrize(
    "answer",
    [TOOL_CALL, "Grüße, 東京 <ok>", "a , b . it 's  two  spaces\tand\na 🙂 ,", ""],
    ids=["tool-call", "non-ascii", "spacing", "empty"],
)
def test_generate_returns_the_scripted_answer(tiny_dir: Path, answer: str) -> None:
    script_answer(tiny_dir, answer)
    assert run_chat(tiny_dir) == answer


@PIXELS_KWARGS_DEPRECATED
def test_script_answer_rescripts_and_auto_class_loads(tiny_dir: Path) -> None:
    def files() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in tiny_dir.iterdir() if p.name != GENERATION}

    before = files()
    script_answer(tiny_dir, "first")
    assert run_chat(tiny_dir, transformers.AutoModelForImageTextToText) == "first"
    script_answer(tiny_dir, TOOL_CALL)
    assert run_chat(tiny_dir, transformers.AutoModelForImageTextToText) == TOOL_CALL
    assert files() == before


def test_generation_config_is_official_style(tiny_dir: Path) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_dir)
    script_answer(tiny_dir, None)
    config = json.loads((tiny_dir / GENERATION).read_text(encoding="utf-8"))
    im_end, end_of_text = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    assert config == {
        "bos_token_id": end_of_text,
        "pad_token_id": end_of_text,
        "eos_token_id": [im_end, end_of_text],
        "do_sample": False,
    }
    assert tokenizer.convert_tokens_to_ids("<|image_pad|>") == im_end + 10
    official = {
        "config.json", "model.safetensors", "preprocessor_config.json", "vocab.json", "merges.txt",
        "tokenizer.json", "tokenizer_config.json", "chat_template.json", GENERATION,
    }  # fmt: skip
    assert {p.name for p in tiny_dir.iterdir()} == official
    assert (tiny_dir / "model.safetensors").stat().st_size < 1_000_000
    with pytest.raises(ValueError, match="NFC"):
        script_answer(tiny_dir, "Gru\u0308sse")
    with pytest.raises(ValueError, match="special"):
        script_answer(tiny_dir, "done<|im_end|>")


@pytest.mark.parametrize(
    ("size", "max_pixels"),
    [
        ((1920, 1080), MAX_PIXELS),
        ((1920, 1080), 1280 * 28 * 28),
        ((1366, 768), 1280 * 28 * 28),
        ((4000, 200), 256 * 28 * 28),
        ((640, 480), 2048 * 28 * 28),
    ],
)
@PIXELS_KWARGS_DEPRECATED
def test_image_frame_matches_smart_resize(
    tiny_dir: Path, size: tuple[int, int], max_pixels: int
) -> None:
    processor = transformers.AutoProcessor.from_pretrained(
        tiny_dir, min_pixels=MIN_PIXELS, max_pixels=max_pixels
    )
    width, height = size
    expected = qwen_vl_utils.smart_resize(
        height, width, 28, min_pixels=MIN_PIXELS, max_pixels=max_pixels
    )
    messages = chat(screenshot(width, height), MIN_PIXELS, max_pixels)
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    resized, _ = qwen_vl_utils.process_vision_info(messages)
    raw = [screenshot(width, height)]
    for images in (resized, raw):
        inputs = processor(text=[text], images=images, return_tensors="pt")
        frame = tuple(int(v) * 14 for v in inputs["image_grid_thw"][0][1:])
        assert frame == expected


def test_preprocessor_config_bounds_apply_without_kwargs(tmp_path: Path) -> None:
    directory = build_tiny_qwen25vl(tmp_path / "capped", max_pixels=1280 * 28 * 28)
    processor = transformers.AutoProcessor.from_pretrained(directory)
    text = "<|vision_start|><|image_pad|><|vision_end|>"
    inputs = processor(text=[text], images=[screenshot()], return_tensors="pt")
    assert [int(v) * 14 for v in inputs["image_grid_thw"][0][1:]] == [728, 1316]


def test_chat_template_renders_qwen_format(tiny_dir: Path) -> None:
    processor = transformers.AutoProcessor.from_pretrained(tiny_dir)
    image = {"type": "image", "image": screenshot(64, 64)}
    rendered = processor.apply_chat_template(
        [
            {"role": "user", "content": [image, {"type": "text", "text": "where?"}]},
            {"role": "assistant", "content": "there"},
        ],
        tokenize=False,
    )
    assert rendered == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>where?<|im_end|>\n"
        "<|im_start|>assistant\nthere<|im_end|>\n"
    )
    with_system = processor.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert with_system == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_unscripted_model_still_generates(tmp_path: Path) -> None:
    directory = build_tiny_qwen25vl(tmp_path / "random", seed=1)
    processor = transformers.AutoProcessor.from_pretrained(directory)
    model = transformers.Qwen2_5_VLForConditionalGeneration.from_pretrained(directory)
    text = processor.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    inputs = processor(text=[text], return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=4)
    assert 1 <= output.shape[1] - inputs["input_ids"].shape[1] <= 4


def test_prepare_torchvision_is_idempotent() -> None:
    import torch

    prepare_torchvision()
    prepare_torchvision()
    import torchvision
    import torchvision.transforms  # noqa: F401

    assert sys.modules["torchvision"] is torchvision
    assert hasattr(torch.ops.torchvision, "nms")
    prepare_torchvision()
    assert sys.modules["torchvision"] is torchvision


def test_prepare_torchvision_cleans_up_after_a_failed_import() -> None:
    """In a fresh interpreter: a failed ``import torchvision`` first, then the repair."""
    script = """
import sys
try:
    import torchvision
    broken = False
except RuntimeError as error:
    broken = True
    assert "torchvision::nms" in str(error), error
from agent.models.torch_compat import prepare_torchvision
prepare_torchvision()
prepare_torchvision()
assert broken == ("torchvision" not in sys.modules), sorted(sys.modules)
assert not [m for m in sys.modules if m.startswith("torchvision.")] or not broken
import torchvision
from transformers import AutoProcessor
import qwen_vl_utils
print("ok", broken)
"""
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


# ---- the Qwen2-VL checkpoint (the family of the qwen2vl and uitars styles)

# the keys of Qwen/Qwen2-VL-2B-Instruct's vision_config (hidden_act is left at quick_gelu)
QWEN2VL_VISION_KEYS = {
    "depth", "embed_dim", "mlp_ratio", "num_heads", "in_chans", "hidden_size", "patch_size",
    "spatial_merge_size", "temporal_patch_size",
}  # fmt: skip


def test_qwen2vl_checkpoint_has_the_official_layout(tiny_dir: Path, tiny2_dir: Path) -> None:
    def read(directory: Path, name: str) -> Any:
        return json.loads((directory / name).read_text(encoding="utf-8"))

    assert {p.name for p in tiny2_dir.iterdir()} == {p.name for p in tiny_dir.iterdir()}
    assert (tiny2_dir / "model.safetensors").stat().st_size < 1_000_000
    config = read(tiny2_dir, "config.json")
    assert config["model_type"] == "qwen2_vl"
    assert config["architectures"] == ["Qwen2VLForConditionalGeneration"]
    assert config["rope_scaling"] == {"type": "mrope", "mrope_section": [2, 3, 3]}
    vision = config["vision_config"]
    assert set(vision) == QWEN2VL_VISION_KEYS
    assert vision["hidden_size"] == config["hidden_size"]
    assert (vision["patch_size"], vision["spatial_merge_size"]) == (14, 2)
    preprocessor = read(tiny2_dir, "preprocessor_config.json")
    assert preprocessor["processor_class"] == "Qwen2VLProcessor"
    assert preprocessor["image_processor_type"] == "Qwen2VLImageProcessor"
    assert (preprocessor["min_pixels"], preprocessor["max_pixels"]) == (3136, 12845056)
    assert read(tiny2_dir, "tokenizer_config.json")["model_max_length"] == 32768
    for shared in ("tokenizer.json", "vocab.json", "merges.txt", "chat_template.json"):
        assert (tiny2_dir / shared).read_bytes() == (tiny_dir / shared).read_bytes()
    for key in ("bos_token_id", "eos_token_id", "image_token_id", "vocab_size"):
        assert config[key] == read(tiny_dir, "config.json")[key]

    loaded = transformers.AutoConfig.from_pretrained(tiny2_dir)
    assert type(loaded).__name__ == "Qwen2VLConfig"
    assert (loaded.vision_config.embed_dim, loaded.vision_config.in_channels) == (32, 3)
    processor = transformers.AutoProcessor.from_pretrained(tiny2_dir)
    assert type(processor).__name__ == "Qwen2VLProcessor"
    assert processor.tokenizer.convert_tokens_to_ids("<|image_pad|>") == config["image_token_id"]


@PIXELS_KWARGS_DEPRECATED
@pytest.mark.parametrize(
    "answer", [TOOL_CALL, "Grüße, 東京 <ok>", ""], ids=["tool", "utf8", "empty"]
)
def test_qwen2vl_generate_returns_the_scripted_answer(tiny2_dir: Path, answer: str) -> None:
    script_answer(tiny2_dir, answer)
    assert run_chat(tiny2_dir, transformers.AutoModelForImageTextToText) == answer
    script_answer(tiny2_dir, TOOL_CALL)
    assert run_chat(tiny2_dir, transformers.Qwen2VLForConditionalGeneration) == TOOL_CALL


@pytest.mark.parametrize(
    ("style_name", "size", "max_pixels"),
    [
        ("qwen2vl", (1920, 1080), 1280 * 28 * 28),
        ("qwen2vl", (1366, 768), 12845056),
        ("uitars", (2560, 1440), 600_000),
        ("uitars", (4000, 200), 256 * 28 * 28),
    ],
)
def test_qwen2vl_through_the_transformers_backend(
    tiny2_dir: Path, style_name: str, size: tuple[int, int], max_pixels: int
) -> None:
    style = make_style(style_name)
    point = Point(x=417, y=583, space=CoordinateSpace.REL1000)
    answer = style.render(Click(point=point))
    for token in SPECIAL_TOKENS:  # decoding with skip_special_tokens drops them
        answer = answer.replace(token, "")
    script_answer(tiny2_dir, answer)  # read when the backend loads the checkpoint
    try:
        backend = TransformersBackend(str(tiny2_dir), max_pixels=max_pixels)
    finally:
        script_answer(tiny2_dir, TOOL_CALL)
    assert backend.model_type == "qwen2_vl"
    assert type(backend.net).__name__ == "Qwen2VLForConditionalGeneration"
    width, height = size
    frame = backend.frame_for(width, height)
    assert frame == ModelFrame.for_image(width, height, max_pixels=max_pixels)
    expected = qwen_vl_utils.smart_resize(
        height, width, 28, min_pixels=backend.min_pixels, max_pixels=max_pixels
    )
    assert (frame.height, frame.width) == expected
    # the processor's own grid for the raw capture is the smart_resize frame too
    grid = backend.processor(
        text=["<|vision_start|><|image_pad|><|vision_end|>"],
        images=[screenshot(width, height)],
        return_tensors="pt",
    )["image_grid_thw"][0]
    assert (int(grid[1]) * 14, int(grid[2]) * 14) == expected

    messages = style.messages("Click the red box.", frame, screenshot(width, height), [])
    completion = backend.complete(messages, frame)  # raises FrameMismatch on another grid
    assert completion.text == answer
    assert completion.frame == frame
    assert completion.prompt_tokens is not None and completion.prompt_tokens > frame.visual_tokens
    assert style.parse(completion.text)[0] == Click(point=point)  # the grounding style ends
