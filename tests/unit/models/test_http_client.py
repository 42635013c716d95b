"""HttpClient against real local servers: kept-alive connections, a connection the server closed
while idle, a request lost on a reused connection, timeouts, an HTTP proxy from the environment."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent.errors import ConfigurationError
from agent.models.http_client import HttpClient, HttpConnectionError, HttpTimeout


class Server:
    """Answers every POST with ``{"echo": body, "path": path}``; counts connections and
    requests. ``close_after``: close the connection after that many answers on it (as an idle
    timeout would, without saying so). ``drop``: read that many requests, then close without
    answering. ``delay_s``: wait before answering."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[dict[str, Any]] = []
        self.close_after: int | None = None
        self.drop = 0
        self.delay_s = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                owner.connections += 1
                self.answered = 0

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                owner.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                if owner.drop:
                    owner.drop -= 1
                    self.close_connection = True
                    return
                time.sleep(owner.delay_s)
                reply = json.dumps({"echo": json.loads(body), "path": self.path}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                self.answered += 1
                if owner.close_after is not None and self.answered >= owner.close_after:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def client(port: int, host: str = "127.0.0.1", **kwargs: Any) -> HttpClient:
    options: dict[str, Any] = {"bearer": "sk-test-123", "timeout_s": 5.0, **kwargs}
    return HttpClient(f"http://{host}:{port}/v1/", **options)


def test_requests_share_one_kept_alive_connection(server: Server) -> None:
    http = client(server.port)
    for i in range(3):
        answer = http.post_json("/chat/completions", {"n": i, "text": "héllo"})
        assert answer.status == 200 and answer.json() == {
            "echo": {"n": i, "text": "héllo"},
            "path": "/v1/chat/completions",
        }
        assert answer.headers["content-type"] == "application/json"
    assert server.connections == 1
    headers = server.requests[0]["headers"]
    assert headers["Authorization"] == "Bearer sk-test-123"
    assert headers["Content-Type"] == "application/json"
    http.close()


def test_a_connection_the_server_closed_while_idle_is_replaced(server: Server) -> None:
    server.close_after = 1  # every connection is closed after one answer, silently
    http = client(server.port)
    for i in range(3):
        time.sleep(0.05)  # the server's close has arrived: noticed before the request
        assert http.post_json("/x", {"n": i}).json()["echo"] == {"n": i}
    assert server.connections == 3 and len(server.requests) == 3


def test_a_request_lost_on_a_reused_connection_is_sent_again_once(server: Server) -> None:
    http = client(server.port)
    http.post_json("/x", {"n": 0})
    server.drop = 1  # the next request is read, then the connection closes unanswered
    assert http.post_json("/x", {"n": 1}).json()["echo"] == {"n": 1}
    assert [r["body"] for r in server.requests] == [{"n": 0}, {"n": 1}, {"n": 1}]
    server.drop = 2  # lost again on the fresh connection: reported, not sent a third time
    with pytest.raises(HttpConnectionError, match="RemoteDisconnected"):
        http.post_json("/x", {"n": 2})
    assert len(server.requests) == 5


def test_a_lost_request_on_a_new_connection_is_not_sent_again(server: Server) -> None:
    server.drop = 1
    with pytest.raises(HttpConnectionError, match="RemoteDisconnected"):
        client(server.port).post_json("/x", {})
    assert len(server.requests) == 1


def test_a_slow_answer_is_a_timeout_and_the_next_request_works(server: Server) -> None:
    http = client(server.port, timeout_s=0.2)
    server.delay_s = 0.6
    started = time.monotonic()
    with pytest.raises(HttpTimeout, match=r"timed out after 0\.2 s"):
        http.post_json("/x", {})
    assert time.monotonic() - started < 0.5
    server.delay_s = 0.0
    assert http.post_json("/x", {"n": 1}, timeout_s=5).json()["echo"] == {"n": 1}


def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HttpConnectionError, match="ConnectionRefusedError"):
        client(port).post_json("/x", {})


def test_each_thread_keeps_its_own_connection(server: Server) -> None:
    http = client(server.port)
    server.delay_s = 0.1
    answers: list[Any] = []

    def ask(n: int) -> None:
        answers.append(http.post_json("/x", {"n": n}).json()["echo"]["n"])

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [0, 1, 2, 3]
    assert time.monotonic() - started < 0.35  # side by side, not one after the other
    assert server.connections == 4
    http.close()


def test_an_http_proxy_from_the_environment_is_used(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://me:p%40ss@127.0.0.1:{server.port}")
    # 127.0.0.2 is loopback too, but not one of the names that always bypass the proxy
    http = client(8123, host="127.0.0.2")
    answer = http.post_json("/chat/completions", {"n": 1})
    assert answer.json()["path"] == "http://127.0.0.2:8123/v1/chat/completions"
    assert server.requests[0]["headers"]["Proxy-Authorization"] == "Basic bWU6cEBzcw=="
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    with pytest.raises(HttpConnectionError):
        client(1, host="127.0.0.2").post_json("/x", {})  # direct now: nothing listens there


def test_loopback_never_goes_through_the_proxy(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    assert client(server.port).post_json("/x", {"n": 1}).json()["path"] == "/v1/x"


def test_bad_urls_and_proxies_are_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        HttpClient("ftp://example.org/v1", bearer=None, timeout_s=1)
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ConfigurationError, match="socks5.*not supported"):
        HttpClient("https://example.org/v1", bearer=None, timeout_s=1)


def test_the_key_is_redacted_and_never_in_the_repr() -> None:
    http = HttpClient("http://127.0.0.1:1/v1", bearer="sk-secret-42", timeout_s=1)
    assert "sk-secret-42" not in repr(http)
    assert http.redact("bad key sk-secret-42 given") == "bad key *** given"
