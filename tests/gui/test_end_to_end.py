"""End to end, the way a user runs it: `gui-agent run` in a subprocess, a private Xvfb, a real Tk
app, the tiny Qwen2.5-VL through transformers, real mss capture and real pyautogui clicks."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.geometry import ModelFrame, Monitor, Point, to_model
from agent.testing.tiny_qwen import build_tiny_qwen25vl, script_answer
from agent.testing.tk_app import TkApp
from agent.trajectory import load_trajectory

pytestmark = [pytest.mark.gui, pytest.mark.model]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAX = 16384 * 28 * 28
REDUCED_MAX = 1280 * 28 * 28


def call(args: dict[str, Any]) -> str:
    body = json.dumps({"name": "computer_use", "arguments": args}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


DONE = call({"action": "terminate", "status": "success"})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("model") / "Qwen2.5-VL-tiny")


@pytest.mark.parametrize("max_pixels", [DEFAULT_MAX, REDUCED_MAX], ids=["default", "reduced"])
@pytest.mark.parametrize(
    "size", [(1366, 768), (1920, 1080), (2560, 1440), (3840, 2160)], ids=lambda s: f"{s[0]}x{s[1]}"
)
def test_the_click_lands_on_the_button(
    gui_agent: Any,
    virtual_display: Any,
    checkpoint: Path,
    tmp_path: Path,
    size: tuple[int, int],
    max_pixels: int,
) -> None:
    width, height = size
    display = virtual_display(width, height)
    # far from the centre and the origin, so a wrong scale on either axis misses the button
    app = TkApp.launch(display.env, tmp_path / "app.json", x=width * 2 // 3, y=height * 3 // 4)
    try:
        cx, cy = app.center("ok")
        frame = ModelFrame.for_image(width, height, max_pixels=max_pixels)
        seen = to_model(Point.screen(cx, cy), frame, Monitor(1, 0, 0, width, height))
        target = [round(seen.x), round(seen.y)]  # the model answers whole resized pixels
        script_answer(
            checkpoint, call({"action": "left_click", "coordinate": target}) + "\n" + DONE
        )
        out = tmp_path / "run"
        done = gui_agent(
            display,
            "run",
            "Click the OK button",
            "--model",
            str(checkpoint),
            "--max-pixels",
            str(max_pixels),
            "--out",
            str(out),
            "--settle",
            "0.05",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "step 1: click" in done.stdout and "| done" in done.stdout
        state = app.wait_for(lambda s: s["clicks"]["ok"] >= 1, 10, "the OK button clicked")
        assert state["clicks"] == {"ok": 1, "cancel": 0}
        trajectory = load_trajectory(out)
        step = trajectory.steps[0]
        assert (step.frame.width, step.frame.height) == (frame.width, frame.height)
        assert step.parsed[0].point is not None  # type: ignore[union-attr]
        executed = step.executed[0].point  # type: ignore[union-attr]
        assert executed is not None
        assert math.dist(executed.xy(), (cx, cy)) <= 2
        x, y, w, h = app.widget("ok")
        assert (
            x <= state["last_click"]["x_root"] < x + w
            and y <= state["last_click"]["y_root"] < y + h
        )
        assert trajectory.meta.status == "done" and trajectory.meta.max_pixels == max_pixels
    finally:
        app.close()


def test_typing_unicode_and_a_key_combo_reach_the_app(
    gui_agent: Any, virtual_display: Any, checkpoint: Path, tmp_path: Path
) -> None:
    display = virtual_display(1920, 1080)
    app = TkApp.launch(display.env, tmp_path / "app.json", x=500, y=400)
    try:
        text = "héllo 東京 <x> & Grüße"
        script_answer(
            checkpoint,
            call({"action": "type", "text": text})
            + "\n"
            + call({"action": "key", "keys": ["ctrl", "a"]})
            + "\n"
            + DONE,
        )
        done = gui_agent(
            display,
            "run",
            "Type a greeting",
            "--model",
            str(checkpoint),
            "--max-pixels",
            str(REDUCED_MAX),
            "--out",
            str(tmp_path / "run"),
            "--settle",
            "0.05",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        state = app.wait_for(lambda s: "Control-a" in s["keys"], 10, "ctrl+a seen by the app")
        assert state["entry_text"] == text
    finally:
        app.close()


def test_malformed_output_fails_cleanly_with_a_complete_trajectory(
    gui_agent: Any, virtual_display: Any, checkpoint: Path, tmp_path: Path
) -> None:
    display = virtual_display(1366, 768)
    script_answer(checkpoint, "I would click the OK button at (120, 40).")
    out = tmp_path / "run"
    done = gui_agent(
        display,
        "run",
        "Click OK",
        "--model",
        str(checkpoint),
        "--max-pixels",
        str(REDUCED_MAX),
        "--out",
        str(out),
        "--max-retries",
        "2",
    )
    assert done.returncode == 1
    assert done.stdout.count("refused: ParseError") == 3
    assert done.stdout.strip().splitlines()[-1].startswith("failed:")
    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "failed" and not trajectory.truncated
    assert [s.index for s in trajectory.steps] == [0, 1, 2]
    assert all(trajectory.screenshot_path(s).is_file() for s in trajectory.steps)
    assert "Your previous answer was not carried out" in str(trajectory.steps[1].prompt[-1].content)


def test_configuration_errors_are_one_line(
    gui_agent: Any, virtual_display: Any, tmp_path: Path
) -> None:
    display = virtual_display(800, 600)
    missing = gui_agent(display, "run", "x", "--model", str(tmp_path / "no-such-model"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].startswith("gui-agent: error: model directory")
    assert "Traceback" not in missing.stderr
    bad_flag = gui_agent(display, "run", "x", "--model", "m", "--max-steps", "zero")
    assert bad_flag.returncode == 2 and "Traceback" not in bad_flag.stderr
    bad_monitor = gui_agent(display, "run", "x", "--model", "m", "--monitor", "7")
    assert bad_monitor.returncode == 2 and "no monitor 7" in bad_monitor.stderr
    no_display = subprocess.run(
        [sys.executable, "-m", "agent.cli", "run", "x", "--model", "m"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert no_display.returncode == 2, no_display.stderr
    assert "Traceback" not in no_display.stderr and "display" in no_display.stderr.lower()
