"""``gui-agent batch`` with a model: the tiny Qwen2.5-VL served by two real OpenAI-compatible
HTTP servers on 127.0.0.1 (``--base-url`` twice: the rows take them in turn), three private
displays, the Buttons app in every row. The tiny model's answer is scripted to the Alpha
button's centre (where the app draws it on every display), in the style's own grammar and
coordinate space, so every run finds, clicks and checks it through the whole HTTP path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actions.schema import Click
from agent.geometry import ModelFrame, Monitor, Point, to_model
from agent.styles.registry import make_style
from agent.testing.openai_server import OpenAICompatibleServer
from agent.testing.tiny_qwen import build_tiny_qwen25vl, script_answer
from tests.gui.batch.test_batch_pool import (
    batch,
    batch_command,
    results,
    rows_file,
    task_copy,
    wait_until,
)

pytestmark = [pytest.mark.gui, pytest.mark.model]

SIZE = (1280, 800)
MAX_PIXELS = 1280 * 28 * 28


def alpha_centre(task: Path, display: Any, tmp_path: Path) -> tuple[int, int]:
    state = tmp_path / "state.json"
    app = subprocess.Popen(
        [sys.executable, str(task.parent / "buttons.py"), "--out", str(tmp_path / "p.json"),
         "--state", str(state)],
        env=display.env,
    )  # fmt: skip
    try:
        wait_until(state.exists, 60, "the app's state")
        x, y = json.loads(state.read_text())["Alpha"]
    finally:
        app.terminate()
        app.wait(30)
    return x, y


def answer_at(target: tuple[int, int]) -> str:
    style = make_style("qwen25vl")
    frame = ModelFrame.for_image(*SIZE, min_pixels=style.min_pixels, max_pixels=MAX_PIXELS,
                                 factor=style.factor)  # fmt: skip
    point = to_model(Point.screen(*target), frame, Monitor(1, 0, 0, *SIZE), style.space)
    return style.render(Click(point=Point(x=round(point.x), y=round(point.y), space=point.space)))


def test_rows_through_the_tiny_model_over_http(virtual_display: object, tmp_path: Path) -> None:
    task = task_copy(tmp_path).with_name("press-click.yaml")  # no wait_for: one answer
    target = alpha_centre(task, virtual_display(*SIZE), tmp_path)
    checkpoint = build_tiny_qwen25vl(tmp_path / "tiny")
    script_answer(checkpoint, answer_at(target))
    rows = rows_file(tmp_path, [{"button": "Alpha", "mode": "normal"} for _ in range(3)])
    out = tmp_path / "out"
    with OpenAICompatibleServer(checkpoint) as first, OpenAICompatibleServer(checkpoint) as second:
        done = batch(
            *batch_command(task, rows, out, "--desktops", "3", "--desktop", "private:1280x800"),
            "--settle", "1",
            "--backend", "openai", "--api-model", str(checkpoint), "--max-pixels",
            str(MAX_PIXELS), "--base-url", first.base_url, "--base-url", second.base_url,
        )  # fmt: skip
        served = (len(first.requests), len(second.requests))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = results(out)
    assert sorted(r["row"] for r in lines) == [1, 2, 3]
    for line in lines:
        assert (line["status"], line["attempts"]) == ("done", 1), line
        pressed = json.loads((out / line["trajectory"] / "pressed.json").read_text())
        assert pressed["pressed"] == "Alpha"
    assert len({r["desktop"] for r in lines}) == 3
    assert all(n > 0 for n in served)  # rows 1 and 3 asked the first server, row 2 the second
