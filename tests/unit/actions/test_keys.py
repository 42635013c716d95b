"""Key-name normalization (model dialects -> pyautogui names), X11 keysyms, and X11Keyboard's
key events, spare-keycode bookkeeping and remap barrier (with a fake X connection: no display
needed)."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Collection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.key_names import (
    KEYSYMS,
    char_keysym,
    check_text,
    key_keysym,
    keysym,
    normalize_key,
    normalize_keys,
    split_combo,
)
from actions.x11_keyboard import X11Keyboard, raised_inside_xlib
from agent.errors import ExecutionError, ModelError, ParseError


def pyautogui_key_names() -> set[str]:
    """pyautogui.KEY_NAMES, read from its source (importing pyautogui needs a display)."""
    spec = importlib.util.find_spec("pyautogui")
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "KEY_NAMES" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    raise AssertionError("KEY_NAMES not found in pyautogui")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Qwen computer-use / pyautogui style
        ("ctrl", "ctrl"),
        ("alt", "alt"),
        ("shift", "shift"),
        ("enter", "enter"),
        ("esc", "esc"),
        ("tab", "tab"),
        ("space", "space"),
        ("backspace", "backspace"),
        ("delete", "delete"),
        ("pagedown", "pagedown"),
        ("home", "home"),
        ("f5", "f5"),
        # case-insensitive, separators ignored
        ("CTRL", "ctrl"),
        ("Ctrl", "ctrl"),
        ("ENTER", "enter"),
        ("Page Down", "pagedown"),
        ("page-up", "pageup"),
        ("F12", "f12"),
        ("f24", "f24"),
        # X11 keysyms (xdotool)
        ("Control_L", "ctrl"),
        ("Control_R", "ctrlright"),
        ("Shift_L", "shift"),
        ("Alt_L", "alt"),
        ("Super_L", "win"),
        ("Return", "enter"),
        ("BackSpace", "backspace"),
        ("Page_Down", "pagedown"),
        ("Prior", "pageup"),
        ("Next", "pagedown"),
        ("KP_Enter", "enter"),
        ("KP_7", "num7"),
        ("XF86AudioRaiseVolume", "volumeup"),
        ("less", "<"),
        ("plus", "+"),
        ("slash", "/"),
        ("space", "space"),
        # browser KeyboardEvent.key
        ("ArrowLeft", "left"),
        ("ArrowUp", "up"),
        ("Escape", "esc"),
        ("PageDown", "pagedown"),
        ("PageUp", "pageup"),
        ("Meta", "win"),
        ("ContextMenu", "apps"),
        ("Insert", "insert"),
        # Mac and Windows words, other spellings
        ("cmd", "win"),
        ("command", "win"),
        ("super", "win"),
        ("win", "win"),
        ("meta", "win"),
        ("option", "alt"),
        ("return", "enter"),
        ("del", "delete"),
        ("pgdn", "pagedown"),
        # single characters keep their case; whitespace characters are named
        ("a", "a"),
        ("A", "A"),
        ("1", "1"),
        ("<", "<"),
        ("+", "+"),
        ("é", "é"),
        ("東", "東"),
        (" ", "space"),
        ("\t", "tab"),
        ("\n", "enter"),
        ("\r", "enter"),
    ],
)
def test_normalize_key(name: str, expected: str) -> None:
    assert normalize_key(name, platform="linux") == expected


def test_super_key_is_command_on_macos() -> None:
    for name in ("cmd", "super", "win", "Meta", "Super_L"):
        assert normalize_key(name, platform="darwin") == "command"
    assert normalize_key("option", platform="darwin") == "alt"  # pyautogui: alt is Option


@pytest.mark.parametrize("name", ["foo", "ctrl+", "", "  ", "Hyper_Q", "\x07", "\x00"])
def test_unknown_key_is_a_parse_error_for_the_model(name: str) -> None:
    with pytest.raises(ParseError) as info:
        normalize_key(name)
    assert isinstance(info.value, ModelError)  # fed back to the model, not raised to the user


def test_unknown_key_message_helps_the_model() -> None:
    with pytest.raises(ParseError, match=r"unknown key 'pagedwn'\. Did you mean 'pagedown'") as e:
        normalize_key("pagedwn")
    assert "'ctrl'" in str(e.value) and "single character" in str(e.value)
    with pytest.raises(ParseError, match="must be a string"):
        normalize_key(17)  # type: ignore[arg-type]


def test_every_name_is_a_pyautogui_key_name() -> None:
    valid = pyautogui_key_names()
    assert set(KEYSYMS) <= valid
    for name in [*KEYSYMS, "cmd", "option", "Return", "ArrowLeft", "KP_0", "Control_R"]:
        for platform in ("linux", "darwin", "win32"):
            key = normalize_key(name, platform=platform)
            assert key in valid, (name, platform, key)


def test_normalize_key_is_idempotent() -> None:
    for name in [*KEYSYMS, *KEYSYMS.values(), "cmd", "ArrowLeft", "less", "a", "A", "<", "東"]:
        key = normalize_key(name)
        assert normalize_key(key) == key


@given(st.characters(blacklist_categories=("Cc", "Cs")))
def test_any_printable_character_is_its_own_key(char: str) -> None:
    key = normalize_key(char)
    assert key == ("space" if char == " " else char)
    assert keysym(key)


def test_keysyms_are_real_x11_keysyms() -> None:
    xk = pytest.importorskip("Xlib.XK")  # python-xlib comes with pyautogui on Linux
    xk.load_keysym_group("xf86")
    for name, sym in KEYSYMS.items():
        # python-xlib spells XF86 keysyms "XF86_AudioMute"; X11 and xdotool "XF86AudioMute"
        assert xk.string_to_keysym(sym.replace("XF86", "XF86_")), (name, sym)
        assert xk.string_to_keysym(sym.replace("XF86", "XF86_")) == key_keysym(name), name
    for char in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~aZ09":
        assert xk.string_to_keysym(keysym(char)) == char_keysym(char) == ord(char), char
        assert key_keysym(char) == ord(char)


def test_keysym_of_characters() -> None:
    assert [keysym(c) for c in "aZ7<> "[:-1]] == ["a", "Z", "7", "less", "greater"]
    assert keysym("é") == "U00E9" and keysym("東") == "U6771" and keysym("enter") == "Return"
    assert char_keysym("a") == 0x61 and char_keysym("é") == 0xE9
    assert char_keysym("東") == 0x1006771 and char_keysym("€") == 0x10020AC
    with pytest.raises(ParseError):
        keysym("notakey")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("ctrl c", ["ctrl", "c"]),
        ("ctrl+c", ["ctrl", "c"]),
        ("ctrl + c", ["ctrl", "c"]),
        ("Ctrl+Shift+T", ["Ctrl", "Shift", "T"]),
        ("ctrl++", ["ctrl", "plus"]),
        ("ctrl +", ["ctrl", "+"]),
        ("+", ["+"]),
        ("alt f4", ["alt", "f4"]),
        ("  enter ", ["enter"]),
    ],
)
def test_split_combo(text: str, parts: list[str]) -> None:
    assert split_combo(text) == parts


def test_normalize_keys() -> None:
    assert normalize_keys(["ctrl", "c"]) == ("ctrl", "c")
    assert normalize_keys(["Control_L", "Shift_L", "T"]) == ("ctrl", "shift", "T")
    assert normalize_keys(["ctrl+c"]) == ("ctrl", "c")  # a combo in one item: split
    assert normalize_keys(("Ctrl+Shift+Esc",)) == ("ctrl", "shift", "esc")
    assert normalize_keys(["ctrl++"]) == ("ctrl", "+")
    with pytest.raises(ParseError, match="at least one key"):
        normalize_keys([])
    with pytest.raises(ParseError, match="'foo'"):
        normalize_keys(["ctrl+foo"])
    with pytest.raises(ParseError, match="'nokey'"):
        normalize_keys(["ctrl", "nokey"])


def test_check_text() -> None:
    check_text("héllo 東京 <x> & done\n\tnext\r\n\u00a0\u200b")
    with pytest.raises(ParseError, match="control character"):
        check_text("bell\x07")


class FakeConnection:
    """python-xlib Display stand-in: keycodes 8..15 with a keyboard map, the modifier map (Shift
    on keycode 11), the keys down and Caps Lock, and a log of key events and map changes."""

    def __init__(self, rows: dict[int, tuple[int, int]], *, lock: bool = False) -> None:
        self.display = SimpleNamespace(info=SimpleNamespace(min_keycode=8, max_keycode=15))
        self.rows = {code: rows.get(code, (0, 0)) for code in range(8, 16)}
        self.changes: list[tuple[int, int]] = []
        self.log: list[tuple[str, int]] = []  # ("down"/"up", keycode), ("map", keycode)
        self.down: set[int] = set()
        self.lock = lock
        self.fail_at = 0  # raise KeyboardInterrupt instead of sending this key event (1-based)
        self.key_events = 0
        self.syncs = 0
        root = SimpleNamespace(id=1, query_pointer=lambda: SimpleNamespace(
            mask=2 if self.lock else 0, child=0))
        self._screen = SimpleNamespace(root=root)

    def get_keyboard_mapping(self, first: int, count: int) -> list[tuple[int, int]]:
        return [self.rows[c] for c in range(first, first + count)]

    def change_keyboard_mapping(self, first: int, keysyms: list[tuple[int, int]]) -> None:
        self.rows[first] = keysyms[0]
        self.changes.append((first, keysyms[0][0]))
        self.log.append(("map", first))

    def get_modifier_mapping(self) -> list[list[int]]:
        return [[11, 0], [], [], [], [], [], [], []]

    def query_keymap(self) -> list[int]:
        return [sum(1 << bit for bit in range(8) if byte * 8 + bit in self.down)
                for byte in range(32)]

    def xtest_fake_input(self, event_type: int, detail: int) -> None:
        self.key_events += 1
        if self.key_events == self.fail_at:
            raise KeyboardInterrupt
        pressed = event_type == 2
        if pressed and self.rows[detail][0] == CAPS and detail not in self.down:
            self.lock = not self.lock
        (self.down.add if pressed else self.down.discard)(detail)
        self.log.append(("down" if pressed else "up", detail))

    def screen(self) -> SimpleNamespace:
        return self._screen

    def get_input_focus(self) -> SimpleNamespace:
        return SimpleNamespace(focus=FOCUS)

    def flush(self) -> None:
        pass

    def sync(self) -> None:
        self.syncs += 1


A, B, SHIFT, CAPS, RETURN = char_keysym("a"), char_keysym("b"), 0xFFE1, 0xFFE5, 0xFF0D
E, U, T, K = (char_keysym(c) for c in "éü東京")
FOCUS = 42  # the window that has the focus


def keyboard(
    extra: dict[int, tuple[int, int]] | None = None,
) -> tuple[X11Keyboard, FakeConnection]:
    # keycodes 9, 10, 11 carry a/A, b/B and shift; 8 (reserved), 12..15 are spare (or ``extra``)
    conn = FakeConnection({9: (A, ord("A")), 10: (B, ord("B")), 11: (SHIFT, 0), **(extra or {})})
    return X11Keyboard(":0", conn, delay_ms=0), conn


def test_keymap_maps_missing_characters_on_spare_keycodes_highest_first() -> None:
    kb, conn = keyboard()
    assert kb._ensure([A, B]) is False and conn.changes == [] and conn.syncs == 0
    assert kb._ensure([E, A, T, E]) is True
    assert conn.changes == [(15, E), (14, T)] and conn.rows[15] == (E, E)
    assert kb._ensure([T, E]) is False  # already mapped: no remap, nothing races
    kb.restore()
    assert conn.rows[15] == conn.rows[14] == (0, 0) and conn.rows[9] == (A, ord("A"))


def test_keymap_recycles_least_recently_used_keycodes() -> None:
    kb, conn = keyboard()
    kb._ensure([E, U, T, K])  # fills 15, 14, 13, 12; keycode 8 is never used
    kb._ensure([E])  # E becomes the most recently used
    kb._ensure([char_keysym("ß")])
    assert conn.changes[-1] == (14, char_keysym("ß"))  # U (least recently used) gave way
    assert conn.rows[15] == (E, E)
    changes = list(conn.changes)
    with pytest.raises(ExecutionError, match="spare"):
        kb._ensure([char_keysym(c) for c in "αβγδε"])  # 5 distinct > 4 spare keycodes
    assert conn.changes == changes  # refused before anything changed


def test_keymap_plan_splits_text_into_runs_that_fit() -> None:
    kb, _ = keyboard()
    assert kb._plan([A, E, B, A]) == [4]
    text = [char_keysym(c) for c in "abαβγδεζ"]
    assert kb._plan(text) == [6, 8]  # 4 spare keycodes: αβγδ, then εζ
    full = FakeConnection({code: (A, A) for code in range(8, 16)})
    with pytest.raises(ExecutionError, match="no spare keycode"):
        X11Keyboard(":0", full)._plan([E])


def test_a_named_key_is_never_reached_through_shift() -> None:
    kb, conn = keyboard({12: (0xFF95, 0xFFB7)})  # KP_Home, KP_7 (Shift does not reach it)
    assert kb._plan([0xFFB7], named={0xFFB7}) == [1]
    kb.press(["num7"])
    assert conn.changes == [(15, 0xFFB7)] and conn.log[-2:] == [("down", 15), ("up", 15)]


def test_type_sends_every_character_with_shift_where_its_level_needs_it() -> None:
    kb, conn = keyboard({12: (RETURN, 0)})
    kb.type("ab\r\nAé")
    assert conn.log == [
        ("map", 15),  # é, mapped before anything is typed
        ("down", 9), ("up", 9), ("down", 10), ("up", 10), ("down", 12), ("up", 12),  # a b Return
        ("down", 11), ("down", 9), ("up", 9), ("up", 11),  # A: Shift + a
        ("down", 15), ("up", 15),  # é
    ]
    assert conn.down == set()


def test_press_holds_keys_in_order_and_releases_them_in_reverse() -> None:
    kb, conn = keyboard()
    kb.press(["shift", "A", "é"])  # "A" needs Shift, which is already down: pressed once
    assert conn.log == [("map", 15), ("down", 11), ("down", 9), ("down", 15),
                        ("up", 15), ("up", 9), ("up", 11)]


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4])
def test_an_interrupted_key_event_leaves_no_key_down(fail_at: int) -> None:
    kb, conn = keyboard()
    conn.fail_at = fail_at
    with pytest.raises(KeyboardInterrupt):
        kb.press(["shift", "a", "b"])
    assert conn.down == set() and conn.syncs  # released, and the server has handled it


def test_an_interrupt_inside_python_xlib_leaves_its_connection_alone() -> None:
    """Raised in python-xlib's own code (its globals name an ``Xlib.`` module, as its frames
    do), the interrupt leaves the connection stuck: not one more call goes out on it."""
    kb, conn = keyboard()
    inside: dict[str, Any] = {"__name__": "Xlib.protocol.display"}
    exec("def send(*args):\n    raise KeyboardInterrupt", inside)  # noqa: S102 - test's own code
    sent = conn.xtest_fake_input
    conn.xtest_fake_input = lambda t, d: inside["send"]() if conn.key_events == 1 else sent(t, d)
    with pytest.raises(KeyboardInterrupt) as caught:
        kb.press(["shift", "a"])
    assert raised_inside_xlib(caught.value)
    assert conn.down == {11} and conn.syncs == 0  # Shift is for the executor to release


def test_held_modifiers_and_caps_lock_are_cleared_while_typing() -> None:
    kb, conn = keyboard({12: (CAPS, 0)})
    conn.down, conn.lock = {11}, True  # the user holds Shift, Caps Lock is on
    kb.type("a")
    assert conn.log == [("up", 11), ("down", 12), ("up", 12),  # Shift up, Caps Lock off
                        ("down", 9), ("up", 9),
                        ("down", 12), ("up", 12), ("down", 11)]  # both put back
    assert conn.down == {11} and conn.lock


class Pings:
    """Stands in for X11Keyboard._ping: logs the windows pinged; ``deaf`` do not answer."""

    def __init__(self, conn: FakeConnection, deaf: Collection[int] = ()) -> None:
        self.conn, self.deaf = conn, set(deaf)

    def __call__(self, windows: Collection[int]) -> set[int]:
        self.conn.log.append(("ping", *sorted(windows)))  # type: ignore[arg-type]
        return self.deaf & set(windows)


def test_a_keycode_that_carried_keys_is_remapped_only_after_its_reader_answered() -> None:
    kb, conn = keyboard()
    kb._ping = Pings(conn)  # type: ignore[method-assign]
    kb._ensure([char_keysym(c) for c in "αβγδ"])  # on 15, 14, 13, 12
    kb._ensure([E])  # recycles α's keycode 15, which no key event used: nobody to ask
    kb.type("βγδ")
    kb.type("ü")  # recycles E's keycode 15, never typed either
    assert ("ping", FOCUS) not in conn.log
    conn.log.clear()
    kb.type("ß")  # recycles β's keycode 14, which carried "β": ask its reader first
    assert conn.log[:2] == [("ping", FOCUS), ("map", 14)]
    conn.log.clear()
    kb.restore()  # "ü" was typed since: ask again, then unmap
    assert conn.log[0] == ("ping", FOCUS) and conn.log.count(("map", 14)) == 1
    assert all(row == (0, 0) for code, row in conn.rows.items() if code >= 12)


def test_a_window_that_does_not_answer_gets_pause_s(monkeypatch: pytest.MonkeyPatch) -> None:
    kb, conn = keyboard()
    kb._ping = Pings(conn, deaf={FOCUS})  # type: ignore[method-assign]
    slept: list[float] = []
    monkeypatch.setattr("actions.x11_keyboard.time.sleep", slept.append)
    kb.type("αβγδ")
    assert slept == []
    kb.type("ε", pause_s=0.25)
    assert slept == [0.25] and ("ping", FOCUS) in conn.log
