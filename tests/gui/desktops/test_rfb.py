"""agent.desktops.rfb against real servers started as users start them (x11vnc serving a private
Xvfb, TigerVNC's Xvnc), passwords through files; and against a scripted fake server for the
protocol corners real servers rarely show (RFB 3.3/3.7, CopyRect, DesktopSize, skipped messages,
unknown encodings, a silent or non-RFB peer).

Every wait is a bounded poll; every server is a subprocess on a free 127.0.0.1 port, killed at
teardown."""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import mss
import numpy as np
import pytest

from actions.key_names import text_keysym
from agent.desktops.rfb import (
    RFBAuthError,
    RFBClient,
    RFBClosed,
    RFBConnectError,
    RFBError,
    vnc_auth_response,
)
from agent.screen.xvfb import wait_until
from agent.testing.tk_app import BACKGROUND, TkApp
from tests.gui.desktops.conftest import (
    PASSWORD,
    SIZE,
    ServerFactory,
    free_port,
    need,
    need_cryptography,
)

pytestmark = pytest.mark.gui

WHEEL_UP, WHEEL_DOWN = 1 << 3, 1 << 4
XK_CONTROL_L, XK_A, XK_RETURN = 0xFFE3, 0x61, 0xFF0D


both = pytest.mark.parametrize("vnc_server", ["x11vnc", "xvnc"], indirect=True)


def rgb(pixels: np.ndarray) -> np.ndarray:
    """The B, G, R bytes of (H, W) uint32 pixels (the fourth byte is the server's padding)."""
    return pixels.view(np.uint8).reshape(*pixels.shape, 4)[..., :3]


def mss_rgb(display_name: str) -> np.ndarray:
    with mss.MSS(display=display_name) as sct:
        grab = sct.grab(sct.monitors[0])
        return np.frombuffer(grab.raw, np.uint8).reshape(grab.height, grab.width, 4)[..., :3]


def poll_snapshot(client: RFBClient, predicate: Callable[[np.ndarray], object],
                  what: str, timeout: float = 5.0) -> np.ndarray:
    """Snapshots until one satisfies ``predicate`` (bounded); that snapshot."""
    shots: list[np.ndarray] = []

    def check() -> bool:
        shots.append(client.snapshot())
        return bool(predicate(shots[-1]))

    wait_until(check, timeout, interval=0.01, what=what)
    return shots[-1]


def no_reader_threads() -> bool:
    return not any(t.name.startswith("rfb-reader") for t in threading.enumerate())


# ---- against real servers ---------------------------------------------------------------


def drawn_as_expected(shot: np.ndarray, state: dict[str, Any], root: int) -> bool:
    """Every pixel outside the Tk window is the root's colour, every pixel of the window outside
    its widgets is the app's background (0xRRGGBB is the uint32 of bytes B, G, R, X)."""
    colours = shot & 0xFFFFFF
    expected = np.full(shot.shape, root, dtype=np.uint32)
    window = state["window"]
    x, y, w, h = window["x"], window["y"], window["width"], window["height"]
    expected[y:y + h, x:x + w] = int(BACKGROUND[1:], 16)
    known = np.ones(shot.shape, dtype=bool)
    for box in state["widgets"].values():
        known[box["y"]:box["y"] + box["height"], box["x"]:box["x"] + box["width"]] = False
    return bool(np.array_equal(colours[known], expected[known]))


@both
def test_snapshot_equals_the_display(
    vnc_server: ServerFactory, tk_app: Callable[..., TkApp]
) -> None:
    server = vnc_server()
    root = 0x2E8B57
    subprocess.run([need("xsetroot", "x11-xserver-utils"), "-solid", f"#{root:06x}"],
                   env=server.env, check=True, timeout=10)
    app = tk_app(server, x=100, y=120)
    state = app.state()
    with server.client() as client:
        assert (client.width, client.height) == SIZE
        assert client.desktop_name
        shot = client.snapshot()
        assert shot.shape == (SIZE[1], SIZE[0]) and shot.dtype == np.uint32
        # x11vnc polls the X display for changes, so the app may reach it a little later
        poll_snapshot(client, lambda s: drawn_as_expected(s, state, root), "the app's pixels")
        if server.kind == "x11vnc":  # mss cannot grab Xvnc's screen (its visuals confuse it)
            wait_until(lambda: np.array_equal(rgb(client.snapshot()), mss_rgb(server.name)),
                       timeout=5, interval=0.05, what="the snapshot to equal mss's grab")
    assert no_reader_threads()


@both
def test_click_reaches_the_button(
    vnc_server: ServerFactory, tk_app: Callable[..., TkApp]
) -> None:
    server = vnc_server()
    app = tk_app(server, x=150, y=100)
    cx, cy = app.center("ok")
    with server.client() as client:
        client.pointer(cx, cy)
        client.pointer(cx, cy, 1)
        client.pointer(cx, cy, 0)
        state = app.wait_for(lambda s: s["clicks"]["ok"] == 1, 5, "the OK click")
    assert state["clicks"] == {"ok": 1, "cancel": 0}
    assert state["last_click"] == {"widget": "ok", "x_root": cx, "y_root": cy, "button": 1,
                                   "double": False}


@both
def test_keys_and_unicode_text_arrive_exactly(
    vnc_server: ServerFactory, tk_app: Callable[..., TkApp]
) -> None:
    server = vnc_server()
    app = tk_app(server)
    text = "héllo 中文 <x>"
    with server.client() as client:
        client.type_text(text)
        app.wait_for(lambda s: s["entry_text"] == text, 10, f"the entry to read {text!r}")
        client.key(XK_CONTROL_L, True)
        client.key(XK_A, True)
        client.key(XK_A, False)
        client.key(XK_CONTROL_L, False)
        client.key(XK_RETURN, True)
        client.key(XK_RETURN, False)
        state = app.wait_for(lambda s: s["keys"][-1:] == ["Return"], 5, "Return")
    assert "Control-a" in state["keys"]
    assert state["entry_text"] == text  # ctrl+a moved the cursor, changed nothing
    assert state["keys"][-2:] == ["Control-a", "Return"]


@both
def test_wheel_events_arrive(vnc_server: ServerFactory, tk_app: Callable[..., TkApp]) -> None:
    server = vnc_server()
    app = tk_app(server)
    cx, cy = app.center("entry")
    with server.client() as client:
        for mask, expected in ((WHEEL_UP, 1), (WHEEL_UP, 2), (WHEEL_DOWN, 1)):
            client.pointer(cx, cy, mask)
            client.pointer(cx, cy, 0)
            app.wait_for(lambda s, e=expected: s["mouse"]["scroll"] == e, 5, f"scroll {expected}")
    assert app.state()["clicks"] == {"ok": 0, "cancel": 0}


@both
def test_a_snapshot_contains_a_change_made_before_it(vnc_server: ServerFactory) -> None:
    """Xvnc is the X server, so a change the X server has made is a change it has for us:
    the very next snapshot (the fence) must contain it. x11vnc finds changes by polling X,
    so there the change must show within a bounded poll."""
    server = vnc_server()
    xsetroot = need("xsetroot", "x11-xserver-utils")
    with server.client() as client:
        client.snapshot()
        for colour in (0x123456, 0xABCDEF, 0x00FF00):
            # xsetroot returns after the X server has processed the request (XCloseDisplay syncs)
            subprocess.run([xsetroot, "-solid", f"#{colour:06x}"], env=server.env, check=True,
                           timeout=10)
            if server.kind == "xvnc":
                shot = client.snapshot()
            else:
                shot = poll_snapshot(client, lambda s, c=colour: np.all((s & 0xFFFFFF) == c),
                                     "x11vnc to send the change")
            assert np.all((shot & 0xFFFFFF) == colour), f"{colour:06x} missing"


@both
def test_a_wrong_password_is_refused_at_once(vnc_server: ServerFactory) -> None:
    server = vnc_server()
    started = time.monotonic()
    with pytest.raises(RFBAuthError) as refused:
        RFBClient("127.0.0.1", server.port, "not-the-pw", timeout_s=5)
    assert time.monotonic() - started < 2
    message = str(refused.value)
    assert f"127.0.0.1:{server.port}" in message and "\n" not in message
    assert "not-the-pw" not in message and PASSWORD not in message
    assert "refused the password" in message
    with pytest.raises(RFBAuthError, match="needs a password"):
        RFBClient("127.0.0.1", server.port, None, timeout_s=5)
    with server.client() as client:  # the right one still works
        assert client.snapshot().shape == (SIZE[1], SIZE[0])
    assert no_reader_threads()


@both
def test_a_killed_server_is_noticed_within_two_seconds(vnc_server: ServerFactory) -> None:
    server = vnc_server()
    client = server.client()
    try:
        client.snapshot()
        assert client.alive
        server.kill()
        killed = time.monotonic()
        with pytest.raises(RFBClosed):  # the first of these calls may still be accepted
            wait_until(lambda: client.pointer(5, 5) or False, timeout=2, interval=0.01,
                       what="RFBClosed")
        assert time.monotonic() - killed < 2
        assert not client.alive
        for call in (client.snapshot, lambda: client.key(XK_A, True),
                     lambda: client.type_text("x")):
            started = time.monotonic()
            with pytest.raises(RFBClosed, match="closed the connection|broke"):
                call()
            assert time.monotonic() - started < 0.5
    finally:
        client.close()
    client.close()  # idempotent
    assert not client._reader.is_alive() and no_reader_threads()


@pytest.mark.parametrize("vnc_server", ["xvnc"], indirect=True)
def test_desktop_size_follows_a_resize(vnc_server: ServerFactory) -> None:
    server = vnc_server()
    xrandr = need("xrandr", "x11-xserver-utils")
    root = 0x8B2252
    subprocess.run([need("xsetroot", "x11-xserver-utils"), "-solid", f"#{root:06x}"],
                   env=server.env, check=True, timeout=10)
    with server.client() as client:
        assert client.snapshot().shape == (SIZE[1], SIZE[0])
        subprocess.run([xrandr, "-s", "800x600"], env=server.env, check=True, timeout=10,
                       capture_output=True)
        shot = poll_snapshot(client, lambda s: s.shape == (600, 800), "the new desktop size")
        assert (client.width, client.height) == (800, 600)
        assert np.all((shot & 0xFFFFFF) == root)  # the grown part too: pixels were sent


def test_a_closed_port_is_refused_fast() -> None:
    port = free_port()  # nothing listens there now
    started = time.monotonic()
    with pytest.raises(RFBConnectError, match=f"127.0.0.1:{port}"):
        RFBClient("127.0.0.1", port, "pw", timeout_s=5)
    assert time.monotonic() - started < 1


# ---- against a scripted fake server -----------------------------------------------------


class FakeServer:
    """One RFB connection on 127.0.0.1, served by a thread: the handshake for ``version``, then
    every non-incremental update request is answered (after sending what the test queued) from
    the server's own framebuffer. ``greeting``/``silent`` play a non-RFB or mute peer."""

    def __init__(self, version: bytes = b"RFB 003.008\n", *, security: int = 1,
                 password: str | None = None, size: tuple[int, int] = (64, 48),
                 greeting: bytes | None = None, silent: bool = False) -> None:
        self.version, self.security, self.password = version, security, password
        self.fb = np.arange(size[0] * size[1], dtype=np.uint32).reshape(size[1], size[0])
        self.greeting, self.silent = greeting, silent
        self.queued: list[bytes] = []
        self.delay_s = 0.0  # between reading a request and sending its answer
        self.requests: list[tuple[int, int, int, int, int]] = []
        self.pixel_format = b""
        self.encodings: list[int] = []
        self.error: BaseException | None = None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.lock = threading.Lock()
        self.conn: socket.socket | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def queue(self, data: bytes) -> None:
        with self.lock:
            self.queued.append(data)

    def _recv(self, n: int) -> bytes:
        assert self.conn is not None
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _run(self) -> None:
        try:
            self.listener.settimeout(10)
            conn, _ = self.listener.accept()
            conn.settimeout(10)
            self.conn = conn
            if self.silent:
                with contextlib.suppress(OSError, EOFError):
                    self._recv(1)  # until the client gives up
                return
            if self.greeting is not None:
                conn.sendall(self.greeting)
                with contextlib.suppress(OSError, EOFError):
                    self._recv(1)
                return
            self._handshake()
            self._serve()
        except (EOFError, ConnectionError, OSError):
            pass
        except BaseException as exc:  # a test bug: reported by stop()
            self.error = exc

    def _handshake(self) -> None:
        assert self.conn is not None
        conn = self.conn
        conn.sendall(self.version)
        minor = int(self._recv(12)[8:11])
        if minor == 3:
            conn.sendall(struct.pack(">I", self.security))
        else:
            conn.sendall(bytes([1, self.security]))
            assert self._recv(1)[0] == self.security
        if self.security == 2:
            challenge = bytes(range(16))
            conn.sendall(challenge)
            answer = self._recv(16)
            ok = self.password is not None and answer == vnc_auth_response(self.password,
                                                                           challenge)
            if not ok:
                reason = b"wrong!\nreally"
                tail = struct.pack(">I", len(reason)) + reason if minor == 8 else b""
                conn.sendall(struct.pack(">I", 1) + tail)
                return
            conn.sendall(struct.pack(">I", 0))
        elif minor == 8:
            conn.sendall(struct.pack(">I", 0))
        assert self._recv(1) == b"\x01"  # shared
        h, w = self.fb.shape
        name = b"fake desktop"
        conn.sendall(struct.pack(">HH16sI", w, h, b"\x00" * 16, len(name)) + name)

    def _serve(self) -> None:
        assert self.conn is not None
        while True:
            kind = self._recv(1)[0]
            if kind == 0:
                self.pixel_format = self._recv(19)[3:]
            elif kind == 2:
                (count,) = struct.unpack(">xH", self._recv(3))
                self.encodings = list(struct.unpack(f">{count}i", self._recv(4 * count)))
            elif kind == 3:
                request = struct.unpack(">BHHHH", self._recv(9))
                self.requests.append(request)
                if request[0] == 0:
                    self._answer(*request[1:])
            elif kind == 4:
                self._recv(7)
            elif kind == 5:
                self._recv(5)
            else:
                raise AssertionError(f"unexpected client message {kind}")

    def _answer(self, x: int, y: int, w: int, h: int) -> None:
        assert self.conn is not None
        with self.lock:
            queued, self.queued = self.queued, []
        for data in queued:
            self.conn.sendall(data)
        pixels = np.ascontiguousarray(self.fb[y:y + h, x:x + w]).astype("<u4").tobytes()
        time.sleep(self.delay_s)
        self.conn.sendall(b"\x00\x00" + struct.pack(">H", 1) + rect(x, y, w, h, 0) + pixels)

    def stop(self) -> None:
        for sock in (self.listener, self.conn):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the thread's accept/recv
                sock.close()
        self.thread.join(5)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def rect(x: int, y: int, w: int, h: int, encoding: int) -> bytes:
    return struct.pack(">HHHHi", x, y, w, h, encoding)


def update(*rects: bytes) -> bytes:
    return b"\x00\x00" + struct.pack(">H", len(rects)) + b"".join(rects)


@pytest.fixture
def fake() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def start(*args: Any, **kwargs: Any) -> FakeServer:
        servers.append(FakeServer(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize("version", [b"RFB 003.003\n", b"RFB 003.007\n", b"RFB 003.008\n",
                                     b"RFB 003.889\n", b"RFB 003.005\n"])
@pytest.mark.parametrize("security", [1, 2])
def test_handshake_versions_and_security(
    fake: Callable[..., FakeServer], version: bytes, security: int
) -> None:
    if security == 2:
        need_cryptography()
    server = fake(version, security=security, password="pw")
    with RFBClient("127.0.0.1", server.port, "pw", timeout_s=5) as client:
        assert (client.width, client.height, client.desktop_name) == (64, 48, "fake desktop")
        assert np.array_equal(client.snapshot(), server.fb)
    # 32 bpp, depth 24, little-endian, true colour, 255/255/255, shifts 16/8/0
    assert server.pixel_format == struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255,
                                              16, 8, 0)
    assert server.encodings == [0, 1, -223, -239]
    assert server.requests[0] == (0, 0, 0, 64, 48)  # the first full update
    assert (0, 1, 0, 1, 1) in server.requests  # the first snapshot's fence: one pixel
    wait_until(lambda: (1, 0, 0, 64, 48) in server.requests, 5, interval=0.01,
               what="the incremental request kept outstanding")


@pytest.mark.parametrize("version", [b"RFB 003.003\n", b"RFB 003.007\n", b"RFB 003.008\n"])
def test_wrong_password_message(fake: Callable[..., FakeServer], version: bytes) -> None:
    need_cryptography()
    server = fake(version, security=2, password="right")
    with pytest.raises(RFBAuthError) as refused:
        RFBClient("127.0.0.1", server.port, "wrong-one", timeout_s=5)
    message = str(refused.value)
    assert message.startswith(f"127.0.0.1:{server.port} refused the password")
    if version == b"RFB 003.008\n":
        assert message.endswith(": wrong! really")  # 3.8's reason, on one line
    assert "wrong-one" not in message


def test_password_needed(fake: Callable[..., FakeServer]) -> None:
    server = fake(security=2, password="pw")
    with pytest.raises(RFBAuthError, match="needs a password"):
        RFBClient("127.0.0.1", server.port, None, timeout_s=5)


@pytest.mark.parametrize("greeting", [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"SSH-2.0-x\r\n"])
def test_not_an_rfb_server(fake: Callable[..., FakeServer], greeting: bytes) -> None:
    server = fake(greeting=greeting)
    with pytest.raises(RFBConnectError, match="not an RFB server"):
        RFBClient("127.0.0.1", server.port, timeout_s=5)


def test_a_silent_peer_times_out(fake: Callable[..., FakeServer]) -> None:
    server = fake(silent=True)
    started = time.monotonic()
    with pytest.raises(RFBConnectError, match="within 0.5s"):
        RFBClient("127.0.0.1", server.port, timeout_s=0.5)
    assert time.monotonic() - started < 1.5


def test_copyrect_desktopsize_and_skipped_messages(fake: Callable[..., FakeServer]) -> None:
    server = fake(size=(64, 48))
    with RFBClient("127.0.0.1", server.port, timeout_s=5) as client:
        before = client.snapshot()
        # Bell, ServerCutText, SetColourMapEntries: read and skipped
        server.queue(b"\x02")
        server.queue(b"\x03\x00\x00\x00" + struct.pack(">I", 5) + b"hello")
        server.queue(b"\x01\x00" + struct.pack(">HH", 0, 2) + b"\xff" * 12)
        # a pointer shape (RichCursor, hot spot (3, 1), 4x2): read and dropped, pixels untouched
        server.queue(update(rect(3, 1, 4, 2, -239) + b"\x7f" * (4 * 2 * 4) + b"\xf0\xf0"))
        # CopyRect: a 10x8 block from (0, 0) to (20, 10), then an overlapping one
        server.queue(update(rect(20, 10, 10, 8, 1) + struct.pack(">HH", 0, 0),
                            rect(2, 1, 10, 8, 1) + struct.pack(">HH", 0, 0)))
        shot = client.snapshot()
        expected = before.copy()
        expected[10:18, 20:30] = before[0:8, 0:10]
        expected[1:9, 2:12] = expected[0:8, 0:10].copy()
        assert np.array_equal(shot, expected)
        # DesktopSize: the framebuffer grows, and the new pixels arrive (Raw) in the same update
        grown = np.full((60, 80), 0x00ABCDEF, dtype=np.uint32)
        server.queue(update(rect(0, 0, 80, 60, -223),
                            rect(0, 0, 80, 60, 0) + grown.astype("<u4").tobytes()))
        server.fb = grown
        shot = client.snapshot()
        assert (client.width, client.height) == (80, 60)
        assert np.array_equal(shot, grown)
        wait_until(lambda: (1, 0, 0, 80, 60) in server.requests, 5, interval=0.01,
                   what="an incremental request at the new size")
        assert client.alive


@pytest.mark.parametrize("bad, match", [
    (update(rect(0, 0, 4, 4, 16)), "encoding 16"),
    (b"\xc8", "unknown message type 200"),
    (update(rect(60, 40, 10, 10, 0)), "outside"),
])
def test_protocol_errors_close_with_a_clear_message(
    fake: Callable[..., FakeServer], bad: bytes, match: str
) -> None:
    server = fake(size=(64, 48))
    with RFBClient("127.0.0.1", server.port, timeout_s=5) as client:
        client.snapshot()
        server.queue(bad)
        with pytest.raises(RFBClosed, match=match):
            client.snapshot()
        assert not client.alive
        with pytest.raises(RFBClosed, match=match):  # the first error, kept
            client.pointer(1, 1)
    assert no_reader_threads()


def test_a_late_answer_does_not_answer_the_next_snapshot(
    fake: Callable[..., FakeServer]
) -> None:
    """RFB updates carry no request id. Here an update covering the whole screen is on its way
    when the first snapshot's request arrives: it passes for the answer, and the real answer
    comes late. The next snapshot must wait for its own answer, not take that late one (each
    snapshot asks for another pixel)."""
    server = fake(size=(64, 48))
    old, first, second = (np.full((48, 64), c, dtype=np.uint32) for c in (1, 2, 3))
    with RFBClient("127.0.0.1", server.port, timeout_s=5) as client:
        server.queue(update(rect(0, 0, 64, 48, 0) + old.astype("<u4").tobytes()))
        server.fb, server.delay_s = first, 0.3
        assert np.array_equal(client.snapshot(), old)  # the in-flight update answered it
        server.fb, server.delay_s = second, 0.0
        shot = client.snapshot()
        requested = [r for r in server.requests if r[0] == 0 and r[3:] == (1, 1)]
        _, x, y, _, _ = requested[-1]  # this snapshot's pixel
        assert shot[y, x] == 3


def test_an_idle_client_does_not_spin(fake: Callable[..., FakeServer]) -> None:
    import resource

    server = fake()
    with RFBClient("127.0.0.1", server.port, timeout_s=0.2) as client:  # idle wake-ups: 0.2s
        client.snapshot()
        before = resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(1.0)  # measuring idleness itself: nothing to poll for
        after = resource.getrusage(resource.RUSAGE_SELF)
        assert client.alive  # a calm screen is not a dead server
        client.snapshot()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 0.1, f"{cpu:.3f}s of CPU in 1s of idling"


def test_snapshot_times_out_without_an_answer(fake: Callable[..., FakeServer]) -> None:
    server = fake(size=(16, 16))
    with RFBClient("127.0.0.1", server.port, timeout_s=5) as client:
        client.snapshot()
        server.queue(update(rect(0, 0, 4, 4, 0)))  # a partial update: the server then stalls
        started = time.monotonic()
        with pytest.raises(RFBError, match="did not answer a framebuffer request within 0.3s"):
            client.snapshot(timeout_s=0.3)
        assert time.monotonic() - started < 1


def test_closed_client_and_keysyms(fake: Callable[..., FakeServer]) -> None:
    server = fake()
    client = RFBClient("127.0.0.1", server.port, timeout_s=5)
    client.close()
    client.close()
    assert not client.alive and no_reader_threads()
    with pytest.raises(RFBClosed, match="closed by this client"):
        client.snapshot()
    with pytest.raises(RFBClosed):
        client.key(XK_A, True)
    assert [text_keysym(c) for c in "a~\xa0ÿ\n\t中€"] == [
        0x61, 0x7E, 0xA0, 0xFF, 0xFF0D, 0xFF09, 0x0100_4E2D, 0x0100_20AC]
