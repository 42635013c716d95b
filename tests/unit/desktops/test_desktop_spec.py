"""``--desktop`` / ``desktop=``: every form :meth:`DesktopSpec.parse` reads, and its refusals,
each one line."""

from __future__ import annotations

import pytest

from agent.desktops.base import DEFAULT_PRIVATE_SIZE, DesktopSpec
from agent.errors import ConfigurationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local", DesktopSpec("local")),
        ("", DesktopSpec("local")),
        ("  local ", DesktopSpec("local")),
        ("private", DesktopSpec("private", DEFAULT_PRIVATE_SIZE)),
        ("private:1920x1080", DesktopSpec("private", (1920, 1080))),
        ("private:64x64", DesktopSpec("private", (64, 64))),
        ("private:8192x8192", DesktopSpec("private", (8192, 8192))),
        ("vnc://guest", DesktopSpec("vnc", host="guest", port=5900)),
        ("vnc://guest:5901", DesktopSpec("vnc", host="guest", port=5901)),
        ("vnc://guest:5901/", DesktopSpec("vnc", host="guest", port=5901)),
        ("vnc://10.0.0.2:1", DesktopSpec("vnc", host="10.0.0.2", port=1)),
        ("vnc://vm.example.org:65535", DesktopSpec("vnc", host="vm.example.org", port=65535)),
        ("vnc://[::1]:5902", DesktopSpec("vnc", host="::1", port=5902)),
        ("vnc://[fe80::1]", DesktopSpec("vnc", host="fe80::1", port=5900)),
    ],
)
def test_every_form_parses(text: str, expected: DesktopSpec) -> None:
    assert DesktopSpec.parse(text) == expected


def test_the_default_private_size_is_1280x800() -> None:
    assert DEFAULT_PRIVATE_SIZE == (1280, 800)
    assert DesktopSpec.parse("private").describe() == "private:1280x800"


@pytest.mark.parametrize(
    "text", ["local", "private:1280x800", "private:640x480", "vnc://guest:5900", "vnc://10.0.0.2:1"]
)
def test_the_description_parses_back_to_the_same_desktop(text: str) -> None:
    spec = DesktopSpec.parse(text)
    assert spec.describe() == text
    assert DesktopSpec.parse(spec.describe()) == spec


def test_an_ipv6_description_keeps_its_brackets() -> None:
    spec = DesktopSpec.parse("vnc://[::1]:5902")
    assert spec.describe() == "vnc://[::1]:5902"
    assert DesktopSpec.parse(spec.describe()) == spec


def test_a_user_in_the_address_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        DesktopSpec.parse("vnc://user@host:5900")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # sizes
        ("private:", "WIDTHxHEIGHT"),
        ("private:abc", "WIDTHxHEIGHT"),
        ("private:1280", "WIDTHxHEIGHT"),
        ("private:1280x", "WIDTHxHEIGHT"),
        ("private:1280X800", "WIDTHxHEIGHT"),
        ("private:-1280x800", "WIDTHxHEIGHT"),
        ("private:1x1", "WIDTHxHEIGHT"),
        ("private:100000x800", "WIDTHxHEIGHT"),
        ("private:63x800", "64..8192"),
        ("private:1280x8193", "64..8192"),
        ("private:0x0", "WIDTHxHEIGHT"),
        # ports
        ("vnc://guest:0", "1..65535"),
        ("vnc://guest:65536", "1..65535"),
        ("vnc://guest:99999", "1..65535"),
        ("vnc://guest:", "unknown desktop"),
        ("vnc://guest:port", "unknown desktop"),
        ("vnc://guest:123456", "unknown desktop"),
        # hosts and kinds
        ("vnc://", "unknown desktop"),
        ("vnc://::1:5900", "unknown desktop"),  # an IPv6 host needs its brackets
        ("vnc://[::1", "unknown desktop"),
        ("VNC://guest", "unknown desktop"),
        ("rdp://guest:3389", "unknown desktop"),
        ("guest:5900", "unknown desktop"),
        ("privat", "unknown desktop"),
        ("local:1", "unknown desktop"),
        ("private\n:640x480", "unknown desktop"),
    ],
)
def test_a_bad_desktop_is_one_line_that_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        DesktopSpec.parse(text)
    message = str(raised.value)
    assert says in message and repr(text) in message
    assert "\n" not in message
    if says == "unknown desktop":  # it lists the forms
        assert "local, private, private:WIDTHxHEIGHT or vnc://HOST:PORT" in message
