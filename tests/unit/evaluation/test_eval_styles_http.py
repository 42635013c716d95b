"""Each model family's style scores a held-out ScreenSpot file exactly as the Qwen2.5-VL style
does: ``gui-agent eval --style S`` over HTTP, the server answering every item in S's own format
and coordinate space (resized pixels of the frame the model saw, or 0-1000 of it), computed here
from the item's box and that frame. Same per-item verdicts, same points, same accuracy.

The screenshots (896x672, 672x448) are on Qwen2.5-VL's grid and on Qwen3-VL's, and at most
1000 px wide: every image pixel is some whole number in each style's space (UI-Venus' minimum
of 2,000,000 pixels upscales them), so boundary answers land on the box's edge in every style.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.unit.evaluation.answering_server import AnsweringServer, Frames

ROOT = Path(__file__).resolve().parents[3]
_NAME = re.compile(r"«([^»]+)»")
SIZES = {"desk.png": (896, 672), "web.png": (672, 448)}
# name: (image, box x, y, w, h, the answer's image pixel or None for a text without a point,
#        the verdict computed by hand: inside the box, bounds inclusive)
ITEMS: dict[str, tuple[str, tuple[int, int, int, int], tuple[int, int] | None, str]] = {
    "inside": ("desk.png", (100, 100, 120, 40), (160, 120), "correct"),
    "far-corner": ("desk.png", (300, 200, 90, 31), (390, 231), "correct"),
    "near-corner": ("desk.png", (601, 333, 47, 47), (601, 333), "correct"),
    "left-of": ("desk.png", (601, 333, 47, 47), (600, 350), "wrong"),
    "below": ("desk.png", (40, 500, 200, 30), (120, 531), "wrong"),
    "far-away": ("web.png", (10, 10, 50, 20), (500, 400), "wrong"),
    "web-edge": ("web.png", (333, 111, 77, 55), (410, 140), "correct"),
    "web-top": ("web.png", (333, 111, 77, 55), (371, 111), "correct"),
    "unreadable": ("web.png", (20, 300, 100, 30), None, "parse_error"),
}


def _round(value: float) -> int:
    return math.floor(value + 0.5)  # half away from zero, for the positive values here


def encode(pixel: int, size: int, extent: float) -> int:
    """A whole number ``v`` of a model axis of ``extent`` units over ``size`` image pixels that
    maps back to ``pixel`` (``round(v * size / extent)``)."""
    guess = _round(pixel * extent / size)
    for v in (guess, guess - 1, guess + 1):
        if _round(v * size / extent) == pixel:
            return v
    raise AssertionError(f"pixel {pixel} of {size} is no whole number of {extent}")


def tool_call(x: int, y: int) -> str:
    body = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [x, y]}}
    return f"<tool_call>\n{json.dumps(body)}\n</tool_call>"


# style: (0-1000 or resized pixels, the answer for a point as the family writes it)
FORMATS: dict[str, tuple[bool, Callable[[int, int], str]]] = {
    "qwen25vl": (False, tool_call),
    "opencua": (False, lambda x, y: f"pyautogui.click(x={x}, y={y})"),
    "ui-venus": (False, lambda x, y: f"[{x - 3},{y - 2},{x + 3},{y + 2}]"),  # centre (x, y)
    "gui-owl": (True, tool_call),
    "holo": (False, lambda x, y: json.dumps({"action": "click_absolute", "x": x, "y": y})),
    "gta1": (False, lambda x, y: f"({x},{y})"),
}


def held_out(root: Path) -> Path:
    """``screenspot_desktop.json`` (ScreenSpot v1: x, y, w, h boxes) and its screenshots."""
    images = root / "images"
    images.mkdir(parents=True)
    for name, size in SIZES.items():
        image = Image.new("RGB", size, (245, 245, 245))
        draw = ImageDraw.Draw(image)
        for key, (where, (x, y, w, h), _, _) in ITEMS.items():
            if where == name:
                draw.rectangle((x, y, x + w, y + h), outline=(30, 30, 160), width=2)
                draw.text((x + 3, y + 3), key, fill=(0, 0, 0))
        image.save(images / name)
    path = root / "screenspot_desktop.json"
    path.write_text(json.dumps([
        {"img_filename": where, "instruction": f"Click «{key}»", "bbox": list(box),
         "data_type": "icon" if n % 2 else "text", "data_source": "linux"}
        for n, (key, (where, box, _, _)) in enumerate(ITEMS.items())
    ]))  # fmt: skip
    return path


def run(style: str, root: Path, out: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    rel1000, write = FORMATS[style]

    def answer(text: str, frames: Frames) -> str:
        names = _NAME.findall(text)
        assert len(names) == 1 and len(frames) == 1, (names, frames)
        where, _, pixel, _ = ITEMS[names[0]]
        if pixel is None:
            return "I cannot find that element."
        (fw, fh), (w, h) = frames[0], SIZES[where]
        ex, ey = (1000, 1000) if rel1000 else (fw, fh)
        return write(encode(pixel[0], w, ex), encode(pixel[1], h, ey))

    with AnsweringServer(answer) as server:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [
                sys.executable, "-m", "agent.cli", "eval", str(root / "screenspot_desktop.json"),
                "--images", str(root / "images"), "--out", str(out), "--backend", "openai",
                "--base-url", server.base_url, "--api-model", "scripted", "--style", style,
                "--no-report",
            ],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert server.errors == [] and done.returncode == 0, (server.errors, done.stderr)
    lines = (out / "results.jsonl").read_text().splitlines()
    records = {r["instruction"][7:-1]: r for r in map(json.loads, lines)}
    for record in records.values():  # the frame recorded is the frame the server received
        frame = (record["frame"]["width"], record["frame"]["height"])
        assert [frame] in [f for _, f in server.served]
    return records, json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    root = tmp_path_factory.mktemp("screenspot")
    held_out(root)
    records, summary = run("qwen25vl", root, root / "qwen25vl")
    for key, (_, _, pixel, verdict) in ITEMS.items():
        assert records[key]["status"] == verdict, (key, records[key])
        assert records[key]["point"] == (list(pixel) if pixel else None)
    assert summary["correct"] == 5 and summary["accuracy"]["micro"] == 5 / 9
    assert summary["wrong_format_num"] == 1
    return root, records, summary


@pytest.mark.parametrize("style", ["opencua", "ui-venus", "gui-owl", "holo", "gta1"])
def test_a_family_style_scores_as_the_qwen_style(qwen: tuple[Path, Any, Any], style: str) -> None:
    root, expected, summary = qwen
    records, got = run(style, root, root / style)
    assert {k: (r["status"], r["point"]) for k, r in records.items()} == {
        k: (r["status"], r["point"]) for k, r in expected.items()
    }
    assert all(records[k]["raw"] != expected[k]["raw"] for k in ITEMS if ITEMS[k][2])
    for key in ("correct", "accuracy", "by_cell", "wrong_format_num"):
        assert got[key] == summary[key], key
    if style == "ui-venus":  # its minimum pixels upscale the screenshots: another frame
        frames = {r["frame"]["width"] for r in records.values()}
        assert frames == {1652, 1736} and all(r["answer_box"] for k, r in records.items()
                                              if ITEMS[k][2])  # fmt: skip
