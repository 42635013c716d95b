"""Qwen-VL checkpoints (Qwen2.5-VL first; Qwen2-VL, UI-TARS, Qwen3-VL alike) through
transformers, on a GPU or the CPU.

The backend owns the frame: captures are resized with :func:`agent.geometry.smart_resize` under
the backend's ``min_pixels``/``max_pixels`` before the processor sees them, and the processor is
loaded with the same bounds, so its own resize is the identity. After preprocessing, the frame
the model really saw (``image_grid_thw * patch_size``) is compared with the computed one; any
difference raises :class:`~agent.errors.FrameMismatch` instead of clicking in the wrong place.
Decoding is greedy unless ``sample=True``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from agent.chat import Message
from agent.errors import BackendError, ConfigurationError, FrameMismatch
from agent.geometry import IMAGE_FACTOR, QWEN_MAX_PIXELS, QWEN_MIN_PIXELS, ModelFrame
from agent.models.base import Completion

__all__ = ["TransformersBackend", "to_hf_conversation"]


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or Path(model).expanduser().exists()


def to_hf_conversation(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages in the chat-template format of Qwen processors (images as placeholders)."""
    return [
        {
            "role": m.role,
            "content": [
                {"type": "text", "text": part} if isinstance(part, str) else {"type": "image"}
                for part in m.content
            ],
        }
        for m in messages
    ]


class TransformersBackend:
    """A Qwen-VL checkpoint (Hub id or local directory) run with transformers.

    ``factor``: the side multiple the caller's style expects (28 for Qwen2/2.5-VL, 32 for
    Qwen3-VL); the checkpoint's own (patch size x merge size) must match it.
    """

    def __init__(
        self,
        model: str,
        *,
        min_pixels: int = QWEN_MIN_PIXELS,
        max_pixels: int = QWEN_MAX_PIXELS,
        device: str = "auto",
        dtype: str = "auto",
        max_new_tokens: int = 256,
        sample: bool = False,
        generation_kwargs: dict[str, Any] | None = None,
        factor: int = IMAGE_FACTOR,
    ) -> None:
        if min_pixels > max_pixels:
            raise ConfigurationError(f"min_pixels {min_pixels} exceeds max_pixels {max_pixels}")
        if _looks_like_path(model) and not Path(model).expanduser().is_dir():
            raise ConfigurationError(f"model directory not found: {model}")
        self.model = model
        self.factor = factor  # checked against the checkpoint's processor after loading
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.max_new_tokens = max_new_tokens
        self._generation_kwargs = dict(generation_kwargs or {})
        self._load(device, dtype, sample)

    def _load(self, device: str, dtype: str, sample: bool) -> None:
        from agent.models.torch_compat import prepare_torchvision

        prepare_torchvision()
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise ConfigurationError(
                f"the local backend needs the 'local' extra (pip install 'gui-agent[local]'): {exc}"
            ) from exc
        self._torch = torch
        library: Any = transformers
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        torch_dtype: Any = dtype
        if dtype == "auto":
            torch_dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        source = str(Path(self.model).expanduser()) if _looks_like_path(self.model) else self.model
        try:
            self.processor: Any = library.AutoProcessor.from_pretrained(source)
            self.net: Any = library.AutoModelForImageTextToText.from_pretrained(
                source, dtype=torch_dtype
            ).to(device)
        except (OSError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ConfigurationError(f"cannot load model {self.model!r}: {first_line}") from exc
        self.net.eval()
        self.device = device
        image_processor = self.processor.image_processor
        # The same bounds as the pre-resize. transformers 5.x reads them from ``size`` (passing
        # min/max_pixels to from_pretrained warns on every call since 5.18); 4.x also keeps them
        # as attributes. The grid check in complete() proves they took effect.
        image_processor.size = {"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels}
        for name, value in (("min_pixels", self.min_pixels), ("max_pixels", self.max_pixels)):
            if name in vars(image_processor):
                setattr(image_processor, name, value)
        factor = int(image_processor.patch_size) * int(image_processor.merge_size)
        if factor != self.factor:
            raise ConfigurationError(
                f"{self.model} resizes images to multiples of {factor}, but the style expects "
                f"{self.factor}: choose the style of this model's family"
            )
        config = copy.deepcopy(self.net.generation_config)
        if not sample:
            config.do_sample = False
            config.temperature = None
            config.top_p = None
            config.top_k = None
        self._generation_config = config

    def frame_for(self, width: int, height: int) -> ModelFrame:
        return ModelFrame.for_image(
            width,
            height,
            min_pixels=self.min_pixels,
            max_pixels=self.max_pixels,
            factor=self.factor,
        )

    def complete(self, messages: Sequence[Message], frame: ModelFrame) -> Completion:
        start = time.perf_counter()
        images = []
        for message in messages:
            for image in message.images:
                target = self.frame_for(image.width, image.height)
                resized = image.convert("RGB")
                if resized.size != (target.width, target.height):
                    resized = resized.resize(
                        (target.width, target.height), Image.Resampling.BICUBIC
                    )
                images.append(resized)
        text = self.processor.apply_chat_template(
            to_hf_conversation(messages), tokenize=False, add_generation_prompt=True
        )
        inputs = self.processor(text=[text], images=images or None, return_tensors="pt")
        if images:
            grid = inputs["image_grid_thw"][-1].tolist()
            patch = int(self.processor.image_processor.patch_size)
            seen = (int(grid[1]) * patch, int(grid[2]) * patch)
            if seen != (frame.height, frame.width):
                raise FrameMismatch(
                    f"the model saw {seen[1]}x{seen[0]} but the frame is "
                    f"{frame.width}x{frame.height}: the processor's pixel bounds differ"
                )
        inputs = inputs.to(self.device)
        try:
            with self._torch.inference_mode():
                output = self.net.generate(
                    **inputs,
                    generation_config=self._generation_config,
                    max_new_tokens=self.max_new_tokens,
                    **self._generation_kwargs,
                )
        except (RuntimeError, ValueError) as exc:
            raise BackendError(f"generation failed: {exc}") from exc
        prompt_len = int(inputs["input_ids"].shape[1])
        new_tokens = output[0, prompt_len:]
        answer = self.processor.decode(new_tokens, skip_special_tokens=True)
        return Completion(
            text=answer,
            frame=frame,
            latency_s=time.perf_counter() - start,
            prompt_tokens=prompt_len,
            completion_tokens=int(new_tokens.shape[0]),
        )
