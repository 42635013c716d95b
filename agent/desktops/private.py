"""A private desktop: an Xvfb display started for the run and stopped with it.

The run never touches the user's own mouse, keyboard or screen: the screen and the executor are
bound to the private display by name, and a task's app is launched with its ``DISPLAY``
(:attr:`PrivateDesktop.app_env`). It works the same on a headless server and on a desktop
machine. Where ``x11vnc`` is installed, a VNC server on 127.0.0.1 serves the display so that a
person can watch the run or take over (:attr:`PrivateDesktop.watch`: its address and a password
made for this run, which x11vnc reads from its own environment, so it is in no file and on no
command line). A missing Xvfb or xdotool is one line naming the Debian package.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

from actions.executor import DryRunExecutor, Executor, PyAutoGUIExecutor
from agent.desktops.base import DEFAULT_PRIVATE_SIZE, DesktopConnection, DesktopSpec
from agent.errors import ConfigurationError
from agent.screen.capture import Screen
from agent.screen.xvfb import VirtualDisplay, XvfbError

__all__ = ["REQUIRED_TOOLS", "PrivateDesktop", "Watch"]

#: program -> the Debian package that ships it: a private desktop needs them all
REQUIRED_TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool"}
_WATCH_TOOL = ("x11vnc", "x11vnc")
_PASSWORD_VARIABLE = "GUI_AGENT_WATCH_PASSWORD"
_WATCH_START_S = 10.0


@dataclass(frozen=True)
class Watch:
    """How a person reaches the private display: any VNC viewer at ``address`` with ``password``
    (made for this run; it ends with the run)."""

    address: str
    password: str = ""

    def describe(self) -> str:
        return f"watch or take over with a VNC viewer: {self.address} (password {self.password})"


def check_tools() -> None:
    """ConfigurationError (one line naming the package) when a required program is missing."""
    for tool, package in REQUIRED_TOOLS.items():
        if shutil.which(tool) is None:
            raise ConfigurationError(
                f"{tool} is not installed: a private desktop needs it "
                f"(Debian: apt-get install {package})"
            )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateDesktop(DesktopConnection):
    """A private display of ``size`` pixels (default 1280x800). ``watch``: serve it over VNC on
    127.0.0.1 when x11vnc is installed (:attr:`watch` is then set; None otherwise, with the
    reason in :attr:`watch_note`)."""

    def __init__(
        self,
        size: tuple[int, int] = DEFAULT_PRIVATE_SIZE,
        *,
        settle_s: float = 0.05,
        dry_run: bool = False,
        watch: bool = True,
    ) -> None:
        check_tools()
        self.display = VirtualDisplay(*size)
        try:
            self.display.start()
        except (OSError, XvfbError) as exc:  # XvfbNotFoundError is a FileNotFoundError
            raise ConfigurationError(f"cannot start a private display: {exc}") from exc
        self._server: subprocess.Popen[bytes] | None = None
        self.watch: Watch | None = None
        self.watch_note = "not asked for"
        try:
            if watch:
                self._serve()
            name = self.display.name
            screen = Screen(display=name)
            executor: Executor = (
                DryRunExecutor() if dry_run else PyAutoGUIExecutor(settle_s=settle_s, display=name)
            )
        except BaseException:
            self._stop_display()
            raise
        super().__init__(DesktopSpec("private", size), screen, executor)
        self.app_env = self.display.env

    @property
    def name(self) -> str:
        """The X display's name (``:N``)."""
        return self.display.name

    def _serve(self) -> None:
        tool, package = _WATCH_TOOL
        if shutil.which(tool) is None:
            self.watch_note = f"{tool} is not installed (Debian: apt-get install {package})"
            return
        port = _free_port()
        password = secrets.token_hex(4)  # VNC uses 8 characters of a password
        env = {**self.display.env, _PASSWORD_VARIABLE: password}
        self._server = subprocess.Popen(
            [tool, "-display", self.display.name, "-rfbport", str(port), "-localhost",
             "-passwdfile", f"cmd:printenv {_PASSWORD_VARIABLE}", "-forever", "-shared",
             "-quiet"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + _WATCH_START_S
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                self.watch_note = f"{tool} exited at start ({self._server.returncode})"
                self._server = None
                return
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                time.sleep(0.05)
                continue
            self.watch = Watch(f"vnc://127.0.0.1:{port}", password)
            self.watch_note = self.watch.describe()
            return
        self._stop_server()
        self.watch_note = f"{tool} did not listen within {_WATCH_START_S:g} s"

    def record(self) -> dict[str, object]:
        return {**super().record(), "display": self.display.name}

    def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)

    def _stop_display(self) -> None:
        self._stop_server()
        self.display.stop()

    def _close_parts(self) -> None:
        try:
            super()._close_parts()
        finally:
            self._stop_display()
