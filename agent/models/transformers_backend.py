"""Qwen-VL checkpoints (Qwen2.5-VL first; Qwen2-VL, UI-TARS, Qwen3-VL alike) through
transformers, on a GPU or the CPU.

The backend owns the frame: captures are resized with :func:`agent.geometry.smart_resize` under
the backend's ``min_pixels``/``max_pixels`` before the processor sees them, and the processor is
given bounds under which its own resize is the identity on those frames. After preprocessing, the
frame the model really saw (``image_grid_thw * patch_size``) is compared with the computed one; any
difference raises :class:`~agent.errors.FrameMismatch` instead of clicking in the wrong place.
Decoding is greedy unless ``sample=True``.

Nothing here makes transformers warn: the official checkpoints' ``generation_config.json`` sets
sampling flags (do_sample true, temperature 0.1, top_p 0.001, top_k 1); for greedy decoding they
are removed from the model's own generation config instead of being overridden per call (an
explicit ``generation_config=`` to ``generate()`` gets its unset flags filled back from the model's
in transformers 5.x, which warns "generation flags are not valid", and passing it together with
``max_new_tokens`` is deprecated). On 4.x the fast image processor is asked for by name (it is
loaded anyway, with a warning). Real warnings (a bad ``generation_kwargs`` combination) still
show. The "Loading weights" progress bar is shown only when stderr is a terminal.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

from agent.chat import Message
from agent.errors import BackendError, ConfigurationError, FrameMismatch
from agent.geometry import IMAGE_FACTOR, QWEN_MAX_PIXELS, QWEN_MIN_PIXELS, ModelFrame
from agent.models.base import Completion, PixelBudget
from agent.models.inputs import InputBuilder, UnfollowedProcessor
from agent.models.resize import Resizer

__all__ = ["TransformersBackend", "to_hf_conversation"]

# The flags transformers uses only when sampling (GenerationConfig.validate warns about each one
# set while do_sample is off). top_h exists only in 5.x; a flag a version lacks is skipped.
_SAMPLING_ONLY = (
    "temperature", "top_p", "top_k", "min_p", "top_h", "typical_p", "epsilon_cutoff", "eta_cutoff",
)  # fmt: skip


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or Path(model).expanduser().exists()


@contextmanager
def _progress_bars_for_terminals_only(library: Any) -> Iterator[None]:
    """Turn transformers' progress bars off for the block unless stderr is a terminal.

    A bar redrawn with carriage returns is progress on a terminal but noise in a log or a pipe.
    Uses transformers' public switch (which also switches huggingface_hub's download bars) and
    turns it back on afterwards; when the bars are already off nothing is touched.
    """
    import huggingface_hub.utils  # a dependency of transformers

    hub: Any = huggingface_hub.utils
    logs: Any = library.utils.logging
    isatty = getattr(sys.stderr, "isatty", None)
    terminal = callable(isatty) and bool(isatty())
    if terminal or not logs.is_progress_bar_enabled() or hub.are_progress_bars_disabled():
        yield  # shown on a terminal; already off otherwise (and then left exactly as it is)
        return
    logs.disable_progress_bar()
    try:
        yield
    finally:
        logs.enable_progress_bar()


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


class TransformersBackend(PixelBudget):
    """A Qwen-VL checkpoint (Hub id or local directory) run with transformers.

    ``factor``: the side multiple the caller's style expects (28 for Qwen2/2.5-VL, 32 for
    Qwen3-VL); the checkpoint's own (patch size x merge size) must match it.

    :attr:`model_type` (read-only) is the loaded checkpoint's ``config.model_type``, such as
    ``"qwen2_5_vl"``, ``"qwen2_vl"`` or ``"qwen3_vl"`` (UI-TARS-1.5 says ``"qwen2_5_vl"``), or
    ``None`` when its config names none: the family the checkpoint really is, to check against
    the family the chosen style expects.
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
        self.resizer = Resizer()
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
        # transformers 4.x warns at every load that the slow class the official checkpoints'
        # preprocessor_config.json names (Qwen2VLImageProcessor) "is now loaded as a fast
        # processor by default"; asking for the fast one it loads anyway says so. 5.x loads the
        # fast (torchvision) one by itself and deprecates use_fast.
        processor_kwargs: dict[str, Any] = {}
        if int(str(library.__version__).split(".")[0]) < 5:
            processor_kwargs["use_fast"] = True
        try:
            with _progress_bars_for_terminals_only(library):
                self.processor: Any = library.AutoProcessor.from_pretrained(
                    source, **processor_kwargs
                )
                self.net: Any = library.AutoModelForImageTextToText.from_pretrained(
                    source, dtype=torch_dtype
                ).to(device)
        except (OSError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ConfigurationError(f"cannot load model {self.model!r}: {first_line}") from exc
        self._inputs: InputBuilder | None = InputBuilder(self.processor)
        self.net.eval()
        self.device = device
        model_type = getattr(self.net.config, "model_type", None)
        self._model_type = model_type if isinstance(model_type, str) and model_type else None
        image_processor = self.processor.image_processor
        factor = int(image_processor.patch_size) * int(image_processor.merge_size)
        self._bound_processor(self.min_pixels, self.max_pixels)  # the pre-resize's bounds
        if factor != self.factor:
            raise ConfigurationError(
                f"{self.model} resizes images to multiples of {factor}, but the style expects "
                f"{self.factor}: choose the style of this model's family"
            )
        if not sample:
            # Greedy: drop the sampling flags from the model's own generation config, which
            # generate() falls back on (4.57 and 5.x alike), rather than passing a second config
            # whose unset (None) flags 5.x fills back in from this one and then warns about.
            # Each flag goes back to this version's own default (None in 5.x, 1.0/50/... in 4.57).
            config = copy.deepcopy(self.net.generation_config)
            defaults = library.GenerationConfig()
            config.do_sample = False
            for name in _SAMPLING_ONLY:
                if hasattr(defaults, name) and getattr(config, name) != getattr(defaults, name):
                    setattr(config, name, getattr(defaults, name))
            self.net.generation_config = config

    @property
    def model_type(self) -> str | None:
        """The checkpoint's ``config.model_type`` (e.g. ``"qwen2_5_vl"``); ``None`` if unnamed."""
        return self._model_type


    def complete(self, messages: Sequence[Message], frame: ModelFrame) -> Completion:
        return self.complete_batch([(messages, frame)])[0]

    def complete_batch(
        self, requests: Sequence[tuple[Sequence[Message], ModelFrame]]
    ) -> list[Completion]:
        """Several prompts in one ``generate()`` (left-padded), each with the frame of its last
        image, checked like :meth:`complete`'s. A prompt whose last message is the assistant's
        is continued (a prefilled answer); the completion is then the continuation only."""
        start = time.perf_counter()
        inputs = self.prepare(requests)
        try:
            with self._torch.inference_mode():
                output = self.net.generate(
                    **inputs, max_new_tokens=self.max_new_tokens, **self._generation_kwargs
                )
        except (RuntimeError, ValueError) as exc:
            raise BackendError(f"generation failed: {exc}") from exc
        prompt_len = int(inputs["input_ids"].shape[1])
        latency = time.perf_counter() - start
        completions = []
        for row, (_, frame) in enumerate(requests):
            new = self._until_end(output[row, prompt_len:].tolist())
            completions.append(
                Completion(
                    text=self.processor.decode(new, skip_special_tokens=True),
                    frame=frame,
                    latency_s=latency,
                    prompt_tokens=int(inputs["attention_mask"][row].sum()),
                    completion_tokens=len(new),
                )
            )
        return completions

    def prepare(self, requests: Sequence[tuple[Sequence[Message], ModelFrame]]) -> Any:
        """The processor's output for several prompts (left-padded, on the model's device), each
        prompt's last image checked against its frame: all the work before ``generate()``.
        Built by :class:`~agent.models.inputs.InputBuilder` (equal, with reuse) where it can."""
        texts: list[str] = []
        images: list[Image.Image] = []
        counts: list[int] = []
        for messages, _ in requests:
            prepared = self._images(messages)
            images += prepared
            counts.append(len(prepared))
            texts.append(self._template(messages))
        # The processor resizes again what it is given, and these images are in their frames
        # already: its bounds are the pre-resize's, stretched to hold every frame given. Qwen's
        # rule puts a frame outside them when they are close: 1920x1080 under 2,000,000 both
        # ways is 1876x1036 (shrunk by floor under the upper bound, so under the lower one),
        # which the processor grew to 1904x1064; under 4,000,000 both ways 2688x1512 (grown by
        # ceil over the upper one), which it shrank to 2660x1484.
        areas = [image.width * image.height for image in images]
        self._bound_processor(
            min([self.min_pixels, *areas]), max([self.max_pixels, *areas])
        )
        inputs = None
        if self._inputs is not None:
            try:
                inputs = self._inputs.build(texts, images)
            except UnfollowedProcessor:
                self._inputs = None  # this checkpoint's processor goes whole from now on
        if inputs is None:
            tokenizer = self.processor.tokenizer
            side = tokenizer.padding_side
            tokenizer.padding_side = "left"  # every prompt ends where generation starts
            try:
                inputs = self.processor(
                    text=texts, images=images or None, padding=True, return_tensors="pt"
                )
            finally:
                tokenizer.padding_side = side
        self._check_frames(inputs, counts, [frame for _, frame in requests])
        return inputs.to(self.device)

    def _images(self, messages: Sequence[Message]) -> list[Image.Image]:
        """The prompt's images, each resized to its frame (the backend's one resize)."""
        return [
            self.resizer.resize(image, self.frame_for(image.width, image.height))
            for message in messages
            for image in message.images
        ]

    def _bound_processor(self, low: int, high: int) -> None:
        """The processor's pixel bounds. transformers 5.x reads them from ``size`` (passing
        min/max_pixels to from_pretrained warns on every call since 5.18); 4.x also keeps them
        as attributes. The grid check in complete() proves they took effect."""
        image_processor = self.processor.image_processor
        image_processor.size = {"shortest_edge": low, "longest_edge": high}
        for name, value in (("min_pixels", low), ("max_pixels", high)):
            if name in vars(image_processor):
                setattr(image_processor, name, value)

    def _template(self, messages: Sequence[Message]) -> str:
        prefilled = bool(messages) and messages[-1].role == "assistant"
        text: str = self.processor.apply_chat_template(
            to_hf_conversation(messages),
            tokenize=False,
            add_generation_prompt=not prefilled,
            continue_final_message=prefilled,
        )
        return text

    def _check_frames(self, inputs: Any, counts: list[int], frames: list[ModelFrame]) -> None:
        """Each prompt's last image must have been seen in exactly its frame."""
        if "image_grid_thw" not in inputs:
            return
        grids = inputs["image_grid_thw"].tolist()
        patch = int(self.processor.image_processor.patch_size)
        seen_so_far = 0
        for count, frame in zip(counts, frames, strict=True):
            seen_so_far += count
            if not count:
                continue
            grid = grids[seen_so_far - 1]
            seen = (int(grid[1]) * patch, int(grid[2]) * patch)
            if seen != (frame.height, frame.width):
                raise FrameMismatch(
                    f"the model saw {seen[1]}x{seen[0]} but the frame is "
                    f"{frame.width}x{frame.height}: the processor's pixel bounds differ"
                )

    def _until_end(self, tokens: list[int]) -> list[int]:
        """Generated tokens up to the first end-of-sequence (included), without padding."""
        config = self.net.generation_config
        ends = config.eos_token_id
        ends = set(ends if isinstance(ends, list) else [ends] if ends is not None else [])
        pad = config.pad_token_id
        for i, token in enumerate(tokens):
            if token in ends:
                return tokens[: i + 1]
        while tokens and pad is not None and tokens[-1] == pad:
            tokens = tokens[:-1]
        return tokens
