"""Crash safety, proven: a fast recorded run on the real Tk app is killed with SIGKILL at random
moments, 20 times. Every time the trajectory loads, every click the app received is in it (a
click the app saw is a completed step or the step marked interrupted), and every screenshot a
line names decodes and matches its sha256."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from actions.schema import Click
from agent.geometry import ModelFrame, Monitor, Point, to_model
from agent.testing.tk_app import TkApp
from agent.trajectory import load_trajectory

pytestmark = pytest.mark.gui

CHILD = Path(__file__).with_name("agent_child.py")
KILLS = 20
MAX_PIXELS = 1280 * 28 * 28

def click_call(x: float, y: float) -> str:
    args = {"action": "left_click", "coordinate": [round(x), round(y)]}
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"

def settled_clicks(app: TkApp) -> int:
    """The app's OK count once it has stopped changing (events still in flight are counted)."""
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 0.4:
        now = app.state()["clicks"]["ok"]
        if now != last:
            last, stable_since = now, time.monotonic()
        time.sleep(0.02)
    return last

def test_sigkill_at_random_moments_never_hides_a_click(
    virtual_display: Any, tk_app: Any, tmp_path: Path
) -> None:
    display = virtual_display(1280, 800)
    app = tk_app(display, x=500, y=300)
    cx, cy = app.center("ok")
    frame = ModelFrame.for_image(1280, 800, max_pixels=MAX_PIXELS)

    target = to_model(Point.screen(cx, cy), frame, Monitor(1, 0, 0, 1280, 800))
    rng = random.Random(20261202)
    env = {**display.env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    summary = []
    for kill in range(KILLS):
        out = tmp_path / f"run{kill}"
        config = tmp_path / f"run{kill}.json"
        config.write_text(json.dumps({
            "answers": [click_call(target.x, target.y)],
            "out": str(out),
            "model_s": rng.choice([0.0, 0.002, 0.01]),
        }))
        before = app.state()["clicks"]["ok"]
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(config)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        started = proc.stdout.readline().strip()
        assert started == b"started", proc.stderr.read() if proc.stderr else ""
        try:
            time.sleep(rng.uniform(0.0, 1.2))  # any moment: capture, model, record, click
        finally:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)  # reaps it and closes the pipes
        received = settled_clicks(app) - before

        trajectory = load_trajectory(out)
        assert trajectory.meta.status is None  # never closed
        completed = interrupted = 0
        for i, step in enumerate(trajectory.steps):
            assert step.index == i
            assert step.executed == [Click(point=Point.screen(cx, cy))]
            if step.interrupted:
                interrupted += 1
            else:
                assert step.results[0].ok
                completed += 1
            path = trajectory.screenshot_path(step)
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == step.screenshot_sha256
            with Image.open(path) as png:
                png.load()
                assert png.size == (1280, 800)
        assert interrupted <= 1 and all(not s.interrupted for s in trajectory.steps[:-1])
        # every click the app received is recorded, and every completed one was received
        assert completed <= received <= completed + interrupted, (kill, received, completed)
        summary.append((received, completed, interrupted))
    # the kills did land in the middle of runs, some of them during a step's action
    assert sum(r for r, _, _ in summary) > KILLS
    print("received/completed/interrupted per kill:", summary)
