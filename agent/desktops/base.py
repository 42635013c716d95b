"""What a desktop is: a screen (capture) and an executor (input), opened and closed together.

A run names its desktop with one string (``--desktop``, ``desktop=``), read by
:meth:`DesktopSpec.parse`:

* ``local`` (the default): the display this process runs on, through mss and pyautogui;
* ``private`` or ``private:WxH``: a private Xvfb display started for the run and stopped with it
  (default 1280x800); a task's app is launched there, and a VNC server on 127.0.0.1 lets a person
  watch or take over (:mod:`agent.desktops.private`);
* ``vnc://HOST:PORT``: any RFB server: a VM or a container of any OS, or a display on this
  machine (:mod:`agent.desktops.vnc`). The password comes from the caller (the command line reads
  it from the environment variable ``--vnc-password-env`` names) and is written nowhere.

:func:`agent.desktops.open_desktop` opens one. The loop, the policy, the recorder, the location
cache, replay and the viewer see only its ``screen`` and its ``executor``: coordinates, bounds
and refusals are the same on every kind. :meth:`DesktopConnection.record` is what a trajectory's
meta says of it (kind, size, host and port), never a password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from actions.executor import Executor
from agent.errors import ConfigurationError
from agent.screen.capture import CaptureSource

__all__ = [
    "DEFAULT_PRIVATE_SIZE",
    "DesktopConnection",
    "DesktopKind",
    "DesktopSpec",
]

DesktopKind = Literal["local", "private", "vnc"]
DEFAULT_PRIVATE_SIZE = (1280, 800)
_SIZE = re.compile(r"(\d{2,5})x(\d{2,5})")
_VNC = re.compile(r"vnc://(?P<host>\[[0-9a-fA-F:]+\]|[^:/@\s\[\]]+)(?::(?P<port>\d{1,5}))?/?")
_FORMS = "local, private, private:WIDTHxHEIGHT or vnc://HOST:PORT"


@dataclass(frozen=True)
class DesktopSpec:
    """Which desktop a run drives, as parsed from its name; no password in it."""

    kind: DesktopKind = "local"
    size: tuple[int, int] | None = None
    """a private display's size in pixels"""
    host: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> DesktopSpec:
        """``local``, ``private[:WxH]`` or ``vnc://HOST[:PORT]`` (port 5900 by default);
        ConfigurationError (one line) for anything else."""
        value = text.strip()
        if value in ("", "local"):
            return cls()
        if value == "private" or value.startswith("private:"):
            if value == "private":
                return cls("private", DEFAULT_PRIVATE_SIZE)
            size = _SIZE.fullmatch(value.removeprefix("private:"))
            if size is None:
                raise ConfigurationError(f"a private desktop's size is WIDTHxHEIGHT: {text!r}")
            width, height = int(size[1]), int(size[2])
            if not (64 <= width <= 8192 and 64 <= height <= 8192):
                raise ConfigurationError(f"a private desktop is 64..8192 pixels a side: {text!r}")
            return cls("private", (width, height))
        found = _VNC.fullmatch(value)
        if found is not None:
            port = int(found["port"] or 5900)
            if not 1 <= port <= 65535:
                raise ConfigurationError(f"a VNC port is 1..65535: {text!r}")
            return cls("vnc", host=found["host"].strip("[]"), port=port)
        raise ConfigurationError(f"unknown desktop {text!r}: use {_FORMS}")

    def describe(self) -> str:
        if self.kind == "vnc":
            host = f"[{self.host}]" if self.host and ":" in self.host else self.host
            return f"vnc://{host}:{self.port}"
        if self.kind == "private" and self.size is not None:
            return f"private:{self.size[0]}x{self.size[1]}"
        return self.kind


class DesktopConnection:
    """An open desktop: its ``screen`` and its ``executor``, closed together by :meth:`close`
    (or the ``with`` block). ``app_env`` is the environment an app launched for a run on it gets
    (None: this process's own); :attr:`can_launch` says whether apps can be started there at
    all (not on a remote VNC desktop: start them on the guest)."""

    spec: DesktopSpec
    screen: CaptureSource
    executor: Executor
    app_env: Mapping[str, str] | None = None
    can_launch: bool = True

    def __init__(self, spec: DesktopSpec, screen: CaptureSource, executor: Executor) -> None:
        self.spec, self.screen, self.executor = spec, screen, executor
        self._closed = False

    def record(self) -> dict[str, Any]:
        """What a trajectory's meta records of this desktop: kind, size, host and port."""
        monitor = self.screen.monitor
        return {
            "kind": self.spec.kind,
            "name": self.spec.describe(),
            "width": monitor.width,
            "height": monitor.height,
            **({"host": self.spec.host, "port": self.spec.port} if self.spec.kind == "vnc" else {}),
        }

    def _close_parts(self) -> None:
        """Close what the desktop opened, executor first (it releases held keys and buttons)."""
        for part in (self.executor, self.screen):
            close = getattr(part, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        """Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._close_parts()

    def __enter__(self) -> DesktopConnection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.describe()})"
