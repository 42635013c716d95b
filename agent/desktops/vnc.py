"""A VNC desktop: any RFB server (a VM or a container of any OS, a display on this machine).

The framebuffer is the monitor: origin (0, 0), scale 1, so the one conversion, the bounds and
the refusals are the same as on the local screen. :class:`VNCScreen` captures through the
client's framebuffer, which the server keeps current with incremental updates (only changed
rectangles); each capture is converted only where it changed, as the local screen does
(:class:`~agent.screen.capture.FrameImages`). :class:`VNCExecutor` sends pointer, button, wheel
and key events; text is typed character by character as keysyms (a character the server's
keyboard lacks as its Unicode keysym, so nothing is dropped silently). The fail-safe corners are
pyautogui's idea: on VNC a run stops by Ctrl-C, SIGTERM, the stop file or its budgets, and every
button and key still held is released over the same connection when the executor closes.

Errors say what to do, in one line: a wrong password or an unreachable server is a
:class:`~agent.errors.ConfigurationError` (exit 2) before the run starts; a server that dies
mid-run is a :class:`~agent.errors.CaptureError` or :class:`~agent.errors.ExecutionError`
within seconds, which ends the run ``error`` with its trajectory closed.
"""

from __future__ import annotations

import time
from types import TracebackType

from actions.executor import ActionResult, DryRunExecutor, Executor, check_action
from actions.key_names import key_keysym
from actions.schema import Action, Click, Drag, KeyPress, MouseMove, Scroll, TypeText, Wait
from agent.desktops.base import DesktopConnection, DesktopSpec
from agent.desktops.rfb import RFBAuthError, RFBClient, RFBConnectError, RFBError
from agent.errors import AgentError, CaptureError, ConfigurationError, ExecutionError
from agent.geometry import Monitor, Point, round_half_away
from agent.screen.capture import FrameImages, Screenshot

__all__ = ["VNCDesktop", "VNCExecutor", "VNCScreen", "connect"]

#: RFB button mask bits
_BUTTONS = {"left": 1, "middle": 2, "right": 4}
_WHEEL = {"up": 8, "down": 16, "left": 32, "right": 64}
_CAPTURE_TIMEOUT_S = 5.0


def connect(host: str, port: int, password: str | None, timeout_s: float = 5.0) -> RFBClient:
    """An RFB connection; ConfigurationError (one line, never the password) when the server
    cannot be reached or refuses the password."""
    try:
        return RFBClient(host, port, password, timeout_s=timeout_s)
    except RFBAuthError as exc:
        raise ConfigurationError(f"the VNC server {host}:{port} refused the login: {exc}") from None
    except (RFBConnectError, RFBError, OSError) as exc:
        raise ConfigurationError(f"cannot reach the VNC server {host}:{port}: {exc}") from None


class VNCScreen:
    """The server's framebuffer as a monitor (origin 0, 0, scale 1)."""

    def __init__(self, client: RFBClient, address: str) -> None:
        self.client, self.address = client, address
        self._frames = FrameImages()

    @property
    def monitor(self) -> Monitor:
        return Monitor(1, 0, 0, self.client.width, self.client.height, 1.0, is_primary=True)

    def capture(self) -> Screenshot:
        try:
            pixels = self.client.snapshot(_CAPTURE_TIMEOUT_S)
        except RFBError as exc:
            raise CaptureError(f"the VNC desktop {self.address} gave no capture: {exc}") from None
        image = self._frames.image(pixels, shared=False)
        return Screenshot(image, self.monitor, time.time())

    def close(self) -> None:
        self.client.close()


class VNCExecutor:
    """Carries out screen-space actions as RFB events on ``client``; ``settle_s`` after each,
    as the local executor. What it holds down is tracked, so :meth:`release` and
    :meth:`close` let go of exactly that."""

    def __init__(self, client: RFBClient, address: str, *, settle_s: float = 0.05,
                 type_delay_s: float = 0.05, drag_steps: int = 10) -> None:  # fmt: skip
        self.client, self.address = client, address
        self.settle_s, self.type_delay_s, self.drag_steps = settle_s, type_delay_s, drag_steps
        self._pointer: tuple[int, int] | None = None
        self._buttons = 0
        self._keys: list[tuple[str, int]] = []  # held, in press order

    def execute(self, action: Action, monitor: Monitor) -> ActionResult:
        t0 = time.perf_counter()
        checked = check_action(action, monitor)
        try:
            self._dispatch(checked)
        except AgentError:
            raise
        except RFBError as exc:
            where = f"on the VNC desktop {self.address}"
            raise ExecutionError(f"{action.action} {where}: {exc}") from None
        finally:
            if self._buttons or self._keys:  # a combo or drag cut off: nothing stays held
                self.release()
        if not isinstance(checked, Wait) and checked.action != "terminate":
            time.sleep(self.settle_s)
        return ActionResult(ok=True, duration_s=time.perf_counter() - t0)

    def _move(self, x: int, y: int) -> None:
        self.client.pointer(x, y, self._buttons)
        self._pointer = (x, y)

    def _at(self, point: Point | None) -> tuple[int, int]:
        if point is not None:
            xy = point.screen_xy()
            self._move(*xy)
            return xy
        if self._pointer is None:
            raise ExecutionError(
                "where the pointer is on a VNC desktop is known only after this run moved it: "
                "give the action a point"
            )
        return self._pointer

    def _buttons_down(self, mask: int) -> None:
        self._buttons |= mask
        self.client.pointer(*self._at(None), self._buttons)

    def _buttons_up(self, mask: int) -> None:
        self._buttons &= ~mask
        self.client.pointer(*self._at(None), self._buttons)

    def _dispatch(self, action: Action) -> None:
        if isinstance(action, Click):
            self._at(action.point)
            for _ in range(action.count):
                self._buttons_down(_BUTTONS[action.button])
                self._buttons_up(_BUTTONS[action.button])
        elif isinstance(action, MouseMove):
            self._at(action.point)
        elif isinstance(action, Drag):
            start = self._at(action.start)
            end = action.end.screen_xy()
            self._buttons_down(_BUTTONS["left"])
            for i in range(1, self.drag_steps + 1):  # motion events between: apps see a drag
                f = i / self.drag_steps
                self._move(round_half_away(start[0] + (end[0] - start[0]) * f),
                           round_half_away(start[1] + (end[1] - start[1]) * f))  # fmt: skip
                time.sleep(0.005)
            self._buttons_up(_BUTTONS["left"])
        elif isinstance(action, Scroll):
            self._at(action.point)
            for _ in range(action.amount):
                self._buttons_down(_WHEEL[action.direction])
                self._buttons_up(_WHEEL[action.direction])
        elif isinstance(action, KeyPress):
            for key in action.keys:
                code = key_keysym(key)
                self.client.key(code, True)
                self._keys.append((key, code))
            while self._keys:  # released in reverse order
                self.client.key(self._keys[-1][1], False)
                self._keys.pop()
        elif isinstance(action, TypeText):
            self.client.type_text(action.text.replace("\r\n", "\n"), self.type_delay_s)
        elif isinstance(action, Wait):
            deadline = time.monotonic() + action.seconds
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, 0.1))

    def release(self) -> list[str]:
        """Let go of every button and key this executor holds, over the same connection."""
        released: list[str] = []
        try:
            for key, code in reversed(self._keys):
                self.client.key(code, False)
                released.append(key)
            if self._buttons and self._pointer is not None:
                self.client.pointer(*self._pointer, 0)
                released += [f"button mask {self._buttons}"]
        except RFBError:
            pass  # the connection is gone: the server dropped what was held with it
        self._keys, self._buttons = [], 0
        return released

    def close(self) -> None:
        self.release()

    def __enter__(self) -> VNCExecutor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class VNCDesktop(DesktopConnection):
    """``vnc://HOST:PORT`` with ``password`` (None: a server that asks for none). Apps cannot
    be launched there from this machine: start them on the guest."""

    can_launch = False

    def __init__(
        self,
        spec: DesktopSpec,
        password: str | None = None,
        *,
        timeout_s: float = 5.0,
        settle_s: float = 0.05,
        dry_run: bool = False,
    ) -> None:
        assert spec.kind == "vnc" and spec.host is not None and spec.port is not None
        client = connect(spec.host, spec.port, password, timeout_s)
        address = spec.describe()
        executor: Executor = (
            DryRunExecutor() if dry_run else VNCExecutor(client, address, settle_s=settle_s)
        )
        super().__init__(spec, VNCScreen(client, address), executor)
        self.client = client

    def _close_parts(self) -> None:
        try:
            super()._close_parts()
        finally:
            self.client.close()
