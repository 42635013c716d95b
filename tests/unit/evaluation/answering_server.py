"""A real OpenAI-compatible HTTP server on 127.0.0.1 whose answers are written by the test.

No model: ``POST /v1/chat/completions`` decodes the request's images (the frames the client
sent) and asks ``answer(text, frames)`` for the reply, where ``text`` is every text part of the
conversation joined by newlines. The evaluation tests use it to answer each held-out item with a
known right, wrong, boundary or refusal answer, in the coordinate space of the style under test,
through the real ``gui-agent eval`` and its HTTP backend (retries, timeouts, headers included).
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

Frames = list[tuple[int, int]]
AnswerFn = Callable[[str, Frames], str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}", "code": 404}})
            return
        texts: list[str] = []
        frames: Frames = []
        for message in json.loads(body)["messages"]:
            content = message["content"]
            parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
            for part in parts:
                if part["type"] == "text":
                    texts.append(part["text"])
                else:
                    data = base64.b64decode(part["image_url"]["url"].split(";base64,", 1)[1])
                    with Image.open(io.BytesIO(data)) as image:
                        frames.append(image.size)
        owner = self.server.owner
        try:
            reply = owner.answer("\n".join(texts), frames)
        except Exception as exc:  # the test's mistake: a 500 the client records, with why
            owner.errors.append(f"{type(exc).__name__}: {exc}")
            self._send(500, {"error": {"message": str(exc), "code": 500}})
            return
        with owner.lock:
            owner.served.append((reply, frames))
        # as a Qwen-VL server counts them: every 28x28 patch of every image, then the text (the
        # client refuses fewer visual tokens than it sent: a sign of a second resize)
        tokens = sum(w * h // (28 * 28) for w, h in frames) + len(body) // 100
        self._send(200, {
            "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": tokens, "completion_tokens": 5, "total_tokens": tokens + 5},
        })  # fmt: skip

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: AnsweringServer


class AnsweringServer:
    """Serves at :attr:`base_url` while entered; :attr:`served` lists ``(reply, frames)``."""

    def __init__(self, answer: AnswerFn) -> None:
        self.answer = answer
        self.served: list[tuple[str, Frames]] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> AnsweringServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._thread.join(10)
        self._httpd.server_close()
