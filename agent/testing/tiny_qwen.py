"""Tiny, randomly initialised Qwen2.5-VL and Qwen2-VL checkpoints in the official layout, built
offline.

Real weights cannot be downloaded where the tests run, yet the code under test must go through
the real transformers path: ``AutoProcessor.from_pretrained(d, min_pixels=..., max_pixels=...)``,
``Qwen2_5_VLForConditionalGeneration.from_pretrained(d)``, ``qwen_vl_utils.process_vision_info``,
``processor.apply_chat_template`` and ``model.generate``. :func:`build_tiny_qwen25vl` writes a
directory shaped like ``Qwen/Qwen2.5-VL-*-Instruct`` (flat ``config.json``, legacy weight names,
``preprocessor_config.json``, ``chat_template.json``, a byte-level BPE tokenizer with Qwen's 14
special tokens in ``tokenizer.json``/``vocab.json``/``merges.txt``/``tokenizer_config.json``)
whose model is about 0.5 MB and answers a 1080p screenshot in well under a second on a CPU.
:func:`build_tiny_qwen2vl` writes the same tokenizer, chat template and processor files in the
layout of ``Qwen/Qwen2-VL-*-Instruct`` (``model_type: qwen2_vl``, a Qwen2-VL ``vision_config``
with ``embed_dim``/``mlp_ratio``/``in_chans``, ``processor_class: Qwen2VLProcessor``), for the
styles of that family (Qwen2-VL, UI-TARS).
``dimensions=`` (a :class:`TinyDimensions`) changes the Qwen2.5-VL model's widths; vLLM's CPU
attention needs a text head size of 32, 64, 80, ...: :func:`build_tiny_qwen25vl_for_vllm` builds
the checkpoint of :data:`VLLM_DIMENSIONS` (text head size 64, about 5 MB).

The model is random, so on its own it babbles. To script it, ``answer=`` (or
:func:`script_answer` on an existing directory) writes a ``sequence_bias`` into
``generation_config.json``: every prefix of the answer's tokens, anchored on the tokens of
``<|im_start|>assistant\\n``, biases the next answer token, and ``<|im_end|>`` after the whole
answer. A plain greedy ``model.generate(**inputs, max_new_tokens=N)`` then returns exactly the
answer followed by ``<|im_end|>`` (an eos token), through the untouched generation loop.
The answer must be NFC-normalised (the tokenizer normalises to NFC, as Qwen's does) and free of
the special-token strings; the chat must end with the generation prompt (no prefilled reply).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CHAT_TEMPLATE", "SPECIAL_TOKENS", "VLLM_DIMENSIONS", "TinyDimensions", "answer_bias",
    "build_tiny_qwen2vl", "build_tiny_qwen25vl", "build_tiny_qwen25vl_for_vllm", "script_answer",
]  # fmt: skip

# Qwen2's special tokens, in the order that gives them consecutive ids after the BPE vocabulary
# (the official ids are 151643..151656: <|im_start|> 151644, <|image_pad|> 151655).
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)  # fmt: skip

# Qwen2's pre-tokenizer split (the same pattern as transformers' tokenization_qwen2).
_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Written from Qwen's chat format. Jinja runs with trim_blocks, so no newline follows a tag.
CHAT_TEMPLATE = (
    "{% set counts = namespace(images=0, videos=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' or 'image' in item or 'image_url' in item %}"
    "{% set counts.images = counts.images + 1 %}"
    "{% if add_vision_id %}Picture {{ counts.images }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'video' or 'video' in item %}"
    "{% set counts.videos = counts.videos + 1 %}"
    "{% if add_vision_id %}Video {{ counts.videos }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in item %}{{ item['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_ANCHOR = "<|im_start|>assistant\n"
_BIAS = 100.0  # far above the logits of a random 64-wide model
_BPE_VOCAB_SIZE = 1024
_BPE_OPTIONS: dict[str, Any] = {
    "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
    "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
}  # fmt: skip
_VISION_CONFIG_25: dict[str, Any] = {
    "depth": 2, "hidden_act": "silu", "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
    "in_channels": 3, "out_hidden_size": 64, "patch_size": 14, "spatial_merge_size": 2,
    "temporal_patch_size": 2, "window_size": 112, "fullatt_block_indexes": [1],
    "tokens_per_second": 2,
}  # fmt: skip
# Qwen2-VL's vision tower: blocks embed_dim wide, the merger projects to the text hidden size. The
# official checkpoints spell the channel count "in_chans" (transformers' field, in_channels,
# defaults to the same 3) and leave hidden_act at its default, quick_gelu.
_VISION_CONFIG_2: dict[str, Any] = {
    "depth": 2, "embed_dim": 32, "mlp_ratio": 4, "num_heads": 2, "in_chans": 3, "hidden_size": 64,
    "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
}  # fmt: skip
_IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
_IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]


@dataclass(frozen=True)
class _Family:
    """What differs between the checkpoints of two Qwen-VL generations."""

    model_type: str
    architecture: str  # also the transformers model class that initialises the weights
    config_class: str  # the transformers config class
    processor_class: str
    vision_config: dict[str, Any]
    model_max_length: int  # tokenizer_config.json, as the official checkpoints set it


_QWEN25VL = _Family(
    model_type="qwen2_5_vl",
    architecture="Qwen2_5_VLForConditionalGeneration",
    config_class="Qwen2_5_VLConfig",
    processor_class="Qwen2_5_VLProcessor",
    vision_config=_VISION_CONFIG_25,
    model_max_length=131072,
)
_QWEN2VL = _Family(
    model_type="qwen2_vl",
    architecture="Qwen2VLForConditionalGeneration",
    config_class="Qwen2VLConfig",
    processor_class="Qwen2VLProcessor",
    vision_config=_VISION_CONFIG_2,
    model_max_length=32768,
)


@dataclass(frozen=True)
class TinyDimensions:
    """The widths of a tiny Qwen2.5-VL. The defaults are :func:`build_tiny_qwen25vl`'s; the
    vision merger projects to the text width (``out_hidden_size = hidden_size``)."""

    hidden_size: int = 64
    intermediate_size: int = 64
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    mrope_section: tuple[int, int, int] = (2, 3, 3)  # sums to head size / 2
    vision_hidden_size: int = 32
    vision_intermediate_size: int = 64
    vision_num_heads: int = 2

    def __post_init__(self) -> None:
        head, rest = divmod(self.hidden_size, self.num_attention_heads)
        if rest or self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("hidden_size and num_key_value_heads must divide evenly into heads")
        if 2 * sum(self.mrope_section) != head:
            raise ValueError(f"mrope_section must sum to head size / 2 = {head // 2}")
        if self.vision_hidden_size % self.vision_num_heads:
            raise ValueError("vision_hidden_size must be a multiple of vision_num_heads")

    def apply(self, config: dict[str, Any]) -> None:
        """Write these widths into a flat Qwen2.5-VL ``config.json`` dictionary."""
        config.update(
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads,
            rope_scaling={"type": "mrope", "mrope_section": list(self.mrope_section)},
        )
        config["vision_config"].update(
            hidden_size=self.vision_hidden_size,
            intermediate_size=self.vision_intermediate_size,
            num_heads=self.vision_num_heads,
            out_hidden_size=self.hidden_size,
        )


# Served by vLLM's CPU build (FACTS section 6): text head size 64.
VLLM_DIMENSIONS = TinyDimensions(
    hidden_size=256,
    intermediate_size=256,
    mrope_section=(8, 12, 12),
    vision_hidden_size=64,
    vision_intermediate_size=128,
)

_ACTIONS = (
    "key", "type", "mouse_move", "left_click", "left_click_drag", "right_click", "middle_click",
    "double_click", "triple_click", "scroll", "hscroll", "wait", "terminate", "answer", "click",
    "long_press", "swipe", "system_button", "open",
)  # fmt: skip
_WORDS = (
    "You are a helpful assistant. # Tools You may call one or more functions to assist with the "
    "user query. You are provided with function signatures within <tools></tools> XML tags: For "
    "each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags. Use a mouse and keyboard to interact with a computer, and "
    "take screenshots. The screen's resolution is 1932x1092. The action to perform. The available "
    "actions are: Press keys in order, and release in reverse order. Type a string of text on the "
    "keyboard. Move the cursor to a specified (x, y) pixel coordinate on the screen. Click the "
    "left mouse button. The amount of scrolling to perform. Positive values scroll up, negative "
    "values scroll down. The seconds to wait. Terminate the current task and report its "
    "completion status. name arguments action coordinate coordinate2 keys text pixels time status "
    "success failure button Back Home Menu Enter required properties enum description object "
    "array string number integer ctrl alt shift cmd super enter return esc tab space backspace "
    "delete up down left right home end pageup pagedown Thought: Action: click(start_box='(x,y)') "
    "finished(content='') hotkey(key='ctrl c') bbox_2d point_2d label system user assistant "
    "The user query: Task progress (You have done the following operation on the current "
    "device): Step 1: Open the file, search the web, save the document and close the window."
)


def _corpus() -> list[str]:
    lines = [_WORDS, "0 1 2 3 4 5 6 7 8 9 10 100 1000", "{}[]\":, ,\n .;!?()<>/_-+*=#@&%$'`~|\\"]
    for i, action in enumerate(_ACTIONS):
        args = {"action": action, "coordinate": [17 * i + 3, 29 * i + 5], "keys": ["ctrl", "c"]}
        call = {"name": "computer_use", "arguments": args}
        lines.append(f"<tool_call>\n{json.dumps(call)}\n</tool_call>")
        lines.append(json.dumps([{"bbox_2d": [i, 2 * i, 3 * i, 4 * i], "label": action}]))
    return lines * 3


def _train_bpe() -> tuple[dict[str, int], list[str]]:
    """Train a byte-level BPE with Qwen2's split; return its vocab and merges ("a b" strings)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=_BPE_VOCAB_SIZE,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def _tokenizer_json(vocab: dict[str, int], merges: list[str]) -> dict[str, Any]:
    byte_level = {"add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    added = [
        {"id": len(vocab) + i, "content": token, "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": True}
        for i, token in enumerate(SPECIAL_TOKENS)
    ]  # fmt: skip
    split = {"type": "Split", "pattern": {"Regex": _SPLIT_REGEX}, "behavior": "Isolated"}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [{**split, "invert": False}, {"type": "ByteLevel", **byte_level}],
        },
        "post_processor": {"type": "ByteLevel", **byte_level},
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {**_BPE_OPTIONS, "vocab": vocab, "merges": merges},
    }


def _tokenizer_config(first_special: int, model_max_length: int) -> dict[str, Any]:
    decoder = {
        str(first_special + i): {"content": token, "lstrip": False, "normalized": False,
                                 "rstrip": False, "single_word": False, "special": True}
        for i, token in enumerate(SPECIAL_TOKENS)
    }  # fmt: skip
    return {
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": list(SPECIAL_TOKENS[1:]),
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": model_max_length,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def _model_config(family: _Family, first_special: int) -> dict[str, Any]:
    """A flat config.json, as the official checkpoints have (text keys at the top level)."""
    ids = {token: first_special + i for i, token in enumerate(SPECIAL_TOKENS)}
    return {
        "architectures": [family.architecture],
        "model_type": family.model_type,
        "attention_dropout": 0.0,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "vision_token_id": ids["<|vision_pad|>"],
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 64,
        "max_position_embeddings": 32768,
        "max_window_layers": 2,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
        "sliding_window": 32768,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": first_special + len(SPECIAL_TOKENS),
        "vision_config": dict(family.vision_config),
    }


def _legacy_name(name: str) -> str:
    """Map transformers' module names to the official checkpoints' (pre-4.52) tensor names."""
    for new, old in (("model.language_model.", "model."), ("model.visual.", "visual.")):
        if name.startswith(new):
            return old + name[len(new) :]
    return name


def _write_weights(directory: Path, family: _Family, config: dict[str, Any], seed: int) -> None:
    import torch
    import transformers
    from safetensors.torch import save_file

    config_class = getattr(transformers, family.config_class)
    model_class = getattr(transformers, family.architecture)
    torch.manual_seed(seed)
    model = model_class(config_class(**config))
    tensors = {
        _legacy_name(name): tensor.detach().to(torch.float32).contiguous().clone()
        for name, tensor in model.state_dict().items()
        if name != "lm_head.weight"  # tied to the embeddings, and absent, as in the 3B checkpoint
    }
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_text_files(directory: Path, family: _Family) -> int:
    """Write the tokenizer files and the chat template; return the first special token's id."""
    vocab, merges = _train_bpe()
    first_special = len(vocab)
    _write_json(directory / "tokenizer.json", _tokenizer_json(vocab, merges))
    _write_json(directory / "vocab.json", vocab)
    (directory / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{m}\n" for m in merges), encoding="utf-8"
    )
    _write_json(
        directory / "tokenizer_config.json",
        _tokenizer_config(first_special, family.model_max_length),
    )
    _write_json(directory / "chat_template.json", {"chat_template": CHAT_TEMPLATE})
    return first_special


def _write_preprocessor_config(
    directory: Path, family: _Family, min_pixels: int, max_pixels: int
) -> None:
    _write_json(
        directory / "preprocessor_config.json",
        {
            "min_pixels": min_pixels,
            "max_pixels": max_pixels,
            "patch_size": 14,
            "temporal_patch_size": 2,
            "merge_size": 2,
            "image_mean": _IMAGE_MEAN,
            "image_std": _IMAGE_STD,
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": family.processor_class,
        },
    )


def _build(
    family: _Family,
    directory: Path,
    *,
    answer: str | None,
    min_pixels: int,
    max_pixels: int,
    seed: int,
    dimensions: TinyDimensions | None = None,
) -> Path:
    from agent.models.torch_compat import prepare_torchvision

    prepare_torchvision()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    first_special = _write_text_files(directory, family)
    _write_preprocessor_config(directory, family, min_pixels, max_pixels)
    config = _model_config(family, first_special)
    if dimensions is not None:
        dimensions.apply(config)
    _write_json(directory / "config.json", config)
    _write_weights(directory, family, config, seed)
    script_answer(directory, answer)
    return directory


def build_tiny_qwen25vl(
    directory: Path,
    *,
    answer: str | None = None,
    min_pixels: int = 3136,
    max_pixels: int = 12845056,
    seed: int = 0,
    dimensions: TinyDimensions | None = None,
) -> Path:
    """Write a tiny random Qwen2.5-VL checkpoint into ``directory`` and return the directory.

    ``min_pixels``/``max_pixels`` go into ``preprocessor_config.json`` (the official checkpoints
    set 3136 and 12845056). ``answer`` scripts what greedy ``generate()`` answers (see
    :func:`script_answer`); ``seed`` fixes the random weights; ``dimensions`` the model's widths
    (None: :class:`TinyDimensions`' defaults).
    """
    return _build(
        _QWEN25VL,
        directory,
        answer=answer,
        min_pixels=min_pixels,
        max_pixels=max_pixels,
        seed=seed,
        dimensions=dimensions,
    )


def build_tiny_qwen25vl_for_vllm(
    directory: Path,
    *,
    answer: str | None = None,
    min_pixels: int = 3136,
    max_pixels: int = 12845056,
    seed: int = 0,
) -> Path:
    """:func:`build_tiny_qwen25vl` with :data:`VLLM_DIMENSIONS`, which vLLM's CPU build serves.

    vLLM ignores ``sequence_bias``: serve it with the logits processor that applies it
    (:class:`agent.testing.vllm_server.VLLMServer` does) to get the scripted ``answer``.
    """
    return build_tiny_qwen25vl(
        directory,
        answer=answer,
        min_pixels=min_pixels,
        max_pixels=max_pixels,
        seed=seed,
        dimensions=VLLM_DIMENSIONS,
    )


def build_tiny_qwen2vl(
    directory: Path,
    *,
    answer: str | None = None,
    min_pixels: int = 3136,
    max_pixels: int = 12845056,
    seed: int = 0,
) -> Path:
    """Write a tiny random Qwen2-VL checkpoint (``model_type`` ``qwen2_vl``, the family of the
    ``qwen2vl`` and ``uitars`` styles) into ``directory`` and return the directory.

    The tokenizer, chat template, ``generation_config.json`` and scripting are those of
    :func:`build_tiny_qwen25vl`; the parameters mean the same.
    """
    return _build(
        _QWEN2VL, directory, answer=answer, min_pixels=min_pixels, max_pixels=max_pixels, seed=seed
    )


def answer_bias(directory: Path, answer: str) -> list[list[Any]]:
    """The ``sequence_bias`` that makes greedy decoding of the checkpoint in ``directory``
    return ``answer`` followed by ``<|im_end|>``."""
    from tokenizers import Tokenizer

    if unicodedata.normalize("NFC", answer) != answer:
        raise ValueError("answer must be NFC-normalised: the tokenizer would change it")
    if any(token in answer for token in SPECIAL_TOKENS):
        raise ValueError("answer must not contain special-token strings such as <|im_end|>")
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    anchor = tokenizer.encode(_ANCHOR, add_special_tokens=False).ids
    answer_ids = tokenizer.encode(answer, add_special_tokens=False).ids
    im_end = tokenizer.token_to_id("<|im_end|>")
    targets = [*answer_ids, im_end]
    return [[[*anchor, *targets[:i], token], _BIAS] for i, token in enumerate(targets)]


def script_answer(directory: Path, answer: str | None) -> None:
    """(Re)write only ``generation_config.json`` so that greedy decoding returns ``answer``.

    ``None`` removes the script: the random model then answers whatever its weights say.
    """
    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    first_special = int(config["vocab_size"]) - len(SPECIAL_TOKENS)
    end_of_text = first_special + SPECIAL_TOKENS.index("<|endoftext|>")
    im_end = first_special + SPECIAL_TOKENS.index("<|im_end|>")
    generation: dict[str, Any] = {
        "bos_token_id": end_of_text,
        "pad_token_id": end_of_text,
        "eos_token_id": [im_end, end_of_text],
        "do_sample": False,
    }
    if answer is not None:
        generation["sequence_bias"] = answer_bias(directory, answer)
    _write_json(directory / "generation_config.json", generation)
