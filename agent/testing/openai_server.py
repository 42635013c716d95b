"""A real OpenAI-compatible HTTP server (stdlib, HTTP/1.1, 127.0.0.1) around a local Qwen2.5-VL
checkpoint: ``POST /v1/chat/completions`` and ``GET /v1/models``, CPU is enough.

Data-URL images go through the checkpoint's own chat template and processor with its own pixel
bounds (like vLLM: an image is resized only when outside them); greedy ``generate()`` answers in
OpenAI's format with ``usage``. :attr:`~OpenAICompatibleServer.requests` records the image sizes
received and the frames the model saw (``image_grid_thw * patch``) per request;
:meth:`~OpenAICompatibleServer.inject` queues faults. Try the HTTP backend without a GPU::

    python -m agent.testing.openai_server MODEL_DIR [--port 8000] [--api-key KEY]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import io
import json
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from agent.models.torch_compat import prepare_torchvision

__all__ = ["Fault", "OpenAICompatibleServer", "RequestRecord", "main"]


@dataclass(frozen=True)
class Fault:
    """One chat request: sleep, then ``status`` (+ Retry-After), or 200 + raw ``body``, or OK."""

    status: int | None = None
    retry_after: float | None = None
    delay_s: float = 0.0
    body: str | None = None


@dataclass
class RequestRecord:
    """One request as the server saw it; sizes and frames are ``(width, height)``."""

    method: str
    path: str
    status: int = 0
    image_sizes: list[tuple[int, int]] = field(default_factory=list)
    model_frames: list[tuple[int, int]] = field(default_factory=list)
    prompt_tokens: int | None = None
    fault: Fault | None = None


class _HTTPError(Exception):
    """``_HTTPError(status, message)``: answered as an OpenAI-style error body."""


def _error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "error", "param": None, "code": status}}


def _conversation(messages: Any) -> tuple[list[dict[str, Any]], list[Image.Image]]:
    """OpenAI messages -> the processor's chat format (images as items, in order) + images."""
    if not isinstance(messages, list) or not messages:
        raise _HTTPError(400, "'messages' must be a non-empty list")
    chat: list[dict[str, Any]] = []
    images: list[Image.Image] = []
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if role not in ("system", "user", "assistant") or not isinstance(parts, list):
            raise _HTTPError(400, f"unsupported message (role {role!r}) or content")
        items: list[dict[str, Any]] = []
        for part in parts:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                items.append({"type": "text", "text": part["text"]})
                continue
            source = part.get("image_url") if kind == "image_url" else None
            url = source.get("url") if isinstance(source, dict) else source
            if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
                raise _HTTPError(400, f"unsupported part {kind!r} (images: base64 data URLs)")
            try:
                data = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
                images.append(Image.open(io.BytesIO(data)).convert("RGB"))
            except (binascii.Error, ValueError, UnidentifiedImageError) as exc:
                raise _HTTPError(400, f"cannot decode image: {exc}") from None
            items.append({"type": "image"})
        chat.append({"role": role, "content": items})
    return chat, images


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: OpenAICompatibleServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # a client that left is no error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as uvicorn does: no 40 ms wait for a delayed ACK
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # kept in records, not printed

    def do_GET(self) -> None:
        owner = self.server.owner
        if owner._stopping.is_set():  # a kept-alive connection to a stopped server: drop it
            self.close_connection = True
            return
        owner.requests.append(record := RequestRecord(self.command, self.path))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = (self.command, self.path.rstrip("/"))
        given = self.headers.get("Authorization", "").encode()
        expected = b"" if owner.api_key is None else f"Bearer {owner.api_key}".encode()
        authorized = not expected or secrets.compare_digest(given, expected)
        chat_route = route == ("POST", "/v1/chat/completions")
        record.fault = fault = owner._next_fault() if authorized and chat_route else None
        if fault is not None and owner._stopping.wait(fault.delay_s):
            self.close_connection = True  # stopped while sleeping
            return
        retry_after = None if fault is None else fault.retry_after
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        answer: str | dict[str, Any]
        if not authorized:
            status, answer = 401, _error(401, "invalid API key")
        elif route == ("GET", "/v1/models"):
            model = {"id": owner.model_name, "object": "model", "created": 0, "owned_by": "local"}
            status, answer = 200, {"object": "list", "data": [model]}
        elif not chat_route:
            status, answer = 404, _error(404, f"no route {self.command} {self.path}")
        elif fault is not None and fault.status is not None:
            status, answer = fault.status, _error(fault.status, "injected fault")
        elif fault is not None and fault.body is not None:
            status, answer = 200, fault.body
        else:
            try:
                status, answer = 200, owner.chat(json.loads(body), record)
            except _HTTPError as exc:
                status, answer = exc.args[0], _error(exc.args[0], exc.args[1])
            except ValueError as exc:  # bad JSON, or an image the processor refuses
                status, answer = 400, _error(400, str(exc))
            except RuntimeError as exc:
                status, answer = 500, _error(500, f"generation failed: {exc}")
        record.status = status
        data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
        self.send_response(status)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET


class OpenAICompatibleServer:
    """Serves ``model_dir`` at :attr:`base_url` (``http://127.0.0.1:PORT/v1``) while started;
    with ``api_key`` set, every request needs ``Authorization: Bearer KEY`` (else 401)."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        port: int = 0,
        api_key: str | None = None,
        served_model_name: str | None = None,
        limit_images: int | None = None,
    ) -> None:
        prepare_torchvision()
        import torch
        import transformers

        library: Any = transformers
        self.model_name = served_model_name or str(model_dir)  # vLLM's default name: the path
        self.api_key = api_key
        self.limit_images = limit_images  # vLLM's --limit-mm-per-prompt '{"image": N}'
        self.processor: Any = library.AutoProcessor.from_pretrained(str(model_dir))
        self.net: Any = library.Qwen2_5_VLForConditionalGeneration.from_pretrained(
            str(model_dir), dtype=torch.float32
        ).eval()
        self._torch = torch
        self.requests: list[RequestRecord] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()  # faults and records
        self._model_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> OpenAICompatibleServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port; kept-alive connections are dropped on next use."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def inject(
        self,
        *,
        status: int | None = None,
        times: int = 1,
        retry_after: float | None = None,
        delay_s: float = 0.0,
        body: str | None = None,
    ) -> None:
        """Queue the same :class:`Fault` for each of the next ``times`` chat requests."""
        with self._lock:
            self._faults.extend([Fault(status, retry_after, delay_s, body)] * times)

    def reset(self) -> None:
        """Forget recorded requests and pending faults."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def chat(self, payload: Any, record: RequestRecord) -> dict[str, Any]:
        """Answer one chat-completion request body (always greedy: ``temperature`` ignored)."""
        if not isinstance(payload, dict):
            raise _HTTPError(400, "the request body must be a JSON object")
        if payload.get("model") != self.model_name:
            raise _HTTPError(404, f"The model `{payload.get('model')}` does not exist.")
        max_tokens = payload.get("max_completion_tokens") or payload.get("max_tokens") or 256
        if not isinstance(max_tokens, int) or max_tokens <= 0:
            raise _HTTPError(400, "max_tokens must be a positive integer")
        chat, images = _conversation(payload.get("messages"))
        if self.limit_images is not None and len(images) > self.limit_images:
            raise _HTTPError(  # vLLM's wording
                400, f"At most {self.limit_images} image(s) may be provided in one prompt."
            )
        record.image_sizes = [image.size for image in images]
        with self._model_lock:  # one model: one generation at a time
            prefilled = bool(payload.get("continue_final_message"))  # vLLM's extension
            text = self.processor.apply_chat_template(
                chat,
                tokenize=False,
                add_generation_prompt=not prefilled,
                continue_final_message=prefilled,
            )
            inputs = self.processor(text=[text], images=images or None, return_tensors="pt")
            patch = int(self.processor.image_processor.patch_size)
            grids = inputs["image_grid_thw"].tolist() if images else []
            record.model_frames = [(int(g[2]) * patch, int(g[1]) * patch) for g in grids]
            with self._torch.inference_mode():
                output = self.net.generate(**inputs, max_new_tokens=max_tokens, do_sample=False)
        record.prompt_tokens = prompt = int(inputs["input_ids"].shape[1])
        new: list[int] = output[0, prompt:].tolist()
        eos = self.net.generation_config.eos_token_id
        stopped = bool(new) and new[-1] in (eos if isinstance(eos, list) else [eos])
        content = self.processor.decode(new, skip_special_tokens=True)
        choice = {"index": 0, "message": {"role": "assistant", "content": content},
                  "finish_reason": "stop" if stopped else "length"}  # fmt: skip
        usage = {"prompt_tokens": prompt, "completion_tokens": len(new)}
        usage["total_tokens"] = prompt + len(new)
        return {"id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion",
                "created": int(time.time()), "model": self.model_name, "choices": [choice],
                "usage": usage}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m agent.testing.openai_server MODEL_DIR [--port P] [--api-key K]``."""
    parser = argparse.ArgumentParser(description="Serve a Qwen2.5-VL checkpoint over HTTP.")
    parser.add_argument("model_dir", type=Path, help="a Qwen2.5-VL checkpoint directory")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--api-key", help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--served-model-name", help="the model name (default: MODEL_DIR)")
    parser.add_argument("--limit-images", type=int, help="images per request at most, as vLLM")
    args = vars(parser.parse_args(argv))
    with contextlib.suppress(KeyboardInterrupt), OpenAICompatibleServer(**args) as server:
        print(f"serving {server.model_name!r} at {server.base_url} (Ctrl-C stops)", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
