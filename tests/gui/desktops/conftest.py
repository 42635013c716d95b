"""VNC servers for the desktop tests, started as users start them: x11vnc serving a private Xvfb,
and TigerVNC's Xvnc; each on a free 127.0.0.1 port, its password in a file (never on a command
line), killed at teardown. ``vnc_server`` is parametrized indirectly with the kind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from agent.desktops.rfb import RFBClient
from agent.screen.xvfb import VirtualDisplay, wait_until
from tests.gui.conftest import missing_tool

PASSWORD = "s3cret-pw"  # longer than 8: VNC Authentication uses the first 8 bytes
SIZE = (640, 480)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need(tool: str, package: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        missing_tool(f"{tool} is not installed (Debian: apt install {package})")
    return exe


def need_cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        missing_tool("VNC Authentication needs cryptography (pip install -e '.[vnc]')")


def password_file(folder: Path) -> Path:
    """A VNC password file, the password never on a server's command line: ``vncpasswd -f``
    (tigervnc-tools) reads it from stdin; x11vnc -storepasswd writes the same 8 bytes."""
    path = folder / "passwd"
    vncpasswd = shutil.which("vncpasswd")
    if vncpasswd is not None:
        done = subprocess.run([vncpasswd, "-f"], input=f"{PASSWORD}\n".encode(),
                              capture_output=True, timeout=10, check=True)
        path.write_bytes(done.stdout)
    else:
        subprocess.run([need("x11vnc", "x11vnc"), "-storepasswd", PASSWORD, str(path)],
                       capture_output=True, timeout=10, check=True)
    path.chmod(0o600)
    return path


class Server:
    """A VNC server subprocess on 127.0.0.1:``port`` and the X display it shows."""

    def __init__(self, kind: str, proc: subprocess.Popen[bytes], port: int, log: IO[bytes],
                 display_name: str) -> None:
        self.kind, self.proc, self.port, self.log = kind, proc, port, log
        self.name = display_name  # what TkApp and mss need from a display
        self.env = {**os.environ, "DISPLAY": display_name}
        self.env.pop("WAYLAND_DISPLAY", None)

    def log_tail(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:].decode("utf-8", "replace")

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Poll until the port answers with an RFB greeting (bounded)."""
        def greets() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.settimeout(1)
                    return sock.recv(12).startswith(b"RFB ")
            except OSError:
                return False

        wait_until(greets, timeout, interval=0.02, what=f"{self.kind} on port {self.port}")

    def client(self, **kwargs: Any) -> RFBClient:
        return RFBClient("127.0.0.1", self.port, PASSWORD, **kwargs)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.kind == "xvnc":  # an X server: after SIGKILL its lock file and socket stay
            number = self.name.lstrip(":")
            with contextlib.suppress(OSError, ValueError):
                if int(Path(f"/tmp/.X{number}-lock").read_text().strip()) == self.proc.pid:
                    os.unlink(f"/tmp/.X{number}-lock")
                    os.unlink(f"/tmp/.X11-unix/X{number}")
        self.log.close()


ServerFactory = Callable[..., Server]


@pytest.fixture
def vnc_server(
    request: pytest.FixtureRequest, virtual_display: Callable[..., VirtualDisplay],
    tmp_path: Path,
) -> Iterator[ServerFactory]:
    """Factory for the parametrized server kind ("x11vnc" on a private Xvfb, or "xvnc")."""
    yield from _servers(request.param, virtual_display, tmp_path)


@pytest.fixture
def vnc_server_xvnc(
    virtual_display: Callable[..., VirtualDisplay], tmp_path: Path
) -> Iterator[ServerFactory]:
    """Factory for TigerVNC's Xvnc servers."""
    yield from _servers("xvnc", virtual_display, tmp_path)


def _servers(
    kind: str, virtual_display: Callable[..., VirtualDisplay], tmp_path: Path
) -> Iterator[ServerFactory]:
    need_cryptography()
    started: list[Server] = []

    def start(size: tuple[int, int] = SIZE) -> Server:
        port = free_port()
        log = tempfile.TemporaryFile()
        secret = password_file(tmp_path)
        if kind == "x11vnc":
            exe = need("x11vnc", "x11vnc")
            display = virtual_display(*size)
            proc = subprocess.Popen(
                [exe, "-display", display.name, "-rfbport", str(port), "-localhost",
                 "-rfbauth", str(secret), "-forever", "-shared"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
            server = Server(kind, proc, port, log, display.name)
        else:
            exe = need("Xvnc", "tigervnc-standalone-server")
            read_fd, write_fd = os.pipe()
            try:
                proc = subprocess.Popen(
                    [exe, "-displayfd", str(write_fd), "-geometry", f"{size[0]}x{size[1]}",
                     "-depth", "24", "-rfbport", str(port), "-localhost", "-nolisten", "tcp",
                     "-SecurityTypes", "VncAuth", "-PasswordFile", str(secret)],
                    pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True)
            finally:
                os.close(write_fd)
            try:
                number = _read_display_number(read_fd, proc, timeout=15)
            finally:
                os.close(read_fd)
            server = Server(kind, proc, port, log, f":{number}")
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in reversed(started):
        server.stop()


def _read_display_number(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> int:
    data = b""

    def reported() -> bool:
        nonlocal data
        import select

        if select.select([fd], [], [], 0.05)[0]:
            chunk = os.read(fd, 32)
            if not chunk:
                raise RuntimeError(f"Xvnc exited with {proc.wait(timeout=5)} before it was ready")
            data += chunk
        return data.endswith(b"\n")

    wait_until(reported, timeout, interval=0.0, what="Xvnc's display number")
    return int(data)
