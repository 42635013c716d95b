"""A vLLM logits processor that applies the checkpoint's ``sequence_bias``, as transformers does.

vLLM ignores ``sequence_bias`` in ``generation_config.json``; the tiny test checkpoints
(:mod:`agent.testing.tiny_qwen`) are scripted through it. Loaded in the vLLM server with
``--logits-processors gui_agent_sequence_bias:SequenceBias`` (this folder on PYTHONPATH), it
reads ``generation_config.json`` of the served model directory and, for every request and every
decoding step, adds each bias whose sequence's prefix ends the request's prompt + generated
tokens to the logit of the sequence's last token (a one-token sequence: always): the rule of
transformers' ``SequenceBiasLogitsProcessor``. The scripted answer therefore comes back exactly
as through ``model.generate()``. A checkpoint without ``sequence_bias`` is left alone.

The file is read again when it changes (checked when requests join the batch), so
``script_answer(directory, ...)`` re-scripts a running server for the next request.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor
from vllm.v1.sample.logits_processor.builtin import process_dict_updates

__all__ = ["SequenceBias", "load_rules"]

# prefix of token ids -> [(next token, bias)]
Rules = dict[tuple[int, ...], list[tuple[int, float]]]


def load_rules(path: Path) -> Rules | None:
    """The ``sequence_bias`` of a ``generation_config.json``, keyed by prefix; ``{}`` when it has
    none or the file is absent, None when it cannot be read now (being written)."""
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return None
    rules: Rules = defaultdict(list)
    for sequence, bias in config.get("sequence_bias") or []:  # [[token ids], bias] pairs
        ids = tuple(int(token) for token in sequence)
        if ids:
            rules[ids[:-1]].append((ids[-1], float(bias)))
    return dict(rules)


class SequenceBias(LogitsProcessor):  # type: ignore[misc]  # vllm: only in its own env
    """``sequence_bias`` from the served checkpoint, applied to prompt + generated tokens."""

    def __init__(self, vllm_config: Any, device: torch.device, is_pin_memory: bool) -> None:
        self.path = Path(str(vllm_config.model_config.model)) / "generation_config.json"
        self.stamp: tuple[int, int] | None = None
        self.rules: Rules = {}
        self.lengths: list[int] = []
        self.longest = 0
        # batch row -> (prompt token ids, the request's live list of generated token ids)
        self.requests: dict[int, tuple[list[int], list[int]]] = {}
        self._reload()

    def _reload(self) -> None:
        try:
            info = os.stat(self.path)
            stamp: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None
        if stamp == self.stamp and stamp is not None:
            return
        rules = load_rules(self.path)
        if rules is None:  # half written: keep the old rules, read it again next time
            return
        self.stamp, self.rules = stamp, rules
        self.lengths = sorted({len(prefix) for prefix in rules})
        self.longest = max(self.lengths, default=0)

    def is_argmax_invariant(self) -> bool:
        return False  # it changes greedy answers (and may be re-scripted at any time)

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is not None and batch_update.added:
            self._reload()

        def new_state(
            params: Any, prompt: list[int] | None, output: list[int]
        ) -> tuple[list[int], list[int]]:
            return (list(prompt or ()), output)

        process_dict_updates(self.requests, batch_update, new_state)

    def _tail(self, prompt: list[int], output: list[int]) -> list[int]:
        """The last ``longest`` tokens of prompt + output."""
        if len(output) >= self.longest:
            return output[len(output) - self.longest :]
        missing = self.longest - len(output)
        return prompt[max(len(prompt) - missing, 0) :] + output

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.rules:
            return logits
        rows, vocabulary = logits.shape
        for row, (prompt, output) in self.requests.items():
            if row >= rows:
                continue
            tail = self._tail(prompt, output)
            for length in self.lengths:
                if length > len(tail):
                    break
                for token, bias in self.rules.get(tuple(tail[len(tail) - length :]), ()):
                    if token < vocabulary:
                        logits[row, token] += bias
        return logits
