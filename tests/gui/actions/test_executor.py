"""PyAutoGUIExecutor against a real private Xvfb and a real Tk app (agent.testing.tk_app).

pyautogui binds to one X display per process (python-xlib connects at import), so this module
starts ONE Xvfb for all its tests (module scope) and the executor is built for that display;
``test_executor_re_points_pyautogui_to_another_display`` checks the re-binding. Every wait is a
time-bounded poll of the app's state, never a fixed sleep.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from actions.executor import ActionResult, PyAutoGUIExecutor, _x_connect
from actions.schema import Action, Click, Drag, KeyPress, MouseMove, Scroll, TypeText, Wait
from agent.errors import Aborted, ExecutionError, OutOfBounds
from agent.geometry import Monitor, Point
from agent.screen.xvfb import VirtualDisplay, XvfbNotFoundError, wait_until
from agent.testing.tk_app import State, TkApp

pytestmark = pytest.mark.gui

AppFactory = Callable[..., TkApp]  # the tk_app fixture in conftest.py
WIDTH, HEIGHT = 1280, 800
SCREEN = Monitor(index=0, left=0, top=0, width=WIDTH, height=HEIGHT, is_primary=True)
HOME = (900, 600)  # where the pointer waits between tests: off the app, off the corners
TIMEOUT = 5.0


def missing(message: str) -> None:
    if "CI" in os.environ:  # nothing is skipped silently in CI
        pytest.fail(f"{message} (CI is set, so this is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def display() -> Iterator[VirtualDisplay]:
    if shutil.which("xdotool") is None:
        missing("xdotool is not installed (Debian: apt install xdotool)")
    vd = VirtualDisplay(WIDTH, HEIGHT)
    try:
        vd.start()
    except XvfbNotFoundError as exc:
        missing(f"Xvfb is not installed: {exc}")
    yield vd
    vd.stop()


@pytest.fixture(scope="module")
def executor(display: VirtualDisplay) -> Iterator[PyAutoGUIExecutor]:
    with PyAutoGUIExecutor(settle_s=0, display=display.name) as ex:  # we wait on app state
        yield ex


def xdotool(display: VirtualDisplay, *args: str) -> None:
    """Input from outside the executor: the user's hand."""
    subprocess.run(["xdotool", *args], env=display.env, check=True, timeout=10)


@pytest.fixture(autouse=True)
def pointer_home(display: VirtualDisplay, executor: PyAutoGUIExecutor) -> Iterator[None]:
    xdotool(display, "mousemove", *map(str, HOME))
    wait_until(lambda: executor.position() == HOME, TIMEOUT, what="pointer at home")
    yield


@pytest.fixture
def app(display: VirtualDisplay, tk_app: AppFactory) -> TkApp:
    return tk_app(display, x=200, y=150)


def at(x: float, y: float) -> Point:
    return Point.screen(0, 0).model_copy(update={"x": x, "y": y})


def do(executor: PyAutoGUIExecutor, action: Action, monitor: Monitor = SCREEN) -> ActionResult:
    result = executor.execute(action, monitor)
    assert result.ok and result.error is None and result.duration_s >= 0
    return result


def last_click_at(x: int, y: int, button: int = 1) -> Callable[[State], bool]:
    def check(s: State) -> bool:
        c = s["last_click"]
        return c is not None and (c["x_root"], c["y_root"], c["button"]) == (x, y, button)

    return check


def test_left_click_hits_the_button_and_40px_off_misses(
    executor: PyAutoGUIExecutor, app: TkApp
) -> None:
    x, y = app.center("ok")
    do(executor, Click(point=at(x + 0.4, y - 0.4)))  # rounded, not truncated
    state = app.wait_for(lambda s: s["clicks"]["ok"] == 1, TIMEOUT, "OK clicked once")
    assert state["last_click"]["widget"] == "ok" and executor.position() == (x, y)
    do(executor, Click(point=at(x, y + 40)))
    state = app.wait_for(last_click_at(x, y + 40), TIMEOUT, "the click 40 px below OK")
    assert state["clicks"] == {"ok": 1, "cancel": 0} and state["last_click"]["widget"] != "ok"


@pytest.mark.parametrize(
    ("button", "count", "counter", "number"),
    [
        ("left", 2, "double_clicks", 1),
        ("right", 1, "right_clicks", 3),
        ("middle", 1, "middle_clicks", 2),
    ],
)
def test_double_right_and_middle_clicks(
    executor: PyAutoGUIExecutor, app: TkApp, button: str, count: int, counter: str, number: int
) -> None:
    x, y = app.center("cancel")
    do(executor, Click(point=at(x, y), button=button, count=count))  # type: ignore[arg-type]
    state = app.wait_for(lambda s: s["mouse"][counter] == 1, TIMEOUT, counter)
    assert (state["last_click"]["x_root"], state["last_click"]["y_root"]) == (x, y)
    assert state["last_click"]["button"] == number


def test_click_without_a_point_clicks_where_the_pointer_is(
    executor: PyAutoGUIExecutor, app: TkApp
) -> None:
    x, y = app.center("ok")
    do(executor, MouseMove(point=at(x, y)))
    do(executor, Click())
    app.wait_for(lambda s: s["clicks"]["ok"] == 1, TIMEOUT, "OK clicked at the pointer")


@pytest.mark.parametrize("text", ["héllo 東京 <x> & done", "ASCII: <>|{}~`!@#$%^&*()_+ ok"])
def test_typing_reaches_the_entry_exactly(
    executor: PyAutoGUIExecutor, app: TkApp, text: str
) -> None:
    do(executor, Click(point=at(*app.center("entry"))))
    app.wait_for(lambda s: s["focus"] == "entry", TIMEOUT, "entry focused")
    do(executor, TypeText(text=text))
    app.wait_for(lambda s: s["entry_text"] == text, TIMEOUT, f"entry text {text!r}")


def test_typing_more_distinct_characters_than_spare_keycodes(
    executor: PyAutoGUIExecutor, app: TkApp
) -> None:
    text = "".join(chr(0x4E00 + i * 7) for i in range(40)) + " ünïcödé ÀÉÎÕÜ"
    do(executor, Click(point=at(*app.center("entry"))))
    do(executor, TypeText(text=text))
    app.wait_for(lambda s: s["entry_text"] == text, TIMEOUT, "40 distinct CJK characters")


def test_newline_presses_return(executor: PyAutoGUIExecutor, app: TkApp) -> None:
    do(executor, Click(point=at(*app.center("entry"))))
    do(executor, TypeText(text="a\nb"))
    # the app writes entry_text before it records the key: wait for both
    app.wait_for(
        lambda s: s["entry_text"] == "ab" and s["keys"][-3:] == ["a", "Return", "b"],
        TIMEOUT,
        "a, Return (not Linefeed), b",
    )


@pytest.mark.parametrize(
    ("keys", "seen"),
    [
        (("ctrl", "a"), "Control-a"),
        (("Control_L", "shift", "T"), "Control-Shift-T"),
        (("Escape",), "Escape"),
        (("alt", "F4"), "Alt-F4"),
        (("<",), "less"),
    ],
)
def test_key_combos(
    executor: PyAutoGUIExecutor, app: TkApp, keys: tuple[str, ...], seen: str
) -> None:
    do(executor, KeyPress(keys=keys))
    state = app.wait_for(lambda s: s["keys"] and s["keys"][-1].endswith(seen), TIMEOUT, seen)
    assert state["keys"][-1] in (seen, f"Shift-{seen}")


def test_pyautogui_keyboard_refuses_what_it_cannot_type(
    display: VirtualDisplay, executor: PyAutoGUIExecutor, app: TkApp
) -> None:
    plain = PyAutoGUIExecutor(settle_s=0, type_with="pyautogui", display=display.name)
    do(plain, Click(point=at(*app.center("entry"))))
    for text in ("é", "a<b", "東"):
        with pytest.raises(ExecutionError, match="pyautogui cannot type"):
            plain.execute(TypeText(text=text), SCREEN)
    do(plain, TypeText(text="Plain ASCII > ok"))
    do(plain, KeyPress(keys=("ctrl", "a")))
    state = app.wait_for(lambda s: s["keys"][-1:] == ["Control-a"], TIMEOUT, "ctrl+a")
    assert state["entry_text"] == "Plain ASCII > ok"  # nothing of the refused texts arrived


@pytest.mark.parametrize(("direction", "amount", "scroll"), [("up", 3, 3), ("down", 2, -2)])
def test_scroll(
    executor: PyAutoGUIExecutor, app: TkApp, direction: str, amount: int, scroll: int
) -> None:
    x, y = app.center("entry")
    do(executor, Scroll(point=at(x, y + 100), direction=direction, amount=amount))  # type: ignore[arg-type]
    app.wait_for(lambda s: s["mouse"]["scroll"] == scroll, TIMEOUT, f"scroll {scroll}")
    assert executor.position() == (x, y + 100)


def test_wheel_buttons_at_the_x_level(display: VirtualDisplay, executor: PyAutoGUIExecutor) -> None:
    """Tk 8.6.13 reports horizontal wheels as Shift-MouseWheel, which the app cannot tell from
    vertical ones: check the X buttons themselves (4 up, 5 down, 6 left, 7 right) on a window."""
    from Xlib import X
    from Xlib.display import Display

    with _x_connect(display.name):  # quiet python3-xlib connect (no ~/.Xauthority here)
        conn = Display(display.name)
    try:
        screen = conn.screen()
        window = screen.root.create_window(
            650,
            420,
            200,
            100,
            0,
            screen.root_depth,
            event_mask=X.ButtonPressMask,
            override_redirect=True,
        )
        window.map()
        conn.sync()
        wait_until(
            lambda: window.get_attributes().map_state == X.IsViewable,
            TIMEOUT,
            what="probe window mapped",
        )
        do(executor, Scroll(point=at(700, 450), direction="right", amount=2))
        for direction in ("left", "up", "down"):
            do(executor, Scroll(direction=direction, amount=1))
        buttons: list[int] = []

        def five_presses() -> bool:
            while conn.pending_events():
                event = conn.next_event()
                if event.type == X.ButtonPress:
                    buttons.append(event.detail)
            return len(buttons) >= 5

        wait_until(five_presses, TIMEOUT, what="five wheel button presses")
        assert buttons == [7, 7, 6, 4, 5]
    finally:
        conn.close()


def test_drag(executor: PyAutoGUIExecutor, app: TkApp) -> None:
    window = app.state()["window"]
    start = (window["x"] + 240, window["y"] + 120)
    end = (start[0] + 60, start[1] + 25)
    do(executor, Drag(start=at(*start), end=at(*end)))
    state = app.wait_for(lambda s: s["drags"], TIMEOUT, "a drag")
    assert state["drags"] == [
        {"button": 1, "widget": "window", "from": list(start), "to": list(end)}
    ]


@pytest.mark.parametrize(
    ("action", "monitor"),
    [
        (Click(point=at(WIDTH, 10)), SCREEN),
        (Click(point=at(10, -1)), SCREEN),
        (Drag(start=at(300, 300), end=at(300, HEIGHT + 5)), SCREEN),
        # a monitor covering the left half of the screen: on screen, but not on that monitor
        (Click(point=at(700, 100)), Monitor(index=1, left=0, top=0, width=640, height=800)),
        (Click(), Monitor(index=1, left=0, top=0, width=640, height=800)),
    ],  # pointer at HOME
)
def test_out_of_bounds_is_rejected_before_anything_moves(
    executor: PyAutoGUIExecutor, app: TkApp, action: Action, monitor: Monitor
) -> None:
    before = app.state()
    with pytest.raises(OutOfBounds, match="x must be in"):
        executor.execute(action, monitor)
    assert executor.position() == HOME
    assert app.state()["seq"] == before["seq"]  # the app saw nothing


def test_fail_safe_corner_aborts_the_run(
    display: VirtualDisplay, executor: PyAutoGUIExecutor, app: TkApp
) -> None:
    xdotool(display, "mousemove", "0", "0")  # the user throws the pointer into a corner
    wait_until(lambda: executor.position() == (0, 0), TIMEOUT, what="pointer in the corner")
    with pytest.raises(Aborted, match="fail-safe"):
        executor.execute(Click(point=at(*app.center("ok"))), SCREEN)
    assert executor.position() == (0, 0) and app.state()["clicks"]["ok"] == 0
    xdotool(display, "mousemove", str(WIDTH - 1), str(HEIGHT - 1))  # any corner
    wait_until(lambda: executor.position() == (WIDTH - 1, HEIGHT - 1), TIMEOUT, what="corner")
    with pytest.raises(Aborted):
        executor.execute(TypeText(text="x"), SCREEN)
    assert app.state()["entry_text"] == ""


def test_a_click_at_a_fail_safe_corner_aborts_before_the_pointer_moves(
    executor: PyAutoGUIExecutor, app: TkApp
) -> None:
    scroll = Scroll(point=at(0, HEIGHT - 1), direction="up", amount=1)
    for action in (Click(point=at(WIDTH - 1, 0)), scroll):
        with pytest.raises(Aborted, match="fail-safe"):
            executor.execute(action, SCREEN)
        assert executor.position() == HOME
    do(executor, Click(point=at(*app.center("ok"))))  # pyautogui's fail-safe is back on after
    app.wait_for(lambda s: s["clicks"]["ok"] == 1, TIMEOUT, "OK clicked")
    assert sys.modules["pyautogui"].FAILSAFE is True


def test_fail_safe_interrupts_a_wait(display: VirtualDisplay, executor: PyAutoGUIExecutor) -> None:
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(executor.execute, Wait(seconds=60), SCREEN)
        xdotool(display, "mousemove", "0", str(HEIGHT - 1))
        t0 = time.monotonic()
        with pytest.raises(Aborted):
            waiting.result(timeout=TIMEOUT)
        assert time.monotonic() - t0 < TIMEOUT


def test_executor_re_points_pyautogui_to_another_display(
    executor: PyAutoGUIExecutor, app: TkApp
) -> None:
    with VirtualDisplay(640, 480) as small:
        other = PyAutoGUIExecutor(settle_s=0, display=small.name)
        monitor = Monitor(index=0, left=0, top=0, width=640, height=480)
        do(other, MouseMove(point=at(639, 0)))  # a fail-safe corner of THIS screen
        assert other.position() == (639, 0)
        with pytest.raises(Aborted):
            other.execute(Click(), monitor)
    assert executor.position() == HOME  # the main display's pointer never moved
    x, y = app.center("ok")
    do(executor, MouseMove(point=at(639, 0)))  # not a corner on the 1280x800 screen
    do(executor, Click(point=at(x, y)))
    app.wait_for(lambda s: s["clicks"]["ok"] == 1, TIMEOUT, "OK clicked after re-pointing")
