"""Key-name normalization (model dialects -> pyautogui names), X11 keysyms, and the spare-keycode
bookkeeping of XdotoolKeyboard (with a fake keyboard map: no display needed)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.keys import (
    KEYSYMS,
    XdotoolKeyboard,
    char_keysym,
    check_text,
    keysym,
    normalize_key,
    normalize_keys,
    split_combo,
)
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
    for char in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~aZ09":
        assert xk.string_to_keysym(keysym(char)) == char_keysym(char) == ord(char), char


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
    """python-xlib Display stand-in: keycodes 8..15, a keyboard map, a change log."""

    def __init__(self, rows: dict[int, tuple[int, int]]) -> None:
        self.display = SimpleNamespace(info=SimpleNamespace(min_keycode=8, max_keycode=15))
        self.rows = {code: rows.get(code, (0, 0)) for code in range(8, 16)}
        self.changes: list[tuple[int, int]] = []
        self.syncs = 0

    def get_keyboard_mapping(self, first: int, count: int) -> list[tuple[int, int]]:
        return [self.rows[c] for c in range(first, first + count)]

    def change_keyboard_mapping(self, first: int, keysyms: list[tuple[int, int]]) -> None:
        self.rows[first] = keysyms[0]
        self.changes.append((first, keysyms[0][0]))

    def sync(self) -> None:
        self.syncs += 1


A, B = char_keysym("a"), char_keysym("b")
E, U, T, K = (char_keysym(c) for c in "éü東京")


def keyboard() -> tuple[XdotoolKeyboard, FakeConnection]:
    # keycodes 9, 10, 11 carry a/A, b/B and shift; 8 (reserved), 12..15 are spare
    conn = FakeConnection({9: (A, ord("A")), 10: (B, ord("B")), 11: (0xFFE1, 0)})
    return XdotoolKeyboard(":0", conn), conn


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
    with pytest.raises(ExecutionError, match="spare"):
        kb._ensure([char_keysym(c) for c in "αβγδε"])  # 5 distinct > 4 spare keycodes


def test_keymap_plan_splits_text_into_runs_that_fit() -> None:
    kb, _ = keyboard()
    assert kb._plan([A, E, B, A]) == [4]
    text = [char_keysym(c) for c in "abαβγδεζ"]
    assert kb._plan(text) == [6, 8]  # 4 spare keycodes: αβγδ, then εζ
    full = FakeConnection({code: (A, A) for code in range(8, 16)})
    with pytest.raises(ExecutionError, match="no spare keycode"):
        XdotoolKeyboard(":0", full)._plan([E])
