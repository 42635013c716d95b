"""A small synchronous RFB (VNC) client that never hangs its caller.

``RFBClient(host, port, password)`` connects (RFB 3.3, 3.7 or 3.8; security None or VNC
Authentication), asks for 32-bit true colour laid out as X11 and mss give it (bytes B, G, R, X in
memory; the X byte is whatever the server sends: Xvfb leaves garbage there, as mss shows too),
asks for the encodings Raw and CopyRect and the pseudo-encodings DesktopSize and Cursor (the
pointer's shape comes apart and is dropped, so it is not painted into the pixels), and starts
one daemon reader thread. The reader
keeps one incremental FramebufferUpdateRequest outstanding and applies every update, whole, to a
``(height, width)`` uint32 framebuffer; ``snapshot()`` sends a non-incremental 1x1 request as a
fence and returns a copy once an update that answers it has been applied.

Never hanging: the TCP connect and the handshake share one deadline (``timeout_s``); every
``sendall`` and every ``recv`` has the socket timeout; a server that goes away is seen by the reader
(EOF, reset, TCP keepalive on a silent link) and every later call raises :class:`RFBClosed` at
once with the first error. Writes from several threads go through one lock.

Pure protocol: the standard library, numpy, the keysyms of :mod:`actions.key_names`, and
``cryptography`` (the ``vnc`` extra) for the DES
of VNC Authentication, imported only when a server asks for a password.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
from types import TracebackType

import numpy as np
import numpy.typing as npt

from actions.key_names import text_keysym

Framebuffer = npt.NDArray[np.uint32]

__all__ = [
    "RFBAuthError", "RFBClient", "RFBClosed", "RFBConnectError", "RFBError", "vnc_auth_response",
]


class RFBError(Exception):
    """Base of every error this client raises; messages are one line, never the password."""


class RFBAuthError(RFBError):
    """The server refused the password, or asked for one when none was given."""


class RFBConnectError(RFBError):
    """Unreachable, refused, timed out, or not an RFB server (or no security type we speak)."""


class RFBClosed(RFBError):
    """The connection broke (or was closed) after it was established."""


# client -> server message types
_SET_PIXEL_FORMAT, _SET_ENCODINGS, _FB_UPDATE_REQUEST, _KEY_EVENT, _POINTER_EVENT = 0, 2, 3, 4, 5
# server -> client message types
_FB_UPDATE, _SET_COLOUR_MAP, _BELL, _SERVER_CUT_TEXT = 0, 1, 2, 3
# encodings
_RAW, _COPY_RECT, _DESKTOP_SIZE, _CURSOR = 0, 1, -223, -239
#: Cursor (RichCursor) asked for so that servers send the pointer's shape apart instead of
#: painting it into the pixels (x11vnc and Xvnc both paint it otherwise): the framebuffer is then
#: what the display shows, as a local mss capture is. Its shapes are read and dropped.
_ENCODINGS = (_RAW, _COPY_RECT, _DESKTOP_SIZE, _CURSOR)
# security types
_SEC_INVALID, _SEC_NONE, _SEC_VNC = 0, 1, 2

#: 32 bpp, depth 24, little-endian, true colour, max 255 each, shifts R16 G8 B0 (+3 padding)
_PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
_FENCE_SPAN = 64  # snapshots ask for pixel (k mod 64, 0): consecutive fences never share one
_MAX_REASON = 1 << 16  # longest failure reason we read (a server may send anything)
_SKIP_CHUNK = 1 << 16
_VERSION = re.compile(rb"RFB (\d{3})\.(\d{3})\n")


def _reverse_bits(byte: int) -> int:
    return int(f"{byte:08b}"[::-1], 2)


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """DES-encrypt the 16-byte challenge with the password (UTF-8, first 8 bytes, zero-padded),
    each key byte bit-reversed: VNC Authentication's well-known quirk."""
    try:  # cryptography >= 43 keeps (single and triple) DES in the "decrepit" module
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:
        try:
            from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
        except ImportError:
            raise RFBAuthError(
                "VNC Authentication needs the 'cryptography' package "
                "(pip install 'gui-agent[vnc]')") from None
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    key = bytes(_reverse_bits(b) for b in password.encode("utf-8")[:8].ljust(8, b"\0"))
    # Triple DES with K1 = K2 = K3 is single DES; an 8-byte key is deprecated in cryptography 51.
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


class _Fence:
    """One snapshot's request for the single pixel (x, y): answered by the first update that
    the reader began after the request was sent and that covers the pixel.

    RFB updates carry no request id, so "answers" is read from the pixel: each snapshot asks
    for a different one, so the answer to the previous snapshot's request, still on its way,
    does not pass for this one's. (An update the server had begun before it read the request,
    whose changed region happens to cover the pixel, can; it is at most one update older.)"""

    __slots__ = ("after", "answered", "x", "y")

    def __init__(self, after: int, x: int, y: int) -> None:
        self.after = after  # updates begun when the request was sent
        self.x, self.y = x, y
        self.answered = False


# one operation of an update, applied in order once the whole update has been read
_Op = tuple[str, int, int, int, int, "Framebuffer | tuple[int, int] | None"]


class RFBClient:
    """A connection to one RFB server; see the module docstring."""

    def __init__(
        self, host: str, port: int, password: str | None = None, *, timeout_s: float = 5.0,
        name: str = "gui-agent",
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.name = name
        self.width = 0
        self.height = 0
        self.desktop_name = ""
        self._where = f"{host}:{port}"
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()  # guards everything below
        self._fb: Framebuffer = np.zeros((0, 0), dtype=np.uint32)
        self._updates_begun = 0
        self._updates_done = 0
        self._fences: list[_Fence] = []
        self._fence_count = 0
        self._error: RFBError | None = None
        self._closed = False
        self._small = bytearray(64)
        deadline = time.monotonic() + timeout_s  # connect, handshake and the first update
        self._sock = self._connect(password, deadline)
        self._reader = threading.Thread(
            target=self._read_loop, name=f"rfb-reader {self._where} ({name})", daemon=True)
        try:
            self._send(self._update_request(False, 0, 0, self.width, self.height))
            self._reader.start()
            self._wait_first_update(deadline)
        except RFBClosed as exc:
            self.close()
            raise RFBConnectError(str(exc)) from None
        except BaseException:
            self.close()
            raise

    def _wait_first_update(self, deadline: float) -> None:
        """Wait for the whole first frame: a snapshot is then never answered by it."""
        with self._cond:
            while self._updates_done < 1:
                self._check()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RFBConnectError(
                        f"{self._where} sent no framebuffer within {self.timeout_s:g}s")
                self._cond.wait(left)

    # ---- handshake ----------------------------------------------------------------------

    def _connect(self, password: str | None, deadline: float) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except TimeoutError:
            raise RFBConnectError(
                f"no TCP connection to {self._where} within {self.timeout_s:g}s") from None
        except OSError as exc:
            raise RFBConnectError(f"cannot connect to {self._where}: {_describe(exc)}") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _keepalive(sock, self.timeout_s)
            self._handshake(sock, password, deadline)
        except RFBError:
            _close_socket(sock)
            raise
        except TimeoutError:
            _close_socket(sock)
            raise RFBConnectError(
                f"{self._where} did not finish the RFB handshake within {self.timeout_s:g}s"
            ) from None
        except OSError as exc:
            _close_socket(sock)
            raise RFBConnectError(
                f"connection to {self._where} failed during the handshake: {_describe(exc)}"
            ) from None
        except BaseException:
            _close_socket(sock)
            raise
        sock.settimeout(self.timeout_s)
        return sock

    def _hs_recv(self, sock: socket.socket, n: int, deadline: float, what: str) -> bytes:
        """Exactly ``n`` bytes before ``deadline``; EOF is an RFBConnectError naming ``what``."""
        data = bytearray()
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise RFBConnectError(f"{self._where} closed the connection while {what}")
            data += chunk
        return bytes(data)

    def _hs_reason(self, sock: socket.socket, deadline: float) -> str:
        (length,) = struct.unpack(">I", self._hs_recv(sock, 4, deadline, "sending a reason"))
        raw = self._hs_recv(sock, min(length, _MAX_REASON), deadline, "sending a reason")
        return " ".join(raw.decode("utf-8", "replace").split())  # one line

    def _handshake(self, sock: socket.socket, password: str | None, deadline: float) -> None:
        greeting = self._hs_recv(sock, 4, deadline, "greeting")
        if greeting == b"RFB ":  # anything else fails now, not after a timeout
            greeting += self._hs_recv(sock, 8, deadline, "greeting")
        match = _VERSION.fullmatch(greeting)
        if match is None:
            raise RFBConnectError(f"{self._where} is not an RFB server (it sent {greeting[:12]!r})")
        server = (int(match.group(1)), int(match.group(2)))
        minor = 8 if server >= (3, 8) else 7 if server == (3, 7) else 3
        if server < (3, 3):
            raise RFBConnectError(f"{self._where} speaks RFB {server[0]}.{server[1]}, too old")
        sock.sendall(b"RFB 003.%03d\n" % minor)

        if minor == 3:  # the server decides
            (sec,) = struct.unpack(">I", self._hs_recv(sock, 4, deadline, "choosing security"))
            if sec == _SEC_INVALID:
                raise RFBConnectError(
                    f"{self._where} refused the connection: {self._hs_reason(sock, deadline)}")
            offered = [sec]
        else:
            (count,) = self._hs_recv(sock, 1, deadline, "listing security types")
            if count == 0:
                raise RFBConnectError(
                    f"{self._where} refused the connection: {self._hs_reason(sock, deadline)}")
            offered = list(self._hs_recv(sock, count, deadline, "listing security types"))
        if _SEC_NONE in offered:
            sec = _SEC_NONE
        elif _SEC_VNC in offered:
            sec = _SEC_VNC
            if password is None:
                raise RFBAuthError(f"{self._where} needs a password (VNC Authentication)")
        else:
            raise RFBConnectError(
                f"{self._where} offers security types {offered}; this client speaks only "
                f"None (1) and VNC Authentication (2)")
        if minor != 3:
            sock.sendall(bytes([sec]))
        if sec == _SEC_VNC:
            assert password is not None
            challenge = self._hs_recv(sock, 16, deadline, "sending the challenge")
            sock.sendall(vnc_auth_response(password, challenge))
        if sec == _SEC_VNC or minor == 8:  # SecurityResult (3.3/3.7 send none after None)
            try:
                (result,) = struct.unpack(
                    ">I", self._hs_recv(sock, 4, deadline, "checking the password"))
            except RFBConnectError:
                if sec == _SEC_VNC:  # some servers just hang up on a wrong password
                    raise RFBAuthError(
                        f"{self._where} closed the connection after the password was sent "
                        f"(wrong password?)") from None
                raise
            if result != 0:
                reason = ""
                if minor == 8:
                    with contextlib.suppress(RFBError, OSError):
                        reason = self._hs_reason(sock, deadline)
                what = "refused the password" if sec == _SEC_VNC else "refused the connection"
                cls = RFBAuthError if sec == _SEC_VNC else RFBConnectError
                raise cls(f"{self._where} {what}" + (f": {reason}" if reason else ""))

        sock.sendall(b"\x01")  # ClientInit: shared
        head = self._hs_recv(sock, 24, deadline, "sending ServerInit")
        width, height = struct.unpack_from(">HH", head, 0)
        (name_len,) = struct.unpack_from(">I", head, 20)
        raw_name = self._hs_recv(sock, name_len, deadline, "sending its name") if name_len else b""
        self.width, self.height = width, height
        self.desktop_name = raw_name[:_MAX_REASON].decode("utf-8", "replace")
        self._fb = np.zeros((height, width), dtype=np.uint32)
        sock.sendall(
            struct.pack(">B3x", _SET_PIXEL_FORMAT) + _PIXEL_FORMAT
            + struct.pack(f">BxH{len(_ENCODINGS)}i", _SET_ENCODINGS, len(_ENCODINGS), *_ENCODINGS))

    # ---- writing ------------------------------------------------------------------------

    @staticmethod
    def _update_request(incremental: bool, x: int, y: int, w: int, h: int) -> bytes:
        return struct.pack(">BBHHHH", _FB_UPDATE_REQUEST, int(incremental), x, y, w, h)

    def _check(self) -> None:
        error = self._error
        if error is not None:  # a fresh instance each time: one raise's traceback stays its own
            raise type(error)(str(error))
        if self._closed:
            raise RFBClosed(f"the connection to {self._where} was closed by this client")

    def _send(self, data: bytes) -> None:
        """Send one or more whole messages; a failure kills the connection (RFBClosed)."""
        with self._send_lock:
            self._check()
            try:
                self._sock.sendall(data)
            except TimeoutError:
                raise self._fail(RFBClosed(
                    f"{self._where} accepted no data for {self.timeout_s:g}s")) from None
            except OSError as exc:
                raise self._fail(RFBClosed(
                    f"the connection to {self._where} broke: {_describe(exc)}")) from None

    def _fail(self, error: RFBError) -> RFBError:
        """Record the first error, wake the waiters, unblock the reader; return the error to
        raise (a fresh copy of the first one)."""
        with self._cond:
            if self._error is None and not self._closed:
                self._error = error
            first = self._error or error
            self._cond.notify_all()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        return type(first)(str(first))

    def pointer(self, x: int, y: int, buttons: int = 0) -> None:
        """PointerEvent at (x, y) with the button mask (bit 0 left, 1 middle, 2 right, 3 wheel
        up, 4 wheel down)."""
        if not (0 <= x <= 0xFFFF and 0 <= y <= 0xFFFF):
            raise ValueError(f"pointer position ({x}, {y}) outside 0..65535")
        if not 0 <= buttons <= 0xFF:
            raise ValueError(f"button mask {buttons} outside 0..255")
        self._send(struct.pack(">BBHH", _POINTER_EVENT, buttons, x, y))

    @staticmethod
    def _key_message(keysym: int, down: bool) -> bytes:
        if not 0 <= keysym <= 0xFFFFFFFF:
            raise ValueError(f"keysym {keysym:#x} outside 32 bits")
        return struct.pack(">BBxxI", _KEY_EVENT, int(down), keysym)

    def key(self, keysym: int, down: bool) -> None:
        """KeyEvent: press (``down``) or release the X keysym."""
        self._send(self._key_message(keysym, down))

    def type_text(self, text: str, delay_s: float = 0.05) -> None:
        """Each character as a press and release of its keysym
        (:func:`actions.key_names.text_keysym`), with ``delay_s`` between characters (servers
        lost characters without a gap)."""
        for index, char in enumerate(text):
            if index and delay_s > 0:
                time.sleep(delay_s)
            keysym = text_keysym(char)
            self._send(self._key_message(keysym, True) + self._key_message(keysym, False))

    # ---- snapshot -----------------------------------------------------------------------

    def snapshot(self, timeout_s: float | None = None) -> Framebuffer:
        """A copy of the framebuffer with every update the server had for us when called."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        with self._cond:
            self._check()
            self._fence_count += 1
            x = self._fence_count % max(1, min(_FENCE_SPAN, self.width))
            fence = _Fence(self._updates_begun, x, 0)
            self._fences.append(fence)
        try:
            self._send(self._update_request(False, fence.x, fence.y, 1, 1))
            with self._cond:
                while not fence.answered:
                    self._check()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RFBError(
                            f"{self._where} did not answer a framebuffer request within "
                            f"{timeout:g}s")
                    self._cond.wait(left)
                return self._fb.copy()
        finally:
            with self._cond, contextlib.suppress(ValueError):
                self._fences.remove(fence)

    @property
    def alive(self) -> bool:
        """True until the connection breaks or is closed."""
        return self._error is None and not self._closed and self._reader.is_alive()

    @property
    def updates(self) -> int:
        """How many framebuffer updates have been applied (for tests and diagnostics)."""
        return self._updates_done

    # ---- reading (the reader thread) ----------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while True:
                if not self._recv_message_type():
                    return  # closed by this client
                kind = self._small[0]
                if kind == _FB_UPDATE:
                    self._read_update()
                elif kind == _SET_COLOUR_MAP:
                    self._recv_small(5)
                    (count,) = struct.unpack_from(">H", self._small, 3)
                    self._skip(6 * count)
                elif kind == _BELL:
                    pass
                elif kind == _SERVER_CUT_TEXT:
                    self._recv_small(7)
                    (length,) = struct.unpack_from(">I", self._small, 3)
                    self._skip(length)
                else:
                    raise RFBClosed(f"{self._where} sent an unknown message type {kind}")
        except RFBError as exc:
            self._fail(exc if isinstance(exc, RFBClosed) else RFBClosed(str(exc)))
        except Exception as exc:  # never die silently: keep it for the caller
            self._fail(RFBClosed(f"reader for {self._where} failed: {_describe(exc)}"))

    def _recv_message_type(self) -> bool:
        """Wait (idle, no spinning) for the next message's first byte; False once closed."""
        while True:
            try:
                got = self._sock.recv_into(self._small, 1)
            except TimeoutError:
                if self._closed:
                    return False
                continue  # a calm screen sends nothing: keep waiting (keepalive sees a dead link)
            except OSError as exc:
                if self._closed:
                    return False
                raise self._broke(exc) from None
            if got == 0:
                if self._closed:
                    return False
                raise RFBClosed(f"{self._where} closed the connection")
            return True

    def _broke(self, exc: OSError) -> RFBClosed:
        return RFBClosed(f"the connection to {self._where} broke: {_describe(exc)}")

    def _recv_into(self, view: memoryview) -> None:
        """Fill ``view``; EOF, an error, or no progress for ``timeout_s`` kill the connection."""
        pos, size = 0, len(view)
        while pos < size:
            try:
                got = self._sock.recv_into(view[pos:], size - pos)
            except TimeoutError:
                raise RFBClosed(
                    f"{self._where} stalled for {self.timeout_s:g}s in the middle of a message"
                ) from None
            except OSError as exc:
                raise self._broke(exc) from None
            if got == 0:
                raise RFBClosed(f"{self._where} closed the connection in the middle of a message")
            pos += got

    def _recv_small(self, n: int) -> None:
        self._recv_into(memoryview(self._small)[:n])

    def _skip(self, n: int) -> None:
        scratch = memoryview(bytearray(min(n, _SKIP_CHUNK)))
        while n > 0:
            step = min(n, len(scratch))
            self._recv_into(scratch[:step])
            n -= step

    def _read_update(self) -> None:
        with self._cond:
            self._updates_begun += 1
            index = self._updates_begun
        self._recv_small(3)
        (count,) = struct.unpack_from(">xH", self._small, 0)
        width, height = self.width, self.height
        ops: list[_Op] = []
        boxes: list[tuple[int, int, int, int]] = []
        for _ in range(count):
            self._recv_small(12)
            x, y, w, h, encoding = struct.unpack_from(">HHHHi", self._small, 0)
            if encoding == _DESKTOP_SIZE:
                width, height = w, h
                ops.append(("size", 0, 0, w, h, None))
                continue
            if encoding == _CURSOR:  # x, y: the hot spot; 32-bit pixels, then a bit mask
                self._skip(w * h * 4 + (w + 7) // 8 * h)
                continue
            if x + w > width or y + h > height:
                raise RFBClosed(
                    f"{self._where} sent a {w}x{h} rectangle at ({x}, {y}) outside its "
                    f"{width}x{height} framebuffer")
            boxes.append((x, y, w, h))
            if encoding == _RAW:
                wire: npt.NDArray[np.uint32] = np.empty((h, w), dtype="<u4")
                if wire.size:
                    self._recv_into(wire.data.cast("B"))
                pixels: Framebuffer = wire if wire.dtype.isnative else wire.astype(np.uint32)
                ops.append(("raw", x, y, w, h, pixels))
            elif encoding == _COPY_RECT:
                self._recv_small(4)
                sx, sy = struct.unpack_from(">HH", self._small, 0)
                if sx + w > width or sy + h > height:
                    raise RFBClosed(
                        f"{self._where} sent a CopyRect from outside its framebuffer")
                ops.append(("copy", x, y, w, h, (sx, sy)))
            else:
                raise RFBClosed(
                    f"{self._where} sent a rectangle in encoding {encoding}, which this client "
                    f"did not ask for (it asked for Raw, CopyRect and DesktopSize)")
        with self._cond:
            self._apply(ops)
            self._updates_done = index
            for fence in self._fences:
                if index > fence.after and (
                    not (fence.x < width and fence.y < height)  # resized away: cannot come
                    or any(bx <= fence.x < bx + bw and by <= fence.y < by + bh
                           for bx, by, bw, bh in boxes)):
                    fence.answered = True
            self._cond.notify_all()
        if not self._closed:
            self._send(self._update_request(True, 0, 0, self.width, self.height))

    def _apply(self, ops: list[_Op]) -> None:
        """Apply one whole update (called with ``_cond`` held, so snapshots never see half)."""
        fb = self._fb
        for op, x, y, w, h, data in ops:
            if op == "size":
                resized: Framebuffer = np.zeros((h, w), dtype=np.uint32)
                keep_h, keep_w = min(h, fb.shape[0]), min(w, fb.shape[1])
                resized[:keep_h, :keep_w] = fb[:keep_h, :keep_w]
                fb = resized
                self.width, self.height = w, h
            elif op == "raw":
                assert isinstance(data, np.ndarray)
                fb[y:y + h, x:x + w] = data
            else:
                assert isinstance(data, tuple)
                sx, sy = data
                fb[y:y + h, x:x + w] = fb[sy:sy + h, sx:sx + w].copy()  # regions may overlap
        self._fb = fb

    # ---- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection and stop the reader thread. Idempotent; never raises."""
        with contextlib.suppress(Exception):
            with self._cond:
                already = self._closed
                self._closed = True
                self._cond.notify_all()
            if already:
                return
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader's recv at once
            if self._reader.is_alive() and self._reader is not threading.current_thread():
                self._reader.join(self.timeout_s + 1.0)
            with self._send_lock:
                _close_socket(self._sock)

    def __enter__(self) -> RFBClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self.alive else "closed"
        return f"RFBClient({self._where}, {self.width}x{self.height}, {state})"


def _describe(exc: BaseException) -> str:
    """One line: the exception's class and message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _close_socket(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _keepalive(sock: socket.socket, timeout_s: float) -> None:
    """TCP keepalive so that a silent dead link is noticed in a few seconds (where supported)."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        idle = max(1, int(timeout_s))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        # and data left unacknowledged (a key sent into a dead link) fails after this long
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(1000 * (timeout_s + 3)))
