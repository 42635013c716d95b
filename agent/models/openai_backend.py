"""Qwen2.5-VL behind an OpenAI-compatible server (vLLM, SGLang, Ollama, DashScope, ModelScope).

The client owns the frame: every image is resized with :func:`agent.geometry.smart_resize` under
the backend's ``min_pixels``/``max_pixels``/``factor`` and sent as a PNG data URL of exactly that
size, so a server whose own bounds contain the frame does not resize it again (vLLM ignores
per-request ``max_pixels``: QwenLM/Qwen3-VL#946). The server cannot report the grid it used, but
it reports ``usage.prompt_tokens``: fewer prompt tokens than the images' visual tokens prove that
it shrank them, which raises :class:`~agent.errors.FrameMismatch` (``check_prompt_tokens``).

Requests go through :class:`~agent.models.http_client.HttpClient` (kept-alive connections; the
openai client costs 7-10 ms per request). Failures are handled explicitly: 408, 429, 5xx,
connection errors and timeouts are retried with exponential backoff plus jitter, honouring
``Retry-After`` (capped); 401/403 and 404 are configuration errors; other 4xx, malformed bodies
and exhausted retries are :class:`~agent.errors.BackendError`. The API key is handed to the HTTP
client only: it is never logged, stored on the backend or shown in an error.
"""

from __future__ import annotations

import base64
import email.utils
import json
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PIL import Image

from agent.chat import Message
from agent.errors import BackendError, ConfigurationError, FrameMismatch
from agent.geometry import IMAGE_FACTOR, QWEN_MAX_PIXELS, QWEN_MIN_PIXELS, ModelFrame
from agent.models.base import Completion, PixelBudget
from agent.models.http_client import HttpClient, HttpConnectionError, HttpTimeout
from agent.models.identity_cache import IdentityCache
from agent.models.resize import Resizer
from agent.screen.png import PngEncoder, encode_png

__all__ = ["OpenAIBackend", "encode_image"]

_RETRY_STATUSES = frozenset({408, 429})
_MAX_RETRY_AFTER_S = 60.0
_MAX_BACKOFF_S = 30.0
_NO_KEY = "EMPTY"  # local servers take any key


def encode_image(image: Image.Image, encoder: PngEncoder | None = None) -> str:
    """A PNG data URL of ``image`` (lossless, so the server gets exactly the frame's pixels);
    ``encoder`` reuses the bands of its last image that did not change."""
    data = encoder.encode(image) if encoder is not None else encode_png(image)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


class _Encoded:
    """Data URLs of the images sent lately, by identity: a history screenshot (or an unchanged
    screen, which the resizer returns as the same image) is not encoded again."""

    def __init__(self, size: int = 8) -> None:
        self._urls: IdentityCache[str] = IdentityCache(size)
        self._local = threading.local()

    def url(self, image: Image.Image) -> str:
        hit = self._urls.get(image)
        if hit is not None:
            return hit
        encoder = getattr(self._local, "encoder", None)
        if encoder is None:
            encoder = self._local.encoder = PngEncoder()
        url = encode_image(image, encoder)
        self._urls.put(image, None, url)
        return url


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    seconds: float | None = None
    if "retry-after-ms" in headers:
        try:
            seconds = float(headers["retry-after-ms"]) / 1000
        except ValueError:
            seconds = None
    elif "retry-after" in headers:
        value = headers["retry-after"]
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError, IndexError):
                seconds = None
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def _server_message(text: str) -> str:
    """The server's own error message from an error answer's body."""
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        body = inner.get("message", inner) if isinstance(inner, Mapping) else inner
    if body is None or body == "":
        body = "no message"
    return _one_line(body if isinstance(body, str) else json.dumps(body))


class OpenAIBackend(PixelBudget):
    """A model served through ``POST {base_url}/chat/completions``."""

    # The checkpoint family (config.model_type) is unknown: an HTTP server does not say.
    model_type: str | None = None

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        min_pixels: int = QWEN_MIN_PIXELS,
        max_pixels: int = QWEN_MAX_PIXELS,
        factor: int = IMAGE_FACTOR,
        timeout_s: float = 120,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        max_tokens: int = 256,
        temperature: float = 0.0,
        extra_body: dict[str, Any] | None = None,
        check_prompt_tokens: bool = True,
    ) -> None:
        if min_pixels > max_pixels:
            raise ConfigurationError(f"min_pixels {min_pixels} exceeds max_pixels {max_pixels}")
        if timeout_s <= 0 or max_retries < 0 or backoff_s < 0 or max_tokens <= 0:
            raise ConfigurationError(
                "timeout_s and max_tokens must be positive, max_retries and backoff_s >= 0"
            )
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.factor = factor
        self.timeout_s = float(timeout_s)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.extra_body = dict(extra_body or {})
        self.check_prompt_tokens = check_prompt_tokens
        self.sleep: Callable[[float], None] = time.sleep
        self.resizer = Resizer()
        self._encoded = _Encoded()
        self._redacts = bool(api_key)
        self._http = HttpClient(self.base_url, bearer=api_key or _NO_KEY, timeout_s=self.timeout_s)

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={self.base_url!r}, model={self.model!r})"


    def to_openai(
        self, messages: Sequence[Message]
    ) -> tuple[list[dict[str, Any]], list[ModelFrame]]:
        """The request's ``messages`` (images resized to their frames) and those frames."""
        frames: list[ModelFrame] = []
        wire: list[dict[str, Any]] = []
        for message in messages:
            if not message.images:  # plain strings suit every server's chat template
                wire.append({"role": message.role, "content": message.text})
                continue
            parts: list[dict[str, Any]] = []
            for part in message.content:
                if isinstance(part, str):
                    parts.append({"type": "text", "text": part})
                    continue
                frame = self.frame_for(part.width, part.height)
                image = self.resizer.resize(part, frame)
                frames.append(frame)
                parts.append({"type": "image_url", "image_url": {"url": self._encoded.url(image)}})
            wire.append({"role": message.role, "content": parts})
        return wire, frames

    def complete(self, messages: Sequence[Message], frame: ModelFrame) -> Completion:
        start = time.perf_counter()
        wire, frames = self.to_openai(messages)
        if frames and frames[-1] != frame:
            raise FrameMismatch(
                f"the last image is sent as {frames[-1].width}x{frames[-1].height} but the frame "
                f"is {frame.width}x{frame.height}: it was not made by this backend's frame_for"
            )
        prefilled = bool(messages) and messages[-1].role == "assistant"
        data = self._post(wire, len(frames), continue_final=prefilled)
        text, prompt_tokens, completion_tokens = self._read(data)
        visual = sum(f.visual_tokens for f in frames)
        if self.check_prompt_tokens and prompt_tokens and prompt_tokens < visual:
            raise FrameMismatch(
                f"{self.base_url} counted {prompt_tokens} prompt tokens for images of {visual} "
                "visual tokens: the server resized them again; set max_pixels to at most the "
                "server's bound (or --no-token-check / check_prompt_tokens=False if it does not "
                "count cached tokens)"
            )
        return Completion(
            text=text,
            frame=frame,
            latency_s=time.perf_counter() - start,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    def _post(
        self, wire: list[dict[str, Any]], images: int = 0, *, continue_final: bool = False
    ) -> dict[str, Any]:
        """One request with explicit retries; the parsed JSON body of the first 2xx answer.
        ``images``: how many the request holds, named in a 4xx error that may be about them.
        ``continue_final``: the last message is a prefilled assistant turn to continue (vLLM's
        and SGLang's ``continue_final_message``; the answer is the continuation only)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": wire,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            **self.extra_body,
        }
        if continue_final:
            body.update(continue_final_message=True, add_generation_prompt=False)
        attempts = self.max_retries + 1
        cause = "no attempt"
        for attempt in range(1, attempts + 1):
            wait = min(self.backoff_s * 2 ** (attempt - 1), _MAX_BACKOFF_S)
            wait += random.uniform(0, self.backoff_s / 10)
            try:
                response = self._http.post_json("/chat/completions", body)
            except HttpTimeout:
                cause = f"timed out after {self.timeout_s:g} s"
            except HttpConnectionError as exc:
                cause = f"connection failed: {_one_line(str(exc))}"
            else:
                status = response.status
                if 200 <= status < 300:
                    return self._decode(response.text)
                message = self._redact(_server_message(response.text))
                if status in (401, 403):
                    raise ConfigurationError(
                        f"{self.base_url} refused the API key (HTTP {status}): {message}"
                    )
                if status == 404:
                    raise ConfigurationError(
                        f"{self.base_url} has no model {self.model!r} (HTTP 404; the base URL "
                        f"usually ends in /v1): {message}"
                    )
                if status not in _RETRY_STATUSES and status < 500:
                    hint = ""
                    if images > 1 and "image" in message.lower():
                        hint = (
                            f" (this request holds {images} images, the current screenshot and "
                            "past ones: start vLLM with --limit-mm-per-prompt "
                            f"'{{\"image\": {images}}}' or more, or lower --history-images)"
                        )
                    raise BackendError(f"{self.base_url} answered HTTP {status}: {message}{hint}")
                cause = f"HTTP {status}: {message}"
                asked = _retry_after(response.headers)
                wait = wait if asked is None else asked
            if attempt < attempts:
                self.sleep(wait)
        raise BackendError(
            f"{self.base_url} failed {attempts} attempt{'s' * (attempts > 1)} for model "
            f"{self.model!r}; last: {cause}"
        )

    def _decode(self, body: str) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError:
            raise BackendError(
                f"{self.base_url} answered with a body that is not JSON: {_one_line(body, 80)!r}"
            ) from None
        if not isinstance(data, dict):
            raise BackendError(f"{self.base_url} answered JSON that is not an object")
        return data

    def _read(self, data: dict[str, Any]) -> tuple[str, int | None, int | None]:
        """The answer text and the token counts of a chat-completion body."""
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            error = data.get("error")
            detail = f": {_one_line(json.dumps(error))}" if error else ""
            raise BackendError(f"{self.base_url} answered without choices{detail}")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # a few servers answer in content parts
            texts = [p.get("text") for p in content if isinstance(p, dict)]
            content = "".join(t for t in texts if isinstance(t, str)) if texts else None
        if not isinstance(content, str):
            reason = choices[0].get("finish_reason")
            raise BackendError(
                f"{self.base_url} answered without text content (finish_reason {reason!r})"
            )
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        counts = [usage.get(key) for key in ("prompt_tokens", "completion_tokens")]
        prompt, completion = (c if isinstance(c, int) and c >= 0 else None for c in counts)
        return content, prompt, completion

    def _redact(self, text: str) -> str:
        return self._http.redact(text) if self._redacts else text

    def close(self) -> None:
        """Close the kept-alive connections (they close with the process anyway)."""
        self._http.close()
