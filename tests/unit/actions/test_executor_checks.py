"""check_action and DryRunExecutor (no display): every point in screen space and on the monitor,
keys known, all before anything moves. pyautogui is never imported in this process; the
no-display paths of PyAutoGUIExecutor run in subprocesses."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from actions.executor import (
    ActionResult,
    DryRunExecutor,
    Executor,
    PyAutoGUIExecutor,
    check_action,
)
from actions.schema import (
    ACTION_ADAPTER,
    Action,
    Click,
    Drag,
    KeyPress,
    MouseMove,
    Scroll,
    Terminate,
    TypeText,
    Wait,
)
from agent.errors import ConfigurationError, ModelError, OutOfBounds, ParseError
from agent.geometry import CoordinateSpace, Monitor, Point

ROOT = Path(__file__).resolve().parents[3]
FULL_HD = Monitor(index=1, left=0, top=0, width=1920, height=1080, is_primary=True)
# A monitor left of and above the primary one: negative origin in pyautogui's global coordinates.
LEFT_UP = Monitor(index=2, left=-1280, top=-200, width=1280, height=1024)


def s(x: float, y: float) -> Point:
    return Point(x=x, y=y, space=CoordinateSpace.SCREEN)


@pytest.mark.parametrize(
    ("monitor", "point", "rounded"),
    [
        (FULL_HD, s(0, 0), (0, 0)),
        (FULL_HD, s(1919, 1079), (1919, 1079)),
        (FULL_HD, s(10.5, 20.49), (11, 20)),  # rounded half away from zero, never truncated
        (FULL_HD, s(1919.4, 1079.4), (1919, 1079)),
        (LEFT_UP, s(-1280, -200), (-1280, -200)),
        (LEFT_UP, s(-1, 823), (-1, 823)),
        (LEFT_UP, s(-10.5, -0.6), (-11, -1)),
    ],
)
def test_points_inside_the_monitor_are_rounded(
    monitor: Monitor, point: Point, rounded: tuple[int, int]
) -> None:
    checked = check_action(Click(point=point), monitor)
    assert isinstance(checked, Click) and checked.point is not None
    assert (checked.point.x, checked.point.y) == rounded
    assert checked.point.space is CoordinateSpace.SCREEN


@pytest.mark.parametrize(
    ("monitor", "point", "allowed"),
    [
        (FULL_HD, s(1920, 500), "x must be in [0, 1919] and y in [0, 1079]"),
        (FULL_HD, s(500, 1080), "x must be in [0, 1919] and y in [0, 1079]"),
        (FULL_HD, s(-1, 0), "x must be in [0, 1919]"),
        (FULL_HD, s(1919.5, 10), "x must be in [0, 1919]"),  # rounds to 1920
        (LEFT_UP, s(0, 0), "x must be in [-1280, -1] and y in [-200, 823]"),
        (LEFT_UP, s(-1281, 0), "x must be in [-1280, -1]"),
        (LEFT_UP, s(-5, 824), "y in [-200, 823]"),
    ],
)
def test_points_outside_the_monitor_are_out_of_bounds(
    monitor: Monitor, point: Point, allowed: str
) -> None:
    with pytest.raises(OutOfBounds) as info:
        check_action(Click(point=point), monitor)
    assert allowed in str(info.value) and monitor.describe() in str(info.value)
    assert isinstance(info.value, ModelError)  # the model gets the message and can retry


@pytest.mark.parametrize(
    "space", [CoordinateSpace.RESIZED, CoordinateSpace.REL1000, CoordinateSpace.REL1]
)
def test_model_space_points_are_rejected(space: CoordinateSpace) -> None:
    with pytest.raises(OutOfBounds, match=f"{space.value} coordinates.*screen pixels"):
        check_action(MouseMove(point=Point(x=0.5, y=0.5, space=space)), FULL_HD)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_points_are_rejected(value: float) -> None:
    with pytest.raises(OutOfBounds, match="not a finite point"):
        check_action(Click(point=s(value, 10)), FULL_HD)


@pytest.mark.parametrize(
    "action",
    [
        MouseMove(point=s(2000, 10)),
        Drag(start=s(10, 10), end=s(10, 2000)),
        Drag(start=s(-3, 10), end=s(10, 10)),
        Drag(end=s(1920, 0)),
        Scroll(point=s(5000, 5), direction="down", amount=3),
    ],
)
def test_every_point_of_an_action_is_checked(action: Action) -> None:
    with pytest.raises(OutOfBounds):
        check_action(action, FULL_HD)


def test_keys_are_normalized_and_unknown_keys_rejected() -> None:
    checked = check_action(KeyPress(keys=("Control_L", "ArrowLeft")), FULL_HD)
    assert isinstance(checked, KeyPress) and checked.keys == ("ctrl", "left")
    checked = check_action(KeyPress(keys=("ctrl+shift+t",)), FULL_HD)
    assert isinstance(checked, KeyPress) and checked.keys == ("ctrl", "shift", "t")
    with pytest.raises(ParseError, match="unknown key 'hyperspace'"):
        check_action(KeyPress(keys=("ctrl", "hyperspace")), FULL_HD)


def test_text_with_control_characters_is_rejected() -> None:
    text = TypeText(text="héllo 東京 <x> & done\n\t")
    assert check_action(text, FULL_HD) == text
    with pytest.raises(ParseError, match="control character"):
        check_action(TypeText(text="a\x1b[2J"), FULL_HD)


def test_actions_without_points_pass_unchanged() -> None:
    for action in (
        Click(),
        Wait(seconds=1),
        Terminate(status="success"),
        Scroll(direction="up", amount=0),
        TypeText(text=""),
    ):
        assert check_action(action, LEFT_UP) == action


def test_dry_run_records_accepted_actions_and_refuses_bad_ones() -> None:
    executor = DryRunExecutor()
    assert isinstance(executor, Executor)
    good: list[Action] = [
        Click(point=s(-640, 300)),
        KeyPress(keys=("ctrl", "c")),
        TypeText(text="hi"),
        Wait(seconds=0.5),
        Terminate(status="success"),
    ]
    results = [executor.execute(action, LEFT_UP) for action in good]
    bad = Click(point=s(640, 300))
    with pytest.raises(OutOfBounds):
        executor.execute(bad, LEFT_UP)
    with pytest.raises(ParseError):
        executor.execute(KeyPress(keys=("nokey",)), LEFT_UP)
    assert executor.calls == [(action, LEFT_UP) for action in good]
    assert [(a, m) for a, m, _ in executor.rejected] == [
        (bad, LEFT_UP),
        (KeyPress(keys=("nokey",)), LEFT_UP),
    ]
    assert all(r.ok and r.error is None and 0 <= r.duration_s < 1 for r in results)


def test_action_result_is_json() -> None:
    result = ActionResult(ok=False, error="xdotool type failed", duration_s=0.25)
    data = json.loads(result.model_dump_json())
    assert data == {"ok": False, "error": "xdotool type failed", "duration_s": 0.25}
    assert ActionResult.model_validate(data) == result
    assert ACTION_ADAPTER.validate_json(ACTION_ADAPTER.dump_json(Click(point=s(1, 2))))


def test_executor_settings_are_checked() -> None:
    assert isinstance(PyAutoGUIExecutor(display=":99"), Executor)
    with pytest.raises(ConfigurationError):
        PyAutoGUIExecutor(settle_s=-1)
    with pytest.raises(ConfigurationError):
        PyAutoGUIExecutor(type_with="keyboard")  # type: ignore[arg-type]


def run_python(code: str, **env_changes: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


CHILD = """
    import sys
    from actions.executor import PyAutoGUIExecutor
    from actions.schema import Click
    from agent.errors import ConfigurationError, OutOfBounds
    from agent.geometry import Monitor, Point
    monitor = Monitor(index=1, left=0, top=0, width=800, height=600)
    executor = PyAutoGUIExecutor()
    assert "pyautogui" not in sys.modules  # imported lazily, on first use
    try:
        executor.execute(Click(point=Point.screen(900, 10)), monitor)
    except OutOfBounds as exc:
        print("OutOfBounds", "pyautogui" in sys.modules)
    try:
        executor.execute(Click(point=Point.screen(10, 10)), monitor)
    except ConfigurationError as exc:
        print("ConfigurationError:", exc)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY matters on X11 only")
def test_no_display_is_a_configuration_error_and_checks_come_first() -> None:
    done = run_python(CHILD)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "OutOfBounds False"  # rejected before pyautogui was even imported
    assert lines[1].startswith("ConfigurationError: no display: set DISPLAY")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY matters on X11 only")
def test_unreachable_display_is_a_configuration_error() -> None:
    done = run_python(CHILD, DISPLAY=":4321")
    assert done.returncode == 0, done.stderr
    assert "ConfigurationError: pyautogui cannot use display ':4321'" in done.stdout


def test_pyautogui_is_imported_only_by_the_executor() -> None:
    pattern = re.compile(r"^\s*(import pyautogui|from pyautogui\b)", re.MULTILINE)
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in ("agent", "actions")
        for path in (ROOT / package).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    )
    assert importers == ["actions/executor.py"]
