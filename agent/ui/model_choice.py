"""The web UI's models: what the user picked, and each model loaded once.

A :class:`ModelChoice` is the form's model settings (backend, model id or checkpoint, server,
style, pixel bounds). :class:`ModelCache` turns one into a :class:`~agent.grounding.base.Grounder`
(the OCR grounder, or a backend with its style) and keeps it: the same backend, model, bounds and
device are loaded once per server and reused by every later request, whichever tab asks. Only
one local (transformers) model is kept at a time, so switching models does not pile weights up
in GPU memory. The API key of an OpenAI-compatible server is read from the environment variable
the form names, here at the edge, and never shown or recorded.

:func:`model_controls` are the form's model settings as Gradio components (the Ground and Run
tabs each have them; the ``gr`` module is passed in, as by every tab), and
:func:`choice_from_controls` reads their values into a :class:`ModelChoice`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agent.errors import ConfigurationError
from agent.grounding.base import Grounder
from agent.grounding.vlm import VLMGrounder
from agent.models.base import Backend
from agent.styles.base import Style
from agent.styles.registry import STYLE_NAMES, make_style

__all__ = [
    "BACKENDS",
    "BackendName",
    "ModelCache",
    "ModelChoice",
    "choice_from_controls",
    "model_controls",
]

BackendName = Literal["ocr", "transformers", "openai"]
BACKENDS: tuple[BackendName, ...] = ("ocr", "transformers", "openai")


@dataclass(frozen=True)
class ModelChoice:
    """The model settings of a form. Empty strings and None mean "not given"."""

    backend: str = "ocr"
    model: str = ""
    """Hub id or checkpoint directory (transformers); the served model's name (openai)"""
    base_url: str = ""
    style: str = "qwen25vl"
    min_pixels: int | None = None
    """None: the style's family default"""
    max_pixels: int | None = None
    device: str = "auto"
    api_key_env: str = "OPENAI_API_KEY"
    max_new_tokens: int = 256

    @property
    def is_ocr(self) -> bool:
        return self.backend == "ocr"

    def check(self) -> None:
        """Raise ConfigurationError (one line, what to fill in) when the choice is incomplete."""
        if self.backend not in BACKENDS:
            raise ConfigurationError(
                f"unknown backend {self.backend!r}; choose one of: {', '.join(BACKENDS)}"
            )
        if self.backend == "transformers" and not self.model.strip():
            raise ConfigurationError(
                "the transformers backend needs a model: a Hub id or a checkpoint directory"
            )
        if self.backend == "openai" and not (self.base_url.strip() and self.model.strip()):
            raise ConfigurationError(
                "the openai backend needs the server's base URL and the model name it serves"
            )
        for name, value in (("min_pixels", self.min_pixels), ("max_pixels", self.max_pixels)):
            if value is not None and value <= 0:
                raise ConfigurationError(f"{name} must be a positive number, got {value}")

    def describe(self) -> str:
        if self.is_ocr:
            return "the offline OCR grounder"
        where = f" at {self.base_url}" if self.backend == "openai" else ""
        return f"{self.model}{where} ({self.backend}, style {self.style})"


@dataclass(frozen=True)
class _BackendKey:
    backend: str
    model: str
    base_url: str
    min_pixels: int
    max_pixels: int
    factor: int
    device: str
    max_new_tokens: int


class ModelCache:
    """Grounders by model choice, each model loaded once. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ocr: Grounder | None = None
        self._backends: dict[_BackendKey, Backend] = {}

    def style(self, choice: ModelChoice) -> Style:
        return make_style(choice.style)

    def backend(self, choice: ModelChoice) -> Backend:
        """The choice's model backend (not OCR), loaded on first use."""
        choice.check()
        if choice.is_ocr:
            raise ConfigurationError("the OCR grounder is not a model backend")
        style = self.style(choice)
        key = _BackendKey(
            choice.backend,
            choice.model.strip(),
            choice.base_url.strip(),
            choice.min_pixels or style.min_pixels,
            choice.max_pixels or style.max_pixels,
            style.factor,
            choice.device.strip() or "auto",
            choice.max_new_tokens,
        )
        with self._lock:
            backend = self._backends.get(key)
            if backend is None:
                if key.backend == "transformers":  # one local model in memory at a time
                    for old in [k for k in self._backends if k.backend == "transformers"]:
                        del self._backends[old]
                backend = _load(key, choice.api_key_env)
                self._backends[key] = backend
            return backend

    def grounder(self, choice: ModelChoice) -> Grounder:
        """The grounder of the choice: the OCR grounder, or the backend with its style."""
        choice.check()
        if choice.is_ocr:
            with self._lock:
                if self._ocr is None:
                    from agent.grounding.ocr import OCRGrounder

                    self._ocr = OCRGrounder()
                return self._ocr
        return VLMGrounder(self.backend(choice), self.style(choice))

    def loaded(self) -> list[str]:
        """The models loaded so far, in words."""
        with self._lock:
            names = ["rapidocr"] if self._ocr is not None else []
            return names + [f"{k.model} ({k.backend})" for k in self._backends]


def _load(key: _BackendKey, api_key_env: str) -> Backend:
    from agent.models.factory import BackendSpec, load_backend

    return load_backend(
        BackendSpec(
            kind="openai" if key.backend == "openai" else "transformers",
            model=key.model,
            min_pixels=key.min_pixels,
            max_pixels=key.max_pixels,
            factor=key.factor,
            base_url=key.base_url or None,
            api_key=os.environ.get(api_key_env.strip() or "OPENAI_API_KEY")
            if key.backend == "openai"
            else None,
            device=key.device,
            max_new_tokens=key.max_new_tokens,
        )
    )


def model_controls(gr: Any, prefix: str) -> list[Any]:
    """The model settings: backend, model, base URL, style, and more behind an accordion."""
    backend = gr.Radio(list(BACKENDS), value="ocr", label="backend", elem_id=f"{prefix}-backend")
    model = gr.Textbox(
        label="model: a Hub id or a checkpoint directory (openai: the model the server serves)",
        placeholder="Qwen/Qwen2.5-VL-3B-Instruct",
        visible=False,
        elem_id=f"{prefix}-model",
    )
    base_url = gr.Textbox(
        label="base URL of the OpenAI-compatible server",
        placeholder="http://127.0.0.1:8000/v1",
        visible=False,
        elem_id=f"{prefix}-base-url",
    )
    style = gr.Dropdown(
        list(STYLE_NAMES), value="qwen25vl", label="style", visible=False, elem_id=f"{prefix}-style"
    )
    with gr.Accordion("model options", open=False, visible=False) as more:
        min_pixels = gr.Number(label="min_pixels (empty: the style's)", precision=0)
        max_pixels = gr.Number(label="max_pixels (empty: the style's)", precision=0)
        device = gr.Textbox(value="auto", label="device (transformers): auto, cuda, cuda:1, cpu")
        key_env = gr.Textbox(value="OPENAI_API_KEY", label="environment variable with the API key")

    def shown(name: str) -> list[Any]:
        model_needed = name != "ocr"
        return [
            gr.update(visible=model_needed),
            gr.update(visible=name == "openai"),
            gr.update(visible=model_needed),
            gr.update(visible=model_needed),
        ]

    backend.change(shown, inputs=backend, outputs=[model, base_url, style, more])
    return [backend, model, base_url, style, min_pixels, max_pixels, device, key_env]


def choice_from_controls(values: Sequence[Any]) -> ModelChoice:
    """The :class:`ModelChoice` of the values of :func:`model_controls`, in their order."""
    backend, model, base_url, style, min_pixels, max_pixels, device, key_env = values

    def pixels(value: Any) -> int | None:
        return int(value) if value not in (None, "") else None

    return ModelChoice(
        backend=str(backend or "ocr"),
        model=str(model or ""),
        base_url=str(base_url or ""),
        style=str(style or "qwen25vl"),
        min_pixels=pixels(min_pixels),
        max_pixels=pixels(max_pixels),
        device=str(device or "auto"),
        api_key_env=str(key_env or "OPENAI_API_KEY"),
    )
