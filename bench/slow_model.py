"""A model server for the benches: OpenAI-compatible chat completions answering one fixed text
after ``latency_s`` (a real model's latency without its compute, so what a bench measures is
the framework around it)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SlowModel:
    """``with SlowModel(answer, latency_s) as model:`` serves ``model.url`` (``/v1``) until the
    block ends; ``latency_s`` may change between requests."""

    def __init__(self, answer: str, latency_s: float) -> None:
        self.answer, self.latency_s = answer, latency_s
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(model.latency_s)
                body = json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "slow",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": model.answer}}],
                    "usage": {"prompt_tokens": 10**6, "completion_tokens": 30,
                              "total_tokens": 10**6},
                }).encode()  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> SlowModel:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
