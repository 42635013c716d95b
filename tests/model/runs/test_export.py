"""Exported rows load through a real Qwen processor (the tiny checkpoints, built here): the chat
template renders them, the processor takes their images, and every image gets its image tokens.
Each row's prompt renders to exactly the text the model was sent at inference (the recorded
prompt through the same chat template), and its answer, with ``<bbox>`` filled the way ms-swift
fills it (done here by hand), reads back as the recorded answer."""

from __future__ import annotations

import json
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from actions.executor import DryRunExecutor  # noqa: E402
from actions.schema import points_of  # noqa: E402
from agent.chat import Message  # noqa: E402
from agent.loop import Agent  # noqa: E402
from agent.models.scripted import ScriptedBackend  # noqa: E402
from agent.models.torch_compat import prepare_torchvision  # noqa: E402
from agent.models.transformers_backend import to_hf_conversation  # noqa: E402
from agent.runs.export import export_runs  # noqa: E402
from agent.screen.capture import ImageScreen  # noqa: E402
from agent.styles.registry import make_style  # noqa: E402
from agent.testing.tiny_qwen import build_tiny_qwen2vl, build_tiny_qwen25vl  # noqa: E402
from agent.trajectory import StepRecord, load_trajectory  # noqa: E402

prepare_torchvision()  # before anything imports the Qwen2.5-VL processor
import transformers  # noqa: E402

pytestmark = pytest.mark.model

MAX_PIXELS = 1280 * 28 * 28  # 1920x1080 -> 1316x728, in the run and in the processor
Row = dict[str, Any]


def call(args: dict[str, Any]) -> str:
    return (
        "<tool_call>\n" + json.dumps({"name": "computer_use", "arguments": args}) + "\n</tool_call>"
    )


ANSWERS = {
    "qwen25vl": [
        call({"action": "left_click", "coordinate": [658, 364]}),
        call({"action": "type", "text": "{PASSWORD}"})
        + "\n"
        + call({"action": "left_click_drag", "coordinate": [100, 200]}),
        call({"action": "terminate", "status": "success"}),
    ],
    "uitars": [
        "Thought: OK is in the middle.\nAction: click(start_box='(500,500)')",
        "Action: drag(start_box='(76,275)', end_box='(228,549)')",
        "Action: finished()",
    ],
}  # fmt: skip
BUILD = {"qwen25vl": build_tiny_qwen25vl, "uitars": build_tiny_qwen2vl}
NORM = {"qwen25vl": "none", "uitars": "norm1000"}  # ms-swift's norm_bbox of the family's template
FILL = {"qwen25vl": "new", "uitars": "legacy"}  # the bbox_format giving the family's own text


@pytest.fixture(scope="module", params=sorted(ANSWERS))
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    style = request.param
    base = tmp_path_factory.mktemp(style)
    checkpoint = BUILD[style](base / "tiny", max_pixels=MAX_PIXELS)
    image = Image.new("RGB", (1920, 1080), (20, 40, 60))
    ImageDraw.Draw(image).rectangle((900, 520, 1020, 560), fill=(200, 200, 200))
    Agent(
        ScriptedBackend(ANSWERS[style], max_pixels=MAX_PIXELS),
        make_style(style),
        DryRunExecutor(),
        ImageScreen(image, left=1920, top=56, scale=2.0),
        out=base / "run",
        secrets={"PASSWORD": "not-in-the-row"},
    ).run("Log in")
    return style, base / "run", transformers.AutoProcessor.from_pretrained(checkpoint)


def load(url_or_path: str) -> Image.Image:
    with Image.open(url_or_path.removeprefix("file://")) as image:
        return image.convert("RGB")


def parts(text: str) -> list[Row]:
    """A ms-swift content string as chat-template parts, each ``<image>`` an image item."""
    out: list[Row] = []
    for n, piece in enumerate(text.split("<image>")):
        if n:
            out.append({"type": "image"})
        if piece:
            out.append({"type": "text", "text": piece})
    return out


def recorded_chat(run: Path, step: StepRecord) -> list[Row]:
    """The step's recorded prompt as the transformers backend hands it to the chat template."""
    messages = [
        Message(
            turn.role,  # type: ignore[arg-type]
            tuple(p if isinstance(p, str) else load(str(run / p["image"])) for p in turn.content),
        )
        for turn in step.prompt
    ]
    return to_hf_conversation(messages)


def filled(row: Row, frames: list[tuple[int, int]], norm: str, fmt: str) -> str:
    """The row's answer as ms-swift trains on it: each ``<bbox>`` scaled from the original
    image's pixels into the template's space (``frames``: the processor's (width, height) per
    image) and written as ``bbox_format`` ``fmt`` writes it."""
    text = row["messages"][-1]["content"]
    objects = row.get("objects", {"bbox": [], "image_id": []})
    for (x, y), image in zip(objects["bbox"], objects["image_id"], strict=True):
        (w, h), (sw, sh) = frames[image], load(row["images"][image]).size
        if norm == "norm1000":
            w, h = 1000, 1000
        box = [round(x * w / sw), round(y * h / sh)]
        text = text.replace(
            "<bbox>",
            str(box) if fmt == "new" else "<|box_start|>({},{})<|box_end|>".format(*box),
            1,
        )
    assert "<bbox>" not in text
    return str(text)


def image_tokens(processor: Any, chat: list[Row], images: list[Image.Image]) -> tuple[int, int]:
    text = processor.apply_chat_template(chat, tokenize=False)
    inputs = processor(text=[text], images=images, return_tensors="pt")
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    grid = inputs["image_grid_thw"]
    assert len(grid) == len(images)
    return int((inputs["input_ids"] == pad).sum()), int((grid.prod(dim=1) // 4).sum())


def exported(run: Path, fmt: str, out: Path) -> list[Row]:
    export_runs([run], fmt, out)  # type: ignore[arg-type]
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def carried(run: Path) -> list[StepRecord]:
    return [s for s in load_trajectory(run).steps if s.error is None and s.results]


def test_swift_rows_train_on_the_prompts_sent_and_the_recorded_answers(
    setup: Any, tmp_path: Path
) -> None:
    style, run, processor = setup
    found, steps = exported(run, "swift", tmp_path / "swift.jsonl"), carried(run)
    assert len(found) == len(steps) == len(ANSWERS[style])
    parse = make_style(style).parse
    for row, step in zip(found, steps, strict=True):
        images = [load(p) for p in row["images"]]
        grids = processor.image_processor(images=images, return_tensors="pt")["image_grid_thw"]
        frames = [(int(g[2]) * 14, int(g[1]) * 14) for g in grids]
        assert step.frame is not None and frames[-1] == (step.frame.width, step.frame.height)
        # the prompt renders to the very text the model was sent (the same tokens)
        prompt = [{"role": m["role"], "content": parts(m["content"])} for m in row["messages"]]
        sent = processor.apply_chat_template(
            recorded_chat(run, step), tokenize=False, add_generation_prompt=True
        )
        assert (
            processor.apply_chat_template(prompt[:-1], tokenize=False, add_generation_prompt=True)
            == sent
        )
        # the answer ms-swift trains on reads back (with the style's parser) as the recorded one
        answer = filled(row, frames, NORM[style], FILL[style])
        if style == "qwen25vl":  # scripted in the style's own form: byte for byte the answer
            assert answer == step.raw_output
        read = parse(answer)
        assert [a.action for a in read] == [a.action for a in step.parsed]
        for got, want in zip(read, step.parsed, strict=True):
            for p, q in zip(points_of(got), points_of(want), strict=True):
                assert abs(p.x - q.x) <= 1 and abs(p.y - q.y) <= 1, (got, want)
        chat = prompt[:-1] + [{"role": "assistant", "content": [{"type": "text", "text": answer}]}]
        found_tokens, expected = image_tokens(processor, chat, images)
        assert found_tokens == expected > 0


def test_messages_rows_load_with_their_images(setup: Any, tmp_path: Path) -> None:
    _, run, processor = setup
    found, steps = exported(run, "messages", tmp_path / "messages.jsonl"), carried(run)
    assert len(found) == len(steps)
    for row, step in zip(found, steps, strict=True):
        urls = [
            p["image_url"]["url"]
            for m in row["messages"]
            if isinstance(m["content"], list)
            for p in m["content"]
            if p["type"] == "image_url"
        ]
        assert urls == [f["image"] for f in row["metadata"]["frames"]]
        sent = processor.apply_chat_template(
            recorded_chat(run, step), tokenize=False, add_generation_prompt=True
        )
        assert (
            processor.apply_chat_template(
                row["messages"][:-1], tokenize=False, add_generation_prompt=True
            )
            == sent
        )
        found_tokens, expected = image_tokens(processor, row["messages"], [load(u) for u in urls])
        assert found_tokens == expected > 0
