"""One way to build a model backend from settings: the CLI's flags and the web UI's form both
come here. Heavy imports (torch, openai) happen only for the backend asked for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent.errors import ConfigurationError
from agent.models.base import Backend

__all__ = ["BackendSpec", "load_backend"]


@dataclass(frozen=True)
class BackendSpec:
    """What a backend is made of. ``model``: a Hub id or checkpoint directory (transformers), or
    the served model's name (openai). The API key is a value read at the edge, never recorded."""

    kind: Literal["transformers", "openai"]
    model: str
    min_pixels: int
    max_pixels: int
    factor: int
    base_url: str | None = None
    api_key: str | None = None
    device: str = "auto"
    max_new_tokens: int = 256
    timeout_s: float = 120.0
    max_retries: int = 3
    check_prompt_tokens: bool = True


def load_backend(spec: BackendSpec) -> Backend:
    """The backend of ``spec`` (a local model is loaded here); ConfigurationError if incomplete."""
    if spec.kind == "openai":
        from agent.models.openai_backend import OpenAIBackend

        if not spec.base_url or not spec.model:
            raise ConfigurationError("the openai backend needs --base-url and --api-model")
        return OpenAIBackend(
            spec.base_url,
            spec.model,
            api_key=spec.api_key,
            min_pixels=spec.min_pixels,
            max_pixels=spec.max_pixels,
            factor=spec.factor,
            timeout_s=spec.timeout_s,
            max_retries=spec.max_retries,
            max_tokens=spec.max_new_tokens,
            check_prompt_tokens=spec.check_prompt_tokens,
        )
    from agent.models.transformers_backend import TransformersBackend

    if not spec.model:
        raise ConfigurationError("--model is required (a Hub id or a checkpoint directory)")
    return TransformersBackend(
        spec.model,
        min_pixels=spec.min_pixels,
        max_pixels=spec.max_pixels,
        device=spec.device,
        max_new_tokens=spec.max_new_tokens,
        factor=spec.factor,
    )
