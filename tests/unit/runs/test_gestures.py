"""A person's input events read as actions (agent/runs/gestures.py): pure, event by event."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from actions.schema import Click, Drag, KeyPress, Scroll, TypeText
from agent.geometry import Point
from agent.runs.gestures import (
    DRAG_PX,
    MULTI_CLICK_PX,
    MULTI_CLICK_S,
    SCROLL_PAUSE_S,
    TYPING_PAUSE_S,
    Gesture,
    GestureReader,
    Mark,
    pause_between,
)
from agent.runs.input_events import InputEvent, ServerClock, key_name, keysym_char

HOTKEYS = {"stop": ("ctrl", "shift", "f12"), "secret": ("ctrl", "shift", "f11")}


class Person:
    """Writes events the way the X server reports them, with a clock."""

    def __init__(self) -> None:
        self.t = 100.0
        self.x = self.y = 10
        self.events: list[InputEvent] = []

    def wait(self, seconds: float) -> Person:
        self.t += seconds
        return self

    def _add(self, kind: str, **fields: object) -> None:
        self.t += 0.01
        self.events.append(InputEvent(kind, self.t, self.x, self.y, **fields))  # type: ignore[arg-type]

    def move(self, x: int, y: int) -> Person:
        self.x, self.y = x, y
        self._add("motion")
        return self

    def click(self, button: int = 1, at: tuple[int, int] | None = None) -> Person:
        if at is not None:
            self.move(*at)
        self._add("button_down", button=button)
        self._add("button_up", button=button)
        return self

    def drag(self, to: tuple[int, int], button: int = 1) -> Person:
        self._add("button_down", button=button)
        self.move(*to)
        self._add("button_up", button=button)
        return self

    def key(self, name: str, char: str | None = None, up: bool = True) -> Person:
        self._add("key_down", key=name, char=char)
        if up:
            self._add("key_up", key=name, char=char)
        return self

    def release(self, name: str) -> Person:
        self._add("key_up", key=name)
        return self

    def type(self, text: str) -> Person:
        for char in text:
            if char.isupper():
                self.key("shift", up=False).key(char.lower(), char).release("shift")
            else:
                self.key("space" if char == " " else char, char)
        return self

    def combo(self, *keys: str) -> Person:
        for key in keys[:-1]:
            self.key(key, up=False)
        self.key(keys[-1])
        for key in reversed(keys[:-1]):
            self.release(key)
        return self


def read(person: Person, settle: bool = True) -> list[Gesture | Mark]:
    reader = GestureReader(HOTKEYS)
    out: list[Gesture | Mark] = []
    for event in person.events:
        out += reader.feed(event)
    if settle:
        out += reader.advance(person.t + 5)
    return out


def actions(found: Iterable[Gesture | Mark]) -> list[object]:
    return [a for g in found if isinstance(g, Gesture) for a in g.actions]


def test_a_click_waits_for_a_second_one_then_is_one_click() -> None:
    person = Person().click(at=(300, 200))
    reader = GestureReader()
    found = [g for e in person.events for g in reader.feed(e)]
    assert found == [] and reader.starts() == [person.events[1].time]
    assert reader.advance(person.t + MULTI_CLICK_S - 0.05) == []
    (click,) = reader.advance(person.t + MULTI_CLICK_S + 0.05)
    assert isinstance(click, Gesture) and click.kind == "click"
    assert click.actions == (Click(point=Point.screen(300, 200)),)
    assert click.started == person.events[1].time and click.ended == person.events[2].time


@pytest.mark.parametrize("count", [2, 3])
def test_double_and_triple_clicks_are_one_action(count: int) -> None:
    person = Person().move(50, 60)
    for _ in range(count):
        person.click()
    assert actions(read(person)) == [Click(point=Point.screen(50, 60), count=count)]


def test_a_fourth_click_starts_another_and_slow_or_far_clicks_stay_apart() -> None:
    person = Person().move(50, 60).click().click().click().click()
    assert actions(read(person)) == [
        Click(point=Point.screen(50, 60), count=3),
        Click(point=Point.screen(50, 60)),
    ]
    slow = Person().click(at=(5, 5)).wait(MULTI_CLICK_S + 0.1).click()
    far = Person().click(at=(5, 5)).click(at=(5 + MULTI_CLICK_PX + 1, 5))
    assert [len(g.actions) for g in read(slow) if isinstance(g, Gesture)] == [1, 1]
    assert actions(read(far)) == [Click(point=Point.screen(5, 5)), Click(point=Point.screen(11, 5))]
    right = Person().click(3, at=(7, 8)).click(1)
    assert actions(read(right)) == [
        Click(point=Point.screen(7, 8), button="right"),
        Click(point=Point.screen(7, 8)),
    ]


def test_a_press_moved_beyond_the_threshold_is_a_drag_a_shake_is_not() -> None:
    drag = Person().move(100, 100).drag((400, 250))
    assert actions(read(drag)) == [Drag(start=Point.screen(100, 100), end=Point.screen(400, 250))]
    shake = Person().move(100, 100).drag((100 + DRAG_PX, 100 - DRAG_PX))
    assert actions(read(shake)) == [Click(point=Point.screen(100, 100))]
    right = Person().move(100, 100).drag((300, 300), button=3)
    assert actions(read(right)) == [Click(point=Point.screen(100, 100), button="right")]


def test_a_double_click_then_drag_gives_both() -> None:
    person = Person().move(20, 20).click()
    person._add("button_down", button=1)
    person.move(200, 20)
    person._add("button_up", button=1)
    assert actions(read(person)) == [
        Click(point=Point.screen(20, 20)),
        Drag(start=Point.screen(20, 20), end=Point.screen(200, 20)),
    ]


def test_wheel_clicks_merge_into_one_scroll_per_direction_and_pause() -> None:
    person = Person().move(400, 300)
    for _ in range(5):
        person.click(5)
    person.click(4).click(4).wait(SCROLL_PAUSE_S + 0.1).click(4)
    at = Point.screen(400, 300)
    assert actions(read(person)) == [
        Scroll(point=at, direction="down", amount=5),
        Scroll(point=at, direction="up", amount=2),
        Scroll(point=at, direction="up", amount=1),
    ]


def test_typing_is_one_burst_with_shift_and_backspace_applied() -> None:
    person = Person().type("Hellp").key("backspace").type("o World")
    (typed,) = read(person)
    assert isinstance(typed, Gesture) and typed.kind == "type"
    assert typed.actions == (TypeText(text="Hello World"),)
    assert typed.started == person.events[1].time  # the first key that typed (after Shift)


def test_a_pause_splits_typing_and_backspaces_before_the_text_are_kept() -> None:
    person = Person().type("ab").wait(TYPING_PAUSE_S + 0.1).key("backspace").key("backspace")
    person.type("xy")
    assert actions(read(person)) == [
        TypeText(text="ab"),
        KeyPress(keys=("backspace",)),
        KeyPress(keys=("backspace",)),
        TypeText(text="xy"),
    ]
    erased = Person().type("ab").key("backspace").key("backspace")
    assert read(erased) == []


def test_combos_are_one_key_action_that_ends_typing_and_begins_at_the_modifier() -> None:
    person = Person().type("Ada").combo("ctrlright", "s")
    typed, combo = read(person)
    assert isinstance(typed, Gesture) and typed.actions == (TypeText(text="Ada"),)
    assert isinstance(combo, Gesture) and combo.actions == (KeyPress(keys=("ctrl", "s")),)
    ctrl_down = next(e for e in person.events if e.key == "ctrlright")
    assert combo.started == ctrl_down.time
    three = Person().combo("ctrl", "shift", "t")
    assert actions(read(three)) == [KeyPress(keys=("ctrl", "shift", "t"))]


def test_keys_that_type_nothing_are_key_actions_repeats_joined() -> None:
    person = Person().type("a").key("enter").key("down").key("down").key("down")
    person.key("shift", up=False).key("tab").release("shift")
    found = [g for g in read(person) if isinstance(g, Gesture)]
    assert [g.kind for g in found] == ["type", "keys", "keys", "keys"]
    assert found[1].actions == (KeyPress(keys=("enter",)),)
    assert found[2].actions == (KeyPress(keys=("down",)),) * 3
    assert found[3].actions == (KeyPress(keys=("shift", "tab")),)


def test_a_lone_modifier_is_no_action_but_super_is() -> None:
    assert read(Person().key("shift").key("ctrl").key("alt")) == []
    assert actions(read(Person().key("win"))) == [KeyPress(keys=("win",))]


def test_hotkeys_are_marks_never_actions() -> None:
    person = Person().type("ab").combo("ctrl", "shift", "f12")
    typed, mark = read(person)
    assert isinstance(typed, Gesture) and typed.actions == (TypeText(text="ab"),)
    assert isinstance(mark, Mark) and mark.name == "stop"


def test_a_secret_span_is_one_burst_whatever_its_pauses_and_ends_at_a_click() -> None:
    person = Person().type("user").combo("ctrl", "shift", "f11").type("pa")
    person.wait(TYPING_PAUSE_S * 3).type("ss").key("backspace").type("s9")
    person.combo("ctrl", "shift", "f11").type("x")
    found = read(person)
    assert [type(g).__name__ for g in found] == ["Gesture", "Mark", "Gesture", "Mark", "Gesture"]
    secret = found[2]
    assert isinstance(secret, Gesture) and secret.secret
    assert secret.actions == (TypeText(text="pass9"),)
    assert isinstance(found[4], Gesture) and not found[4].secret
    clicked = Person().combo("ctrl", "shift", "f11").type("pw").click(at=(9, 9)).type("z")
    kinds = [(g.kind, g.secret) for g in read(clicked) if isinstance(g, Gesture)]
    assert kinds == [("type", True), ("click", False), ("type", False)]


def test_ctrl_click_is_the_click_and_flush_closes_what_is_open() -> None:
    person = Person().move(30, 40).key("ctrl", up=False)
    person._add("button_down", button=1)
    person.key("a")
    person._add("button_up", button=1)
    person.release("ctrl")
    assert actions(read(person)) == [Click(point=Point.screen(30, 40))]
    reader = GestureReader()
    for event in Person().type("tail").events:
        reader.feed(event)
    assert actions(reader.flush()) == [TypeText(text="tail")]


def test_pauses_and_the_server_clock() -> None:
    a = Gesture("click", (), 1.0, 1.2)
    b = Gesture("type", (), 2.5, 3.0)
    assert pause_between(None, a) == 0.0 and pause_between(a, b) == pytest.approx(1.3)
    clock = ServerClock()
    assert clock.local(1000, 51.010) == pytest.approx(51.010)
    assert clock.local(1100, 51.102) == pytest.approx(51.102)  # it lagged less than the first
    assert clock.local(1200, 51.250) == pytest.approx(51.202)  # a late arrival: not later
    wrapping = ServerClock()
    assert wrapping.local(2**32 - 100, 7.0) == pytest.approx(7.0)
    assert wrapping.local(50, 7.2) == pytest.approx(7.15)  # past 2**32 ms: 150 ms later


def test_keysyms_read_as_key_names_and_characters() -> None:
    assert key_name(0xFF0D) == "enter" and key_name(0xFFE3) == "ctrl" and key_name(0x41) == "a"
    assert key_name(0x20) == "space" and key_name(0xFFBE) == "f1" and key_name(0x1234) is None
    assert keysym_char(0x41) == "A" and keysym_char(0xE9) == "é" and keysym_char(0xFF0D) is None
    assert keysym_char(0x1000000 + ord("乩")) == "乩" and keysym_char(0xFFB7) == "7"
