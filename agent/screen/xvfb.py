"""A private Xvfb server for GUI tests, started the way users start one.

``VirtualDisplay`` runs ``Xvfb -displayfd FD -screen 0 WxHx24 -noreset -nolisten tcp``: Xvfb picks
a free display number itself and writes it to FD once it accepts connections, so there is no
racy "find a free number" step and no fixed sleep. ``-noreset`` matters: without it the server
resets when its last client disconnects, and RandR monitors created with ``xrandr --setmonitor``
silently vanish. Optional monitors are created after start (the first one primary) and checked
with mss. Nothing here touches the caller's ``DISPLAY``: subprocesses get ``display.env``.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO, Any, TypeVar

T = TypeVar("T")

#: (name, width, height, left, top) of one RandR monitor, in root-window pixels.
Monitor = tuple[str, int, int, int, int]


class XvfbNotFoundError(FileNotFoundError):
    """The Xvfb executable is not installed (or not on PATH)."""


class XvfbError(RuntimeError):
    """Xvfb failed to start, died, or a monitor layout could not be applied."""


def wait_until(
    predicate: Callable[[], T], timeout: float, interval: float = 0.01, what: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns a truthy value, and return that value.

    Raises ``TimeoutError`` naming ``what`` after ``timeout`` seconds. The predicate is always
    called at least once, and once more at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.2f}s waiting for {what}")
        time.sleep(interval)


class VirtualDisplay:
    """A private Xvfb server; use as ``with VirtualDisplay(1366, 768) as vd: ...``."""

    def __init__(
        self,
        width: int = 1920,
        height: int = 1080,
        *,
        monitors: Sequence[Monitor] | None = None,
        start_timeout: float = 10.0,
        xvfb: str = "Xvfb",
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"bad screen size {width}x{height}")
        self.width = width
        self.height = height
        self.monitors: tuple[Monitor, ...] = tuple(monitors or ())
        self.start_timeout = start_timeout
        self._xvfb = xvfb
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._number: int | None = None
        self.startup_seconds = 0.0

    def start(self) -> VirtualDisplay:
        """Start Xvfb, wait until it accepts connections, then apply the monitor layout."""
        if self._proc is not None:
            raise XvfbError("VirtualDisplay already started")
        exe = shutil.which(self._xvfb)
        if exe is None:
            raise XvfbNotFoundError(f"{self._xvfb!r} not found on PATH (Debian: apt install xvfb)")
        t0 = time.monotonic()
        self._stderr = tempfile.TemporaryFile()
        read_fd, write_fd = os.pipe()
        args = [exe, "-displayfd", str(write_fd), "-screen", "0",
                f"{self.width}x{self.height}x24", "-noreset", "-nolisten", "tcp"]
        try:
            try:
                self._proc = subprocess.Popen(
                    args, pass_fds=(write_fd,), stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True)
            finally:
                os.close(write_fd)  # else we would never see EOF if Xvfb dies
            self._number = self._read_display_number(read_fd)
            if self.monitors:
                self._apply_monitors()
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(read_fd)
        self.startup_seconds = time.monotonic() - t0
        return self

    def _read_display_number(self, read_fd: int) -> int:
        """Read "N\\n" from the -displayfd pipe, bounded by ``start_timeout``."""
        deadline = time.monotonic() + self.start_timeout
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise XvfbError(f"Xvfb did not report a display within {self.start_timeout}s"
                                f"{self._stderr_tail()}")
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 64)
            if not chunk:  # EOF: Xvfb exited (or closed the fd) without reporting a display
                code = self._proc.wait(timeout=2) if self._proc is not None else None
                raise XvfbError(f"Xvfb exited (code {code}) before it was ready"
                                f"{self._stderr_tail()}")
            data += chunk
        try:
            return int(data.strip())
        except ValueError:
            raise XvfbError(f"Xvfb wrote {data!r} to -displayfd{self._stderr_tail()}") from None

    def _apply_monitors(self) -> None:
        """Create the monitors with ``xrandr --setmonitor`` and check that mss lists them."""
        xrandr = shutil.which("xrandr")
        if xrandr is None:
            raise XvfbError("monitors need xrandr (Debian: apt install x11-xserver-utils)")
        for index, (name, width, height, left, top) in enumerate(self.monitors):
            # The first monitor takes over Xvfb's only output ("screen") and is primary ('*').
            label, output = (f"*{name}", "screen") if index == 0 else (name, "none")
            mm_w, mm_h = round(width * 25.4 / 96), round(height * 25.4 / 96)  # 96 DPI
            geometry = f"{width}/{mm_w}x{height}/{mm_h}+{left}+{top}"
            done = subprocess.run([xrandr, "--setmonitor", label, geometry, output],
                                  env=self.env, capture_output=True, text=True, timeout=10)
            if done.returncode != 0:
                raise XvfbError(f"xrandr --setmonitor {label} {geometry} {output} failed: "
                                f"{done.stderr.strip()}")
        expected = [(left, top, w, h) for _, w, h, left, top in self.monitors]
        listed: list[tuple[int, int, int, int]] = []

        def listed_by_mss() -> bool:
            nonlocal listed
            listed = [(m["left"], m["top"], m["width"], m["height"])
                      for m in self.mss_monitors()[1:]]
            return sorted(listed) == sorted(expected)

        try:
            wait_until(listed_by_mss, timeout=2.0, interval=0.02, what="monitors in mss")
        except TimeoutError:
            raise XvfbError(f"mss lists monitors {listed}, expected {expected}") from None

    def mss_monitors(self) -> list[dict[str, Any]]:
        """``mss`` monitors of this display: [0] is the whole screen, then one per monitor."""
        import mss  # local: only needed for monitor checks

        factory = getattr(mss, "MSS", None)  # mss >= 10.2; mss.mss() is deprecated there
        with (factory or mss.mss)(display=self.name) as grabber:
            return [dict(m) for m in grabber.monitors]

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate Xvfb (SIGTERM, then SIGKILL after ``timeout``) and reap it. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=timeout)
            self._remove_stale_files(proc.pid)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _remove_stale_files(self, pid: int) -> None:
        """After SIGKILL Xvfb leaves its lock file and socket behind; remove ours only."""
        if self._number is None:
            return
        lock = f"/tmp/.X{self._number}-lock"
        with contextlib.suppress(OSError, ValueError):
            with open(lock) as f:
                owner = int(f.read().strip())
            if owner == pid:
                os.unlink(lock)
                with contextlib.suppress(OSError):
                    os.unlink(f"/tmp/.X11-unix/X{self._number}")

    def __enter__(self) -> VirtualDisplay:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def name(self) -> str:
        """The X display name, ":N"."""
        if self._number is None:
            raise XvfbError("VirtualDisplay not started")
        return f":{self._number}"

    @property
    def env(self) -> dict[str, str]:
        """A copy of ``os.environ`` with DISPLAY set to this server (for subprocesses)."""
        env = dict(os.environ)
        env["DISPLAY"] = self.name
        env.pop("WAYLAND_DISPLAY", None)
        return env

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        """True while the Xvfb process is alive (a killed server is noticed here)."""
        return self._proc is not None and self._proc.poll() is None

    def check(self) -> None:
        """Raise ``XvfbError`` (with Xvfb's stderr) if the server is not running."""
        if self._proc is None:
            raise XvfbError("VirtualDisplay not started")
        code = self._proc.poll()
        if code is not None:
            raise XvfbError(f"Xvfb {self.name} exited with code {code}{self._stderr_tail()}")

    def _stderr_tail(self, limit: int = 2000) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read()[-limit:].decode("utf-8", "replace").strip()
        return f"; Xvfb stderr:\n{text}" if text else "; Xvfb stderr is empty"

    def __repr__(self) -> str:
        where = f":{self._number}" if self._number is not None else "not started"
        return f"VirtualDisplay({self.width}x{self.height}, {where}, {len(self.monitors)} monitors)"
