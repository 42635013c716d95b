"""The HTTP client the OpenAI-compatible backend posts its requests with: JSON over HTTP/1.1,
one kept-alive connection per thread, TLS with the system's certificates (``SSL_CERT_FILE``
honoured), ``HTTP(S)_PROXY``/``NO_PROXY`` from the environment (never for loopback hosts) and a
timeout on every blocking read or write.

The official openai client spends 7-10 ms of CPU on every request before and after the bytes
move (request models, httpx, response parsing); this client about 1 ms
(``bench/step_cost.py http`` measures the whole step). A kept-alive connection the server has
closed meanwhile (uvicorn, which serves vLLM, drops idle ones after 5 s) is noticed before it is
used, and a request it loses before any answer came is sent again at once on a new connection.
"""

from __future__ import annotations

import base64
import http.client
import json
import select
import ssl
import threading
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.errors import ConfigurationError

__all__ = ["HttpClient", "HttpConnectionError", "HttpResponse", "HttpTimeout"]

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_LOST = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class HttpTimeout(Exception):
    """No answer within the timeout."""


class HttpConnectionError(Exception):
    """The connection could not be made or broke: ``str()`` says how, in one line."""


@dataclass(frozen=True)
class HttpResponse:
    """An answer: its status, its headers (names lower-cased) and its body as text."""

    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not)."""
        return json.loads(self.text)


@dataclass(frozen=True)
class _Route:
    """Where to connect and what to ask for there: the server itself, or a proxy."""

    host: str
    port: int
    tls: bool  # TLS to the server itself
    tunnel: tuple[str, int] | None  # through an HTTP proxy to a TLS server: CONNECT host:port
    absolute: bool  # through an HTTP proxy to a plain server: the request names the full URL
    proxy_headers: dict[str, str]


def _route(url: urllib.parse.SplitResult) -> _Route:
    host = url.hostname or ""
    tls = url.scheme == "https"
    port = url.port or (443 if tls else 80)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme)
    if not proxy or host in _LOOPBACK or urllib.request.proxy_bypass(host):
        return _Route(host, port, tls, None, False, {})
    parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parsed.scheme != "http" or not parsed.hostname:
        raise ConfigurationError(
            f"proxy {parsed.scheme}://{parsed.hostname or ''} for {url.scheme} is not supported: "
            "only http:// proxies are (unset it, or list the host in NO_PROXY)"
        )
    headers = {}
    if parsed.username is not None:
        user = urllib.parse.unquote(parsed.username)
        password = urllib.parse.unquote(parsed.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Proxy-Authorization"] = f"Basic {token}"
    proxy_port = parsed.port or 80
    if tls:
        return _Route(parsed.hostname, proxy_port, False, (host, port), False, headers)
    return _Route(parsed.hostname, proxy_port, False, None, True, headers)


class HttpClient:
    """Posts JSON to paths under ``base_url``, with ``bearer`` as the API key when given.
    Thread-safe: each thread keeps its own connection. :meth:`close` closes them all."""

    def __init__(self, base_url: str, *, bearer: str | None, timeout_s: float) -> None:
        url = urllib.parse.urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigurationError(f"base URL must be http:// or https://host...: {base_url!r}")
        self._url = url
        self._route = _route(url)
        self._base_path = url.path.rstrip("/")
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "gui-agent",
        }
        if bearer:
            self._headers["Authorization"] = f"Bearer {bearer}"
        self._bearer = bearer or ""
        self._headers.update(self._route.proxy_headers if self._route.absolute else {})
        self.timeout_s = timeout_s
        self._context = ssl.create_default_context() if url.scheme == "https" else None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPConnection] = []

    def __repr__(self) -> str:
        return f"HttpClient({urllib.parse.urlunsplit(self._url)!r})"

    def redact(self, text: str) -> str:
        """``text`` with the API key, if it appears, as ``***``."""
        key = self._bearer
        return text.replace(key, "***") if len(key) >= 4 else text

    def post_json(self, path: str, body: Any, timeout_s: float | None = None) -> HttpResponse:
        """POST ``body`` as JSON to ``base_url + path``; the answer, whatever its status.
        Raises :class:`HttpTimeout` or :class:`HttpConnectionError`."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        target = self._base_path + path
        if self._route.absolute:
            target = urllib.parse.urlunsplit((self._url.scheme, self._url.netloc, target, "", ""))
        timeout = self.timeout_s if timeout_s is None else timeout_s
        for fresh in (False, True):
            connection, reused = self._connection(timeout, fresh)
            try:
                connection.request("POST", target, data, self._headers)
                response = connection.getresponse()
                text = response.read().decode("utf-8", errors="replace")
            except TimeoutError:
                connection.close()
                raise HttpTimeout(f"timed out after {timeout:g} s") from None
            except _LOST as exc:
                connection.close()
                if reused and not fresh:
                    continue  # the server had closed the idle connection: send it again, once
                raise HttpConnectionError(_describe(exc)) from None
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise HttpConnectionError(_describe(exc)) from None
            if response.will_close:
                connection.close()
            headers = {name.lower(): value for name, value in response.getheaders()}
            return HttpResponse(response.status, headers, text)
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, timeout: float, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection (a new one when ``fresh``) and whether it is already open."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            route = self._route
            if route.tls or route.tunnel is not None:
                connection = http.client.HTTPSConnection(
                    route.host, route.port, timeout=timeout, context=self._context
                )
                if route.tunnel is not None:
                    connection.set_tunnel(*route.tunnel, headers=route.proxy_headers)
            else:
                connection = http.client.HTTPConnection(route.host, route.port, timeout=timeout)
            self._local.connection = connection
            with self._lock:
                self._open.append(connection)
        connection.timeout = timeout
        sock = connection.sock
        if sock is not None:
            sock.settimeout(timeout)
            if fresh or select.select([sock], [], [], 0)[0]:  # readable while idle: closed
                connection.close()
        return connection, connection.sock is not None

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def __del__(self) -> None:  # a dropped client leaves no socket open
        for connection in getattr(self, "_open", ()):
            connection.close()


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
