"""Unicode typing stays exact when the machine is busy and when the application falls behind.

An Xlib application (the Tk test app here) translates a key event with the keyboard map of the
moment it *reads* the event, not of the moment the event was sent. X11Keyboard puts
characters the map lacks on spare keycodes; when it remaps one (recycling it for a long text, or
unmapping it when the executor closes) before the application has read the key events sent on
it, those characters change or vanish (``héllo 東京 <x>`` arrived as ``héllo 東 <x>``). So these
tests type texts back to back and close the executor right after, as the end of an agent run
does, under a CPU hog on every core and into an application stopped with SIGSTOP (the extreme of
"behind"), and compare the Entry's text exactly. Every wait is a time-bounded poll.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from actions.executor import PyAutoGUIExecutor, _x_connect
from actions.schema import Action, Click, KeyPress, TypeText
from actions.x11_keyboard import X11Keyboard
from agent.geometry import Monitor, Point
from agent.screen.xvfb import VirtualDisplay
from agent.testing.tk_app import TkApp

pytestmark = pytest.mark.gui

DisplayFactory = Callable[..., VirtualDisplay]  # the fixtures in conftest.py
AppFactory = Callable[..., TkApp]
WIDTH, HEIGHT = 1280, 800
SCREEN = Monitor(index=0, left=0, top=0, width=WIDTH, height=HEIGHT, is_primary=True)
TIMEOUT = 5.0
SHORT = "héllo 東京 <x>"
#: 42 distinct non-ASCII characters: more than Xvfb's 18 spare keycodes, so keycodes are recycled
LONG = "αβγδεζηθικλμνξπρστφχψω東京大阪日本語中文字漢ÀÉÎÕÜñçøå"
TEXTS = (SHORT, LONG, SHORT)
EXPECTED = "".join(TEXTS)
ROUNDS = 12
HOG_S = 120  # a hog process ends by itself after this, even if the test run is killed
STALL_S = 1.0  # how long the application is stopped


def missing(message: str) -> None:
    if "CI" in os.environ:  # nothing is skipped silently in CI
        pytest.fail(f"{message} (CI is set, so this is a failure)", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def cpu_hog() -> Iterator[list[subprocess.Popen[bytes]]]:
    """One busy-looping process per core, at normal priority, killed on the way out."""
    code = f"import time\nend = time.monotonic() + {HOG_S}\nwhile time.monotonic() < end: pass"
    hogs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(os.cpu_count() or 1):
            hogs.append(subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL))
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait(timeout=10)


@pytest.fixture
def display(virtual_display: DisplayFactory) -> VirtualDisplay:
    if shutil.which("xdotool") is None:  # the executor's xdotool keyboard asks for it
        missing("xdotool is not installed (Debian: apt install xdotool)")
    return virtual_display(WIDTH, HEIGHT)


@pytest.fixture
def app(display: VirtualDisplay, tk_app: AppFactory) -> TkApp:
    """The Tk app, its Entry focused (clicked)."""
    app = tk_app(display, x=200, y=150)
    with executor(display) as ex:
        x, y = app.center("entry")
        do(ex, Click(point=Point.screen(x, y)))
    app.wait_for(lambda s: s["focus"] == "entry", TIMEOUT, "entry focused")
    return app


def executor(display: VirtualDisplay) -> PyAutoGUIExecutor:
    return PyAutoGUIExecutor(settle_s=0, type_with="xdotool", display=display.name)


def do(ex: PyAutoGUIExecutor, action: Action) -> None:
    result = ex.execute(action, SCREEN)
    assert result.ok and result.error is None


def settled_text(app: TkApp, expected: str) -> str:
    """The Entry's text once it equals ``expected``, or whatever it is after TIMEOUT."""
    try:
        return str(app.wait_for(lambda s: s["entry_text"] == expected, TIMEOUT)["entry_text"])
    except TimeoutError:
        return str(app.state()["entry_text"])


def clear(display: VirtualDisplay, app: TkApp) -> None:
    with executor(display) as ex:
        do(ex, KeyPress(keys=("ctrl", "/")))  # Tk's <<SelectAll>> in an Entry
        do(ex, KeyPress(keys=("backspace",)))
    app.wait_for(lambda s: s["entry_text"] == "", TIMEOUT, "an empty entry")


def type_and_close(display: VirtualDisplay) -> float:
    """Type TEXTS with a new executor and close it at once (unmapping its keycodes); seconds."""
    t0 = time.monotonic()
    with executor(display) as ex:
        for text in TEXTS:
            do(ex, TypeText(text=text))
    return time.monotonic() - t0


def test_unicode_typing_is_exact_under_a_cpu_hog(display: VirtualDisplay, app: TkApp) -> None:
    wrong: list[str] = []
    with cpu_hog() as hogs:
        for _ in range(ROUNDS):
            type_and_close(display)
            text = settled_text(app, EXPECTED)
            if text != EXPECTED:
                wrong.append(text)
            clear(display, app)
        assert all(hog.poll() is None for hog in hogs), "the CPU hog was not running throughout"
    assert not wrong, f"{len(wrong)} of {ROUNDS} rounds typed something else: {wrong[:3]}"


def test_typing_waits_for_an_application_that_is_not_reading(
    display: VirtualDisplay, app: TkApp
) -> None:
    pid = app.proc.pid
    resume = threading.Timer(STALL_S, os.kill, (pid, signal.SIGCONT))
    os.kill(pid, signal.SIGSTOP)
    try:
        resume.start()
        seconds = type_and_close(display)
    finally:
        resume.cancel()
        os.kill(pid, signal.SIGCONT)
    assert settled_text(app, EXPECTED) == EXPECTED
    assert seconds >= STALL_S * 0.9  # it waited for the application before remapping


@pytest.fixture
def keyboard(display: VirtualDisplay) -> Iterator[X11Keyboard]:
    """An X11Keyboard on a python-xlib connection of its own."""
    from Xlib.display import Display

    with _x_connect(display.name):  # quiet python3-xlib connect (no ~/.Xauthority here)
        conn = Display(display.name)
    kb = X11Keyboard(display.name, conn)
    try:
        yield kb
    finally:
        kb.restore()
        conn.close()


def keys_down(kb: X11Keyboard) -> list[int]:
    """Keycodes the X server has down now."""
    keymap = kb.connection.query_keymap()
    return [code for code in range(8, 256) if keymap[code // 8] >> (code % 8) & 1]


@pytest.mark.parametrize(
    ("keys", "text", "fail_at"),
    [
        (("ctrl", "shift", "é"), None, 3),  # ctrl and shift down, é about to be pressed
        ((), "AB東", 2),  # shift down, a about to be pressed
        ((), "AB東", 10),  # 東's press sent, its release about to be
    ],
)
def test_an_interrupted_key_event_leaves_no_key_down(
    keyboard: X11Keyboard,
    app: TkApp,
    monkeypatch: pytest.MonkeyPatch,
    keys: tuple[str, ...],
    text: str | None,
    fail_at: int,
) -> None:
    conn = keyboard.connection
    send = conn.xtest_fake_input
    calls = 0

    def fake_input(event_type: int, detail: int) -> None:
        nonlocal calls
        calls += 1
        if calls == fail_at:
            raise KeyboardInterrupt  # e.g. Ctrl+C in the middle of a key event
        send(event_type, detail)

    monkeypatch.setattr(conn, "xtest_fake_input", fake_input, raising=False)
    with pytest.raises(KeyboardInterrupt):
        keyboard.press(keys) if text is None else keyboard.type(text)
    monkeypatch.undo()
    assert keys_down(keyboard) == []
    keyboard.type("z")  # the app has seen everything before this key: nothing is held there
    state = app.wait_for(lambda s: s["keys"][-1:] == ["z"], TIMEOUT, "a plain z")
    assert state["entry_text"].endswith("z") and "Z" not in state["entry_text"]


def test_held_modifiers_and_caps_lock_do_not_change_typed_text(
    keyboard: X11Keyboard, app: TkApp
) -> None:
    conn, root = keyboard.connection, keyboard.connection.screen().root
    shift, caps = (conn.keysym_to_keycode(sym) for sym in (0xFFE1, 0xFFE5))  # Shift_L, Caps_Lock
    keyboard._send([[(shift, True), (caps, True), (caps, False)]])  # the user holds Shift, caps on
    try:
        assert shift in keys_down(keyboard) and root.query_pointer().mask & 2  # LockMask
        keyboard.type("aB é")
        app.wait_for(lambda s: s["entry_text"] == "aB é", TIMEOUT, "aB é, not Ab É")
        assert shift in keys_down(keyboard) and root.query_pointer().mask & 2  # both put back
    finally:
        keyboard._send([[(shift, False), (caps, True), (caps, False)]])
    assert keys_down(keyboard) == [] and not root.query_pointer().mask & 2
