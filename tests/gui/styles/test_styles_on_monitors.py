"""Every style and both backends drive the real Tk app on the SECOND monitor of a two-monitor
Xvfb (xrandr --setmonitor), through the CLI: a tiny random checkpoint of the style's own family
(Qwen2-VL for qwen2vl and uitars through transformers, which refuses another family; Qwen2.5-VL
otherwise) answers in the style's grammar and coordinate space, the framework captures monitor 2
at its offset and clicks in global coordinates."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actions.schema import Action, Click, Terminate
from agent.decision import STYLE_MODEL_TYPES
from agent.geometry import CoordinateSpace, ModelFrame, Monitor, Point, to_model
from agent.styles.registry import STYLE_NAMES, make_style
from agent.testing.openai_server import OpenAICompatibleServer
from agent.testing.tiny_qwen import (
    SPECIAL_TOKENS,
    build_tiny_qwen2vl,
    build_tiny_qwen25vl,
    script_answer,
)
from agent.testing.tk_app import TkApp
from agent.trajectory import load_trajectory

pytestmark = [pytest.mark.gui, pytest.mark.model]

ROOT = Path(__file__).resolve().parents[3]
LAYOUTS = {
    # name: (screen size, monitors as (name, w, h, left, top)), the target monitor is the second
    "1920+1280": ((3200, 1080), [("LEFT", 1920, 1080, 0, 0), ("RIGHT", 1280, 1024, 1920, 56)]),
    "1366+2560": ((3926, 1440), [("LEFT", 1366, 768, 0, 0), ("RIGHT", 2560, 1440, 1366, 0)]),
}
MAX_PIXELS = 1280 * 28 * 28
# the styles whose model family is Qwen2-VL: through transformers they need a qwen2_vl checkpoint
QWEN2VL_STYLES = frozenset(s for s, types in STYLE_MODEL_TYPES.items() if types == {"qwen2_vl"})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def qwen2vl_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("model2") / "tiny")


def pixels_for(style_name: str) -> int:
    """The --max-pixels of a run: MAX_PIXELS, or the family's own maximum where its minimum is
    above MAX_PIXELS (UI-Venus-7B: 2,000,000; min == max would leave no valid frame)."""
    style = make_style(style_name)
    return MAX_PIXELS if style.min_pixels <= MAX_PIXELS else style.max_pixels


def answer_for(style_name: str, target: tuple[int, int], monitor: Monitor) -> str:
    """The style's own answer for a click at screen ``target`` and, where it can, 'done'."""
    style = make_style(style_name)
    frame = ModelFrame.for_image(
        monitor.width,
        monitor.height,
        min_pixels=style.min_pixels,
        max_pixels=pixels_for(style_name),
        factor=style.factor,
    )
    point = to_model(Point.screen(*target), frame, monitor, style.space)
    if style.space is CoordinateSpace.RESIZED:
        point = Point(x=round(point.x), y=round(point.y), space=point.space)
    elif style.space is CoordinateSpace.REL1000:  # whole thousandths, as the models answer
        point = Point(x=round(point.x), y=round(point.y), space=point.space)
    actions: list[Action] = [Click(point=point)]
    if style_name not in GROUNDING:  # grounding styles end by themselves
        actions.append(Terminate(status="success"))
    text = "\n\n".join(style.render(a) for a in actions)
    for token in SPECIAL_TOKENS:  # decoding with skip_special_tokens drops them anyway
        text = text.replace(token, "")
    return text


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )


GROUNDING = ("qwen25vl-grounding", "qwen2vl", "opencua", "ui-venus", "gui-owl", "holo", "gta1")
QWEN3_GRID = ("qwen3vl", "gui-owl")  # factor 32: not the tiny Qwen2.5-VL checkpoint's grid

# every style on both layouts: through transformers (Qwen3-VL's grid needs its own checkpoint,
# so qwen3vl goes through the HTTP backend) and, on the first layout, through the HTTP backend
CASES = [
    (style, backend, layout)
    for layout in LAYOUTS
    for style in STYLE_NAMES
    for backend in ("transformers", "openai")
    if (backend == "transformers" and style not in QWEN3_GRID)
    or (backend == "openai" and (layout == "1920+1280" or style in QWEN3_GRID))
]


@pytest.mark.parametrize(
    "style_name,backend,layout", CASES, ids=[f"{s}-{b}-{lay}" for s, b, lay in CASES]
)
def test_style_clicks_the_app_on_the_second_monitor(
    virtual_display: Any,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    style_name: str,
    backend: str,
    layout: str,
) -> None:
    # the HTTP backend does not know the model's family: it stays on the Qwen2.5-VL checkpoint
    qwen2 = backend == "transformers" and style_name in QWEN2VL_STYLES
    checkpoint: Path = request.getfixturevalue("qwen2vl_checkpoint" if qwen2 else "checkpoint")
    (width, height), monitors = LAYOUTS[layout]
    display = virtual_display(width, height, monitors=monitors)
    _, mw, mh, left, top = monitors[1]
    right = Monitor(2, left, top, mw, mh)
    app = TkApp.launch(
        display.env, tmp_path / "app.json", x=left + mw // 2 + 150, y=top + mh // 2 + 100
    )
    try:
        target = app.center("ok")
        script_answer(checkpoint, answer_for(style_name, target, right))
        out = tmp_path / "run"
        common = [
            "run",
            "Click the OK button",
            "--style",
            style_name,
            "--monitor",
            "2",
            "--max-pixels",
            str(pixels_for(style_name)),
            "--out",
            str(out),
            "--settle",
            "0.05",
        ]
        if backend == "openai":
            with OpenAICompatibleServer(checkpoint) as server:
                done = run_cli(
                    display.env,
                    *common,
                    "--backend",
                    "openai",
                    "--base-url",
                    server.base_url,
                    "--api-model",
                    str(checkpoint),
                )
        else:
            done = run_cli(display.env, *common, "--model", str(checkpoint))
        assert done.returncode == 0, done.stdout + done.stderr
        state = app.wait_for(lambda s: s["clicks"]["ok"] >= 1, 10, "the OK button clicked")
        assert state["clicks"]["ok"] == 1
        trajectory = load_trajectory(out)
        assert trajectory.meta.monitor.index == 2 and trajectory.meta.monitor.left == left
        assert trajectory.meta.style == style_name
        assert trajectory.meta.model == str(checkpoint)
        step = trajectory.steps[0]
        assert (step.frame.source_width, step.frame.source_height) == (mw, mh)
        assert all(
            p.space == make_style(style_name).space
            for a in step.parsed
            for p in [getattr(a, "point", None)]
            if p is not None
        )
        clicked = step.executed[0].point  # type: ignore[union-attr]
        assert clicked is not None
        # a whole model unit of REL1000 on a 2560-wide monitor is 2.56 px: allow that much
        assert math.dist(clicked.xy(), target) <= 3
    finally:
        app.close()


def test_transformers_backend_refuses_a_style_of_another_family(
    virtual_display: Any, checkpoint: Path
) -> None:
    display = virtual_display(800, 600)
    done = run_cli(display.env, "run", "x", "--style", "qwen3vl", "--model", str(checkpoint))
    assert done.returncode == 2
    assert "multiples of 28, but the style expects 32" in done.stderr
