"""A real vLLM (its CPU build, in its own environment) serving a tiny Qwen2.5-VL, driven through
our OpenAI-compatible backend, ``gui-agent ground`` and the agent loop.

One ``vllm serve`` per module (about 40 s to start, 3.3 GB), started as users start it:
``vllm serve CKPT --host 127.0.0.1 --port P --max-model-len 32768 --limit-mm-per-prompt
'{"image": 5}' --enforce-eager`` (+ the logits processor that applies the checkpoint's scripted
answer). The environment comes from ``.ci/vllm-env``; without it these tests are skipped with one
line locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from actions.executor import DryRunExecutor
from actions.schema import Click
from agent.chat import Message
from agent.decision import STYLE_MODEL_TYPES
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.loop import Agent
from agent.models.openai_backend import OpenAIBackend
from agent.screen.capture import ImageScreen
from agent.styles.registry import STYLE_NAMES, make_style
from agent.testing.tiny_qwen import SPECIAL_TOKENS, build_tiny_qwen25vl_for_vllm, script_answer
from agent.testing.vllm_server import (
    VLLMServer,
    VLLMStartError,
    default_vllm_python,
    vllm_python,
)
from tests.gui.conftest import missing_tool

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[3]
MISSING = f"vLLM environment not found at {default_vllm_python()}: run .ci/vllm-env"
if vllm_python() is None and "CI" not in os.environ:  # in CI the fixture fails every test
    pytest.skip(MISSING, allow_module_level=True)

# --limit-mm-per-prompt: the current screenshot + the 4 past ones uitars15 shows by default (the
# most of any style the Qwen2.5-VL family serves); the README documents the same number.
LIMIT_IMAGES = 5
# 5 screenshots of 1920x1080 are 5 x 2691 visual tokens: more than vLLM's example 8192
MAX_MODEL_LEN = 32768
# the styles of the Qwen2.5-VL family, which the tiny qwen2_5_vl checkpoint serves
SERVED_STYLES = [s for s in STYLE_NAMES if "qwen2_5_vl" in STYLE_MODEL_TYPES.get(s, ())]


def tool_call(x: int, y: int) -> str:
    body = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [x, y]}}
    return f"<tool_call>\n{json.dumps(body)}\n</tool_call>"


CLICK = tool_call(658, 364)


@pytest.fixture(scope="module")
def python() -> Path:
    found = vllm_python()
    if found is None:
        missing_tool(MISSING)
    return found


@pytest.fixture(scope="module")
def checkpoint(python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # preprocessor_config.json bounds = OpenAIBackend's defaults (3136 .. 12845056)
    return build_tiny_qwen25vl_for_vllm(tmp_path_factory.mktemp("vllm") / "tiny", answer=CLICK)


@pytest.fixture(scope="module")
def server(python: Path, checkpoint: Path) -> Iterator[VLLMServer]:
    with VLLMServer(
        checkpoint, python=python, limit_images=LIMIT_IMAGES, max_model_len=MAX_MODEL_LEN
    ) as started:
        rss = started.rss_bytes() / 1e9
        print(f"\nvllm serve ready in {started.startup_s:.1f} s, RSS {rss:.2f} GB")
        yield started


def screenshot(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (30, 60, 90))
    ImageDraw.Draw(image).rectangle((width // 2, height // 2, width // 2 + 80, height // 2 + 30))
    return image


def text_tokens(checkpoint: Path, wire: list[dict[str, Any]]) -> int:
    """Prompt tokens of ``wire`` (OpenAI messages) without the images' visual tokens: the
    checkpoint's chat template and tokenizer, each image's placeholder not counted."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    text = tokenizer.apply_chat_template(wire, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return len(ids) - ids.count(tokenizer.convert_tokens_to_ids("<|image_pad|>"))


@pytest.mark.parametrize(
    "capture,sent",
    [
        ((1316, 728), (1316, 728)),  # multiples of 28 inside the bounds: sent as it is
        ((1920, 1080), (1932, 1092)),  # resized once, by us
    ],
)
def test_the_frame_we_send_is_the_frame_vllm_counts(
    server: VLLMServer, checkpoint: Path, capture: tuple[int, int], sent: tuple[int, int]
) -> None:
    script_answer(checkpoint, CLICK)
    backend = OpenAIBackend(server.base_url, server.served_model)
    frame = backend.frame_for(*capture)
    assert (frame.width, frame.height) == sent
    messages = [
        Message("system", ("You are a helpful assistant.",)),
        Message("user", ("Click the OK button.", screenshot(*capture))),
    ]
    begin = time.perf_counter()
    completion = backend.complete(messages, frame)
    print(f"\n{capture} -> {sent}: {time.perf_counter() - begin:.2f} s")
    assert completion.text == CLICK  # the scripted answer, exactly
    assert completion.frame == frame
    wire, frames = backend.to_openai(messages)
    assert frames == [frame]
    visual = (sent[0] // 28) * (sent[1] // 28)
    assert frame.visual_tokens == visual
    # no second resize: vLLM counted exactly the visual tokens of the frame we sent
    assert completion.prompt_tokens == text_tokens(checkpoint, wire) + visual


def test_gui_agent_ground_through_vllm(
    server: VLLMServer, checkpoint: Path, tmp_path: Path
) -> None:
    # 1920x1080 -> 1932x1092; (1449, 819) there is (1440, 810) in the image (x and y at 3/4)
    script_answer(checkpoint, tool_call(1449, 819))
    image = tmp_path / "shot.png"
    screenshot(1920, 1080).save(image)
    script = Path(sys.executable).with_name("gui-agent")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "agent.cli"]
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            *command, "ground", str(image), "the OK button", "--backend", "openai",
            "--base-url", server.base_url, "--api-model", server.served_model,
            "--style", "qwen25vl",
        ],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["frame"] == [1932, 1092]
    assert result["point"] == [1440, 810]
    assert result["raw_output"] == tool_call(1449, 819)
    assert Path(result["annotated"]).is_file()


class CountingBackend(OpenAIBackend):
    """Remembers how many images each request held."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.images: list[int] = []

    def to_openai(
        self, messages: Sequence[Message]
    ) -> tuple[list[dict[str, Any]], list[ModelFrame]]:
        wire, frames = super().to_openai(messages)
        self.images.append(len(frames))
        return wire, frames


def style_click(style_name: str, frame: ModelFrame) -> str:
    """A click at the centre of ``frame`` as ``style_name`` writes it (no 'done')."""
    style = make_style(style_name)
    assert style.space is CoordinateSpace.RESIZED
    text = style.render(
        Click(point=Point(x=frame.width // 2, y=frame.height // 2, space=style.space))
    )
    for token in SPECIAL_TOKENS:  # decoding skips special tokens
        text = text.replace(token, "")
    return text


@pytest.mark.parametrize("style_name", SERVED_STYLES)
def test_every_style_default_history_fits_the_documented_image_limit(
    server: VLLMServer, checkpoint: Path, style_name: str
) -> None:
    style = make_style(style_name)  # the style's default history_images
    past = getattr(style, "history_images", 0)
    assert 1 + past <= LIMIT_IMAGES
    backend = CountingBackend(
        server.base_url,
        server.served_model,
        min_pixels=style.min_pixels,
        max_pixels=style.max_pixels,
        factor=style.factor,
    )
    frame = backend.frame_for(1920, 1080)
    script_answer(checkpoint, style_click(style_name, frame))
    # grounding styles click, then end the run by themselves
    grounding = style_name in ("qwen25vl-grounding", "ui-venus", "holo", "gta1")
    steps = 1 if grounding else max(3, past + 2)  # past + 2: the history is full at least once
    agent = Agent(
        backend,
        style,
        DryRunExecutor(),
        ImageScreen(screenshot(1920, 1080)),
        max_steps=steps,
        loop_limit=0,  # the same click on an unchanged screen is the script, not a loop
    )
    begin = time.perf_counter()
    result = agent.run("Click the OK button")
    print(f"\n{style_name}: {steps} steps, {time.perf_counter() - begin:.2f} s, {backend.images}")
    errors = [s.record.error for s in result.history if s.record.error]
    assert errors == []  # e.g. no 400 "At most 5 image(s) may be provided in one prompt"
    assert (result.status, result.steps) == (("done", 1) if grounding else ("max_steps", steps))
    assert backend.images == [min(n, past) + 1 for n in range(steps)]
    assert max(backend.images) == 1 + past


def test_a_server_that_cannot_start_says_why(python: Path, checkpoint: Path) -> None:
    server = VLLMServer(checkpoint, python=python, extra_args=["--no-such-flag"])
    with pytest.raises(VLLMStartError, match=r"exited with status [1-9]") as raised:
        server.start()
    assert "--no-such-flag" in str(raised.value)  # the tail of the server's own log
    server.stop()  # idempotent


@pytest.mark.parametrize("prompt", ["grounding", "screenspot-pro"])
def test_an_evaluation_through_vllm(
    server: VLLMServer, checkpoint: Path, tmp_path: Path, prompt: str
) -> None:
    """`gui-agent eval` on the bundled set through vLLM, 2 requests in flight; the Pro prompt's
    prefilled answer is continued by the server (continue_final_message)."""
    from agent.evaluation.benchmarks import load_samples
    from agent.geometry import round_half_away

    script_answer(checkpoint, tool_call(300, 200))
    sample_set = ROOT / "tasks" / "screenspot-sample"
    annotation = sample_set / "sample-browser_linux.json"
    out = tmp_path / prompt
    done = subprocess.run(
        [
            sys.executable, "-m", "agent.cli", "eval", str(annotation), "--images",
            str(sample_set / "images"), "--out", str(out), "--backend", "openai",
            "--base-url", server.base_url, "--api-model", server.served_model, "--limit", "6",
            "--concurrency", "2", "--prompt", prompt, "--no-report",
        ],
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = (out / "results.jsonl").read_text().splitlines()
    records = {r["id"]: r for r in map(json.loads, lines)}
    samples = load_samples([annotation], sample_set / "images", limit=6)
    assert set(records) == {s.id for s in samples}
    for sample in samples:
        record = records[sample.id]
        assert record["raw"] == tool_call(300, 200), record["raw"]
        w, h = sample.image_size
        frame = ModelFrame.for_image(w, h)  # the server's bounds are the backend's defaults
        assert (record["frame"]["width"], record["frame"]["height"]) == (frame.width, frame.height)
        x = round_half_away(300 * w / frame.width)
        y = round_half_away(200 * h / frame.height)
        assert record["point"] == [x, y]
        x1, y1, x2, y2 = sample.box
        assert record["status"] == ("correct" if x1 <= x <= x2 and y1 <= y <= y2 else "wrong")


# the family styles the tiny Qwen2.5-VL checkpoint can serve (Qwen2.5-VL's grid, resized
# pixels): each answer in the family's own format, at the same point of the frame
FAMILY_ANSWERS = {
    "opencua": "pyautogui.click(x=300, y=200)",
    "ui-venus": "[297,198,303,202]",  # a box; its centre (300, 200) is the click
    "holo": '{"action": "click_absolute", "x": 300, "y": 200}',
    "gta1": "(300,200)",
}


@pytest.mark.parametrize("style_name", sorted(FAMILY_ANSWERS))
def test_a_family_style_evaluates_through_vllm(
    server: VLLMServer, checkpoint: Path, tmp_path: Path, style_name: str
) -> None:
    """`gui-agent eval --style S` through vLLM: S's prompt is served, S's answer read, each
    point mapped from S's frame (UI-Venus' minimum pixels upscale: another frame) and scored."""
    from agent.evaluation.benchmarks import load_samples
    from agent.geometry import round_half_away

    script_answer(checkpoint, FAMILY_ANSWERS[style_name])
    style = make_style(style_name)
    sample_set = ROOT / "tasks" / "screenspot-sample"
    annotation = sample_set / "sample-tk_linux.json"
    out = tmp_path / style_name
    done = subprocess.run(
        [
            sys.executable, "-m", "agent.cli", "eval", str(annotation), "--images",
            str(sample_set / "images"), "--out", str(out), "--backend", "openai",
            "--base-url", server.base_url, "--api-model", server.served_model, "--limit", "4",
            "--style", style_name, "--no-report",
        ],
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = (out / "results.jsonl").read_text().splitlines()
    records = {r["id"]: r for r in map(json.loads, lines)}
    samples = load_samples([annotation], sample_set / "images", limit=4)
    assert set(records) == {s.id for s in samples}
    for sample in samples:
        record = records[sample.id]
        assert record["raw"] == FAMILY_ANSWERS[style_name], record["raw"]
        w, h = sample.image_size
        frame = ModelFrame.for_image(w, h, min_pixels=style.min_pixels, max_pixels=style.max_pixels)
        assert (record["frame"]["width"], record["frame"]["height"]) == (frame.width, frame.height)
        x = round_half_away(300 * w / frame.width)
        y = round_half_away(200 * h / frame.height)
        assert record["point"] == [x, y]
        x1, y1, x2, y2 = sample.box
        assert record["status"] == ("correct" if x1 <= x <= x2 and y1 <= y <= y2 else "wrong")
