"""Safety for real, on a private Xvfb with the real Tk app: dry-run sends nothing, confirmation
refusals, the deny list, budgets, loop detection, Ctrl-C, SIGTERM, the fail-safe corner, and no
button or key left held after an interrupted drag or combo. CLI runs use the tiny Qwen2.5-VL
through transformers; the interruption tests run ``agent_child.py`` (scripted model, real
capture, pyautogui, recorder) in its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.geometry import ModelFrame, Monitor, Point, to_model
from agent.screen.xvfb import VirtualDisplay, wait_until
from agent.testing.tiny_qwen import build_tiny_qwen25vl, script_answer
from agent.testing.tk_app import TkApp
from agent.trajectory import Trajectory, load_trajectory

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("agent_child.py")
SIZE = (1280, 800)
MAX_PIXELS = 1280 * 28 * 28
FRAME = ModelFrame.for_image(*SIZE, max_pixels=MAX_PIXELS)
MONITOR = Monitor(1, 0, 0, *SIZE)


def call(args: dict[str, Any]) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': args})}\n</tool_call>"


def at(app: TkApp, widget: str) -> list[int]:
    point = to_model(Point.screen(*app.center(widget)), FRAME, MONITOR)
    return [round(point.x), round(point.y)]


def click(app: TkApp, widget: str) -> str:
    return call({"action": "left_click", "coordinate": at(app, widget)})


DONE = call({"action": "terminate", "status": "success"})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def desk(virtual_display: Any, tk_app: Any) -> tuple[VirtualDisplay, TkApp]:
    display = virtual_display(*SIZE)
    return display, tk_app(display, x=400, y=300)


def cli(display: VirtualDisplay, checkpoint: Path, out: Path, *args: str) -> Any:
    env = {**display.env, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "run", "test", "--model", str(checkpoint),
         "--max-pixels", str(MAX_PIXELS), "--out", str(out), "--settle", "0.05", *args],
        env=env, text=True, capture_output=True, timeout=300, stdin=subprocess.DEVNULL,
    )


_HELD = (
    "import json, sys\n"
    "from Xlib import X\n"
    "from Xlib.display import Display\n"
    "conn = Display(sys.argv[1])\n"
    "mask = conn.screen().root.query_pointer().mask\n"
    "keymap = conn.query_keymap()\n"
    "keys = [8 * i + b for i, byte in enumerate(keymap) for b in range(8) if byte & (1 << b)]\n"
    "print(json.dumps([mask & (X.Button1Mask | X.Button2Mask | X.Button3Mask), keys]))\n"
)


def held(display: VirtualDisplay) -> tuple[int, list[int]]:
    """Pointer button mask and pressed keycodes, asked from the X server itself (in a child
    process: python-xlib leaves its Xauthority file open)."""
    env = {**display.env, "XAUTHORITY": os.environ.get("XAUTHORITY", os.devnull)}
    if os.path.exists(os.path.expanduser("~/.Xauthority")):
        env.pop("XAUTHORITY")
    done = subprocess.run(
        [sys.executable, "-c", _HELD, display.name], env=env, capture_output=True, text=True,
        timeout=30, check=True,
    )
    mask, keys = json.loads(done.stdout.strip().splitlines()[-1])  # Xlib may print first
    return mask, keys


def test_dry_run_sends_nothing(desk: Any, checkpoint: Path, tmp_path: Path) -> None:
    display, app = desk
    script_answer(checkpoint, click(app, "ok") + "\n" + DONE)
    done = cli(display, checkpoint, tmp_path / "run", "--dry-run")
    assert done.returncode == 0, done.stderr
    time.sleep(0.3)
    assert app.state()["clicks"]["ok"] == 0
    trajectory = load_trajectory(tmp_path / "run")
    assert trajectory.meta.settings["dry_run"] is True
    assert trajectory.steps[0].executed[0].action == "click"


def test_confirmation_without_a_terminal_refuses(
    desk: Any, checkpoint: Path, tmp_path: Path
) -> None:
    display, app = desk
    script_answer(checkpoint, click(app, "ok"))
    done = cli(display, checkpoint, tmp_path / "run", "--confirm", "always")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count("refused: Refused: the user declined this step") == 3
    time.sleep(0.3)
    assert app.state()["clicks"]["ok"] == 0


def test_denied_combos_never_reach_the_app_unless_allowed(
    desk: Any, checkpoint: Path, tmp_path: Path
) -> None:
    display, app = desk
    script_answer(checkpoint, call({"action": "key", "keys": ["alt", "F4"]}))
    done = cli(display, checkpoint, tmp_path / "denied")
    assert done.returncode == 1 and "denied by the safety policy" in done.stdout
    time.sleep(0.3)
    assert not any("F4" in k for k in app.state()["keys"])
    script_answer(checkpoint, call({"action": "key", "keys": ["alt", "F4"]}) + "\n" + DONE)
    allowed = cli(display, checkpoint, tmp_path / "allowed", "--allow-combo", "alt+f4")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    app.wait_for(lambda s: "Alt-F4" in s["keys"], 10, "the allowed alt+f4")


def test_a_model_call_budget_ends_the_run_with_exit_code_3(
    desk: Any, checkpoint: Path, tmp_path: Path
) -> None:
    display, app = desk
    script_answer(checkpoint, click(app, "ok"))
    done = cli(display, checkpoint, tmp_path / "run", "--max-model-calls", "2", "--loop-limit", "0")
    assert done.returncode == 3, done.stdout + done.stderr
    app.wait_for(lambda s: s["clicks"]["ok"] == 2, 10, "two clicks")
    assert load_trajectory(tmp_path / "run").meta.status == "budget"


def test_the_same_click_without_effect_is_redirected_then_stopped(
    desk: Any, checkpoint: Path, tmp_path: Path
) -> None:
    display, app = desk
    script_answer(checkpoint, click(app, "cancel"))  # Cancel changes nothing on the screen
    done = cli(display, checkpoint, tmp_path / "run", "--max-steps", "10")
    assert done.returncode == 1, done.stdout + done.stderr
    trajectory = load_trajectory(tmp_path / "run")
    errors = [s.error or "" for s in trajectory.steps]
    assert errors[-2].startswith("Refused: you did the same thing")
    assert errors[-1].startswith("LoopDetected")
    clicked = sum(1 for s in trajectory.steps if s.results)
    app.wait_for(lambda s: s["clicks"]["cancel"] == clicked, 10, "every recorded click")
    assert clicked < 10 and trajectory.meta.status == "failed"


def wait_for_lines(out: Path, lines: int, proc: subprocess.Popen[str]) -> None:
    path = out / "steps.jsonl"

    def ready() -> bool:
        assert proc.poll() is None, "the run ended on its own"
        return path.exists() and path.read_text().count("\n") >= lines

    wait_until(ready, 120, what="the run's first steps")


def test_ctrl_c_aborts_with_exit_code_5(desk: Any, checkpoint: Path, tmp_path: Path) -> None:
    display, app = desk
    script_answer(checkpoint, click(app, "ok"))
    env = {**display.env, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = tmp_path / "run"
    with subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "test", "--model", str(checkpoint),
         "--max-pixels", str(MAX_PIXELS), "--out", str(out), "--max-steps", "1000",
         "--loop-limit", "0", "--settle", "0.05"],
        env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as proc:
        wait_for_lines(out, 4, proc)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 5, stdout + stderr
    trajectory = load_trajectory(out)
    assert trajectory.meta.status == "aborted" and not trajectory.truncated
    assert "Ctrl-C" in (trajectory.meta.message or "")
    received = app.wait_for(lambda s: True, 1, "state")["clicks"]["ok"]
    assert received == sum(1 for s in trajectory.steps if s.results or s.interrupted)


_CHILDREN: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_child_outlives_its_test() -> Iterator[None]:
    yield
    while _CHILDREN:
        proc = _CHILDREN.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def child(
    display: VirtualDisplay, tmp_path: Path, config: dict[str, Any], path_prefix: str = ""
) -> tuple[subprocess.Popen[str], Path]:
    out = tmp_path / "run"
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "child.json").write_text(json.dumps({"out": str(out), **config}))
    env = {**display.env, "PYTHONPATH": str(ROOT)}
    if path_prefix:
        env["PATH"] = f"{path_prefix}:{env.get('PATH', os.defpath)}"
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp_path / "child.json")], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    _CHILDREN.append(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    return proc, out


def finish(proc: subprocess.Popen[str]) -> str:
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    return stdout.strip()


def aborted_by(trajectory: Trajectory, reason: str) -> None:
    assert trajectory.meta.status == "aborted", trajectory.meta
    assert reason in (trajectory.meta.message or "")
    assert not trajectory.truncated and not any(s.interrupted for s in trajectory.steps)


def test_sigterm_during_a_drag_leaves_no_button_held(
    desk: Any, tmp_path: Path
) -> None:
    display, app = desk
    drag = call({"action": "left_click_drag", "coordinate": at(app, "ok")})
    start = call({"action": "mouse_move", "coordinate": at(app, "entry")})
    proc, out = child(display, tmp_path, {
        "answers": [start + "\n" + drag], "drag_steps": 300, "drag_step_s": 0.02,
    })
    wait_until(lambda: held(display)[0] != 0, 30, what="the drag to press the button")
    proc.send_signal(signal.SIGTERM)
    assert finish(proc) == "aborted"
    assert held(display) == (0, [])
    trajectory = load_trajectory(out)
    aborted_by(trajectory, "terminated (SIGTERM)")
    assert [a.action for a in trajectory.steps[-1].executed] == ["mouse_move", "drag"]
    assert trajectory.steps[-1].error == "Aborted: terminated (SIGTERM)"


def test_sigterm_landing_inside_python_xlib_never_hangs_the_run(
    desk: Any, tmp_path: Path
) -> None:
    """A drag with no pause between its 3000 motion events spends its time inside python-xlib,
    so SIGTERM lands mid-request there (its connection then waits forever on the next call: 21
    of 30 such runs hung before the executor dropped an interrupted connection)."""
    display, app = desk
    drag = call({"action": "left_click_drag", "coordinate": at(app, "ok")})
    start = call({"action": "mouse_move", "coordinate": at(app, "entry")})
    for round_ in range(6):
        proc, out = child(display, tmp_path / str(round_), {
            "answers": [start + "\n" + drag], "drag_steps": 3000, "drag_step_s": 0.0,
        })
        wait_until(lambda: held(display)[0] != 0, 30, what="the drag to press the button")
        time.sleep(0.05 * round_)
        proc.send_signal(signal.SIGTERM)
        assert finish(proc) == "aborted", f"round {round_}"
        assert held(display) == (0, [])
        aborted_by(load_trajectory(out), "terminated (SIGTERM)")


def test_keys_and_buttons_left_held_are_released_when_the_run_stops(
    desk: Any, tmp_path: Path, xdotool: Callable[..., None]
) -> None:
    """A combo or drag cut off mid-way (here by another client, as a killed process leaves
    them: ctrl and shift down, the middle button pressed) is released when the run stops.
    (The executor's own key events are released on its connection when interrupted:
    tests/gui/actions/test_typing_under_load.py.)"""
    display, app = desk
    proc, out = child(display, tmp_path, {"answers": [click(app, "cancel")], "model_s": 0.3})
    app.wait_for(lambda s: s["clicks"]["cancel"] >= 1, 30, "a first click")
    xdotool(display, "keydown", "Control_L", "keydown", "Shift_L", "mousedown", "2")
    mask, keys = held(display)
    assert mask and len(keys) == 2
    proc.send_signal(signal.SIGTERM)
    assert finish(proc) == "aborted"
    assert held(display) == (0, [])
    trajectory = load_trajectory(out)
    aborted_by(trajectory, "terminated (SIGTERM)")
    assert {"Control_L", "Shift_L", "button 2"} <= set(trajectory.steps[-1].released)


def test_the_fail_safe_corner_aborts_the_run(
    desk: Any, tmp_path: Path, xdotool: Callable[..., None]
) -> None:
    display, app = desk
    proc, out = child(display, tmp_path, {"answers": [click(app, "ok")], "model_s": 0.5})
    app.wait_for(lambda s: s["clicks"]["ok"] >= 1, 30, "a first click")
    xdotool(display, "mousemove", "0", "0")
    assert finish(proc) == "aborted"
    trajectory = load_trajectory(out)
    aborted_by(trajectory, "fail-safe")
    assert app.state()["clicks"]["ok"] == sum(1 for s in trajectory.steps if s.results)
