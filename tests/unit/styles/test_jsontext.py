from __future__ import annotations

import pytest

from agent.errors import ParseError
from agent.styles.jsontext import extract_objects, loads_lenient, strip_fences


@pytest.mark.parametrize(
    "text,value",
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ("```\n[1, 2,]\n```", [1, 2]),
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),
        ("{'a': 'it\\'s', 'b': \"say \\\"x\\\"\"}", {"a": "it's", "b": 'say "x"'}),
        ("{'text': 'he said \"hi\"'}", {"text": 'he said "hi"'}),
        ('{"ok": True, "none": None}', {"ok": True, "none": None}),
        ('{"a": {"b": [1, 2', {"a": {"b": [1, 2]}}),
        ('{"text": "unterminated', {"text": "unterminated"}),
        ('{"text": "keeps True and None inside"}', {"text": "keeps True and None inside"}),
    ],
)
def test_repairs(text: str, value: object) -> None:
    assert loads_lenient(text) == value


@pytest.mark.parametrize("text", ["", "   ", "not json", "```json\nnot valid json\n```", "{]"])
def test_refusals(text: str) -> None:
    with pytest.raises(ParseError):
        loads_lenient(text)


def test_never_evaluates() -> None:
    with pytest.raises(ParseError):
        loads_lenient("__import__('os').system('touch /tmp/pwned')")


def test_fences_and_objects() -> None:
    assert strip_fences("before ```python\nx\n``` after") == "x"
    assert strip_fences("plain") == "plain"
    assert extract_objects('a {"x": "}"} b {"y": {"z": 1}} c {"open": [') == [
        '{"x": "}"}',
        '{"y": {"z": 1}}',
        '{"open": [',
    ]
