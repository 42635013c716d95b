"""Replays on a private Xvfb with the real Tk test app, real pyautogui and mss.

A run is recorded once (the tiny Qwen2.5-VL through the real transformers path, scripted to the
app's geometry, or the OCR grounder for a script) and replayed on a fresh app: exactly with no
model (the CLI, the secret taken from the environment again); scaled from a 1366x768 screen to a
1920x1080 one; and, with the window moved, ``reground`` refusing before it clicks when no model
is given, and landing when the tiny model or the OCR grounder is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actions.executor import PyAutoGUIExecutor
from agent.geometry import Monitor, Point, to_model
from agent.grounding.ocr import OCRGrounder
from agent.loop import Agent
from agent.models.scripted import ScriptedBackend
from agent.models.transformers_backend import TransformersBackend
from agent.runs.replay import replay
from agent.screen.capture import Screen
from agent.scripts.desktop import Desktop
from agent.styles.registry import make_style
from agent.testing.tiny_qwen import build_tiny_qwen25vl
from agent.testing.tiny_script import ScriptedTinyBackend
from agent.testing.tk_app import TkApp
from agent.trajectory import load_trajectory

pytestmark = pytest.mark.gui

SIZE = (1280, 800)
MAX_PIXELS = 1280 * 28 * 28
SECRET = "pw-Replay-42"
TEXT = "hello"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[TransformersBackend, Path]:
    checkpoint = build_tiny_qwen25vl(tmp_path_factory.mktemp("model") / "Qwen2.5-VL-tiny")
    return TransformersBackend(str(checkpoint), max_pixels=MAX_PIXELS, device="cpu"), checkpoint


def call(args: dict[str, Any]) -> str:
    return f'<tool_call>\n{json.dumps({"name": "computer_use", "arguments": args})}\n</tool_call>'


def click_at(app: TkApp, widget: str, size: tuple[int, int] = SIZE) -> str:
    """The model's answer that clicks ``widget``'s centre, in the frame it sees."""
    frame = ScriptedBackend([], max_pixels=MAX_PIXELS).frame_for(*size)
    seen = to_model(Point.screen(*app.center(widget)), frame, Monitor(1, 0, 0, *size))
    return call({"action": "left_click", "coordinate": [round(seen.x), round(seen.y)]})


def fill_in(app: TkApp, text: str) -> list[str]:
    """Click the field, type ``text``, click OK, done."""
    return [
        click_at(app, "entry"),
        call({"action": "type", "text": text}),
        click_at(app, "ok"),
        call({"action": "terminate", "status": "success"}),
    ]


def run_model(display: Any, backend: Any, out: Path, **agent: Any) -> None:
    with (
        Screen(display=display.name) as screen,
        PyAutoGUIExecutor(settle_s=0.05, display=display.name) as executor,
    ):
        result = Agent(backend, make_style("qwen25vl"), executor, screen, out=out, **agent).run(
            "Type the text into the field and press OK"
        )
    assert result.status == "done", result.message


def landed(app: TkApp, text: str) -> None:
    state = app.wait_for(lambda s: s["clicks"]["ok"] == 1, 10, "OK clicked")
    assert state["entry_text"] == text
    x, y, w, h = app.widget("ok")
    click = state["last_click"]
    assert x <= click["x_root"] < x + w and y <= click["y_root"] < y + h


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Any]:
    started: list[TkApp] = []

    def launch(display: Any, x: int = 0, y: int = 0, fill: bool = False) -> TkApp:
        for old in started:  # one window on the screen
            old.close()
        app = TkApp.launch(display.env, tmp_path / f"app{len(started)}.json", x=x, y=y, fill=fill)
        started.append(app)
        return app

    yield launch
    for app in started:
        app.close()


@pytest.mark.model
def test_a_model_run_replays_exactly_with_no_model_and_the_secret_from_the_environment(
    virtual_display: Any, tiny: Any, apps: Any, gui_agent: Any, tmp_path: Path
) -> None:
    display = virtual_display(*SIZE)
    model, checkpoint = tiny
    app = apps(display, 200, 150)
    recorded = tmp_path / "recorded"
    scripted = ScriptedTinyBackend(model, checkpoint, fill_in(app, "{PASSWORD}"))
    run_model(display, scripted, recorded, secrets={"PASSWORD": SECRET})
    landed(app, SECRET)

    app = apps(display, 200, 150)
    refused = gui_agent(display, "replay", str(recorded), "--out", str(tmp_path / "no"))
    assert refused.returncode == 2 and "set the environment variable PASSWORD" in refused.stderr
    assert app.state()["clicks"]["ok"] == 0 and app.state()["entry_text"] == ""

    out = tmp_path / "replayed"
    done = gui_agent(
        display, "replay", str(recorded), "--out", str(out), "--settle", "0.05",
        env={"PASSWORD": SECRET},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    landed(app, SECRET)
    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "done" and trajectory.meta.model == "none"
    assert [s.replay.verdict for s in trajectory.steps if s.replay] == ["replayed"] * 4
    assert [s.replay.step for s in trajectory.steps if s.replay] == [0, 1, 2, 3]
    original = load_trajectory(recorded)
    assert [s.executed for s in trajectory.steps] == [s.executed for s in original.steps]
    assert "4 replayed" in done.stdout
    for path in [*recorded.iterdir(), *out.iterdir()]:
        assert SECRET.encode() not in path.read_bytes(), path


def test_a_run_recorded_at_1366x768_replays_scaled_at_1920x1080(
    virtual_display: Any, apps: Any, tmp_path: Path
) -> None:
    small = virtual_display(1366, 768)
    app = apps(small, fill=True)
    recorded = tmp_path / "small"
    done = call({"action": "terminate", "status": "success"})
    run_model(
        small, ScriptedBackend([click_at(app, "ok", (1366, 768)), done], max_pixels=MAX_PIXELS),
        recorded,
    )  # fmt: skip
    assert app.wait_for(lambda s: s["clicks"]["ok"] == 1, 10, "OK clicked")

    large = virtual_display(1920, 1080)
    for mode, clicks in (("exact", 0), ("scaled", 1)):
        app = apps(large, fill=True)
        with (
            Screen(display=large.name) as screen,
            PyAutoGUIExecutor(settle_s=0.05, display=large.name) as executor,
        ):
            result = replay(
                recorded, screen=screen, executor=executor, mode=mode, out=tmp_path / mode
            )
        assert result.ok, result.message
        state = app.state()
        assert state["clicks"]["ok"] == clicks, (mode, state["last_click"])
    x, y, w, h = app.widget("ok")
    click = app.state()["last_click"]
    assert x <= click["x_root"] < x + w and y <= click["y_root"] < y + h


@pytest.mark.model
def test_reground_stops_before_a_moved_widget_without_a_model_and_lands_with_one(
    virtual_display: Any, tiny: Any, apps: Any, gui_agent: Any, tmp_path: Path
) -> None:
    display = virtual_display(*SIZE)
    model, checkpoint = tiny
    app = apps(display, 200, 150)
    recorded = tmp_path / "recorded"
    run_model(display, ScriptedTinyBackend(model, checkpoint, fill_in(app, TEXT)), recorded)
    landed(app, TEXT)

    app = apps(display, 640, 420)  # moved beyond the search radius
    stopped = gui_agent(
        display, "replay", str(recorded), "--mode", "reground", "--out", str(tmp_path / "no")
    )
    assert stopped.returncode == 1, stopped.stderr + stopped.stdout
    assert "diverged at recorded step 0" in stopped.stdout
    state = app.state()
    assert state["clicks"]["ok"] == 0 and state["entry_text"] == "" and not state["last_click"]
    diverged = load_trajectory(tmp_path / "no")
    assert [s.replay.verdict for s in diverged.steps if s.replay] == ["diverged"]

    answers = [click_at(app, "entry"), click_at(app, "ok")]  # asked only where it diverged
    again = ScriptedTinyBackend(model, checkpoint, answers)
    with (
        Screen(display=display.name) as screen,
        PyAutoGUIExecutor(settle_s=0.05, display=display.name) as executor,
    ):
        result = replay(
            recorded, screen=screen, executor=executor, mode="reground", model=again,
            style=make_style("qwen25vl"), out=tmp_path / "again",
        )  # fmt: skip
    assert result.ok, result.message
    assert again.calls == 2
    assert result.verdicts == {"re-grounded": 2, "replayed": 2}
    landed(app, TEXT)


def test_a_script_step_is_re_grounded_by_its_description_with_the_ocr_grounder(
    virtual_display: Any, apps: Any, tmp_path: Path
) -> None:
    display = virtual_display(*SIZE)
    app = apps(display, 200, 150)
    recorded = tmp_path / "script"
    with (
        Screen(display=display.name) as screen,
        PyAutoGUIExecutor(settle_s=0.05, display=display.name) as executor,
        Desktop(OCRGrounder(), None, screen=screen, executor=executor, out=recorded) as desktop,
    ):
        desktop.click('the "Cancel" button')
    assert app.wait_for(lambda s: s["clicks"]["cancel"] == 1, 10, "Cancel clicked")

    app = apps(display, 600, 400)
    with (
        Screen(display=display.name) as screen,
        PyAutoGUIExecutor(settle_s=0.05, display=display.name) as executor,
    ):
        result = replay(
            recorded, screen=screen, executor=executor, mode="reground", model=OCRGrounder(),
            out=tmp_path / "again",
        )  # fmt: skip
    assert result.ok, result.message
    assert app.wait_for(lambda s: s["clicks"]["cancel"] == 1, 10, "Cancel clicked")
    step = load_trajectory(tmp_path / "again").steps[0]
    assert step.replay is not None and step.replay.verdict == "re-grounded"
    assert [t.located_by for t in step.targets] == ["ocr"]
