"""The model inputs of Qwen-VL prompts, built with reuse: exactly what the checkpoint's processor
gives (``processor(text=texts, images=images, padding=True, return_tensors="pt")``, left
padding), for a fraction of its cost on the second and later steps of a run.

* **Images**: an image's ``pixel_values`` are computed once (a history screenshot shown again is
  not processed again). The image processor works patch by patch (rescale and normalise every
  pixel, then cut the image into 14-pixel patches, grouped by 2x2 merge blocks), so a screenshot
  that changed inside a box (noted by the resizer, :mod:`agent.screen.changes`) needs only the merge
  blocks the box touches: that crop goes through the same image processor and its rows replace
  those blocks' rows in the last screenshot's ``pixel_values``.
* **Text**: a tokenizer splits its added tokens (``<|im_start|>``, ``<|image_pad|>``, ...) out
  before anything else and tokenizes the text between them piece by piece; the pieces are
  tokenized once (the system prompt is the same every step) and every image's placeholder
  becomes its ``grid_t * grid_h * grid_w / merge_size**2`` image tokens, as the processor
  expands it.

Where a checkpoint's tokenizer does something else (added tokens that strip spaces or are
normalised, special tokens added around a text), the text goes through the tokenizer whole. The
first build is checked against the processor itself, tensor by tensor: any difference (another
transformers version, another processor) raises :class:`UnfollowedProcessor` and the caller uses
the processor from then on. The tests compare every tensor with the processor's.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from PIL import Image

from agent.models.identity_cache import IdentityCache
from agent.screen.changes import changed_since

__all__ = ["InputBuilder", "UnfollowedProcessor"]

_PIECES_CACHED = 256


class UnfollowedProcessor(Exception):
    """The checkpoint's processor does something this builder does not follow: use it whole."""


class InputBuilder:
    """Builds the processor's output for prompts whose images are already in their frames.
    Thread-safe (each thread keeps its own last screenshot); the ``pixel_values`` of the last
    ``cached`` images are kept by identity (a 1080p screenshot's are 23 MB at max_pixels
    1003520). ``partial`` counts the images redone only where they changed."""

    def __init__(self, processor: Any, cached: int = 5) -> None:
        self.processor = processor
        self.image_processor: Any = processor.image_processor
        self.tokenizer: Any = processor.tokenizer
        self.patch = int(self.image_processor.patch_size)
        self.merge = int(self.image_processor.merge_size)
        self.image_token = str(getattr(processor, "image_token", "<|image_pad|>"))
        self._lock = threading.Lock()
        self._seen: IdentityCache[tuple[Any, tuple[int, int, int]]] = IdentityCache(cached)
        self._local = threading.local()
        self._pieces: OrderedDict[str, list[int]] = OrderedDict()
        self._added, self._split = self._added_tokens()
        self._checked = False
        self._token_types = False  # the processor adds mm_token_type_ids
        self.partial = 0

    # -- text ---------------------------------------------------------------------------------

    def _added_tokens(self) -> tuple[dict[str, int], re.Pattern[str] | None]:
        """The added tokens by content and a pattern that splits them out; no pattern when the
        tokenizer cannot be followed piece by piece."""
        tokenizer = self.tokenizer
        decoder = getattr(tokenizer, "added_tokens_decoder", None)
        if not isinstance(decoder, dict) or not decoder:
            return {}, None
        added: dict[str, int] = {}
        for token_id, token in decoder.items():
            flags = ("lstrip", "rstrip", "single_word", "normalized")
            if any(getattr(token, name, True) for name in flags):
                return {}, None  # a token matched with stripping or after normalisation
            added[str(token.content)] = int(token_id)
        if tokenizer("", add_special_tokens=True)["input_ids"]:
            return {}, None  # BOS/EOS around every text: not a concatenation of pieces
        ordered = sorted(added, key=len, reverse=True)  # the longest match first
        return added, re.compile("(" + "|".join(map(re.escape, ordered)) + ")")

    def _text_ids(self, text: str, image_tokens: Sequence[int]) -> list[int]:
        """The token ids of ``text``, each image placeholder expanded to its tokens."""
        counts = iter(image_tokens)
        split = self._split
        if split is None:
            expanded = _expand(text, self.image_token, counts)
            return list(self.tokenizer(expanded, add_special_tokens=True)["input_ids"])
        ids: list[int] = []
        for piece in split.split(text):
            if not piece:
                continue
            token_id = self._added.get(piece)
            if token_id is None:
                ids += self._piece(piece)
            elif piece == self.image_token:
                ids += [token_id] * next(counts)
            else:
                ids.append(token_id)
        return ids

    def _piece(self, piece: str) -> list[int]:
        with self._lock:
            hit = self._pieces.get(piece)
            if hit is not None:
                self._pieces.move_to_end(piece)
                return hit
        ids = list(self.tokenizer(piece, add_special_tokens=False)["input_ids"])
        with self._lock:
            self._pieces[piece] = ids
            while len(self._pieces) > _PIECES_CACHED:
                self._pieces.popitem(last=False)
        return ids

    # -- images -------------------------------------------------------------------------------

    def _process(self, image: Image.Image, crop: bool) -> tuple[Any, tuple[int, int, int]]:
        """``image`` through the image processor: a whole image under the processor's own pixel
        bounds (as the processor does it), a crop (sides multiples of the merge block) under
        bounds that keep its size."""
        size = None
        if crop:
            block = self.patch * self.merge
            size = {"shortest_edge": block * block, "longest_edge": image.width * image.height}
        options = {"size": size} if size is not None else {}
        out = self.image_processor(images=[image], return_tensors="pt", **options)
        t, h, w = (int(v) for v in out["image_grid_thw"][0])
        if crop and not self._kept(image, (t, h, w)):
            raise UnfollowedProcessor(
                f"the image processor resized a {image.width}x{image.height} crop to "
                f"{w * self.patch}x{h * self.patch} despite its bounds"
            )
        return out["pixel_values"], (t, h, w)

    def _pixels(self, image: Image.Image) -> tuple[Any, tuple[int, int, int]]:
        """``pixel_values`` and ``(t, h, w)`` of one image already in its frame."""
        hit = self._seen.get(image)
        if hit is not None:
            return hit
        last = getattr(self._local, "last", None)
        result = None
        if last is not None and last[0].size == image.size and self._kept(image, last[2]):
            known, box = changed_since(image, last[0])
            if known:
                result = self._update(image, last[1], last[2], box)
        if result is None:
            result = self._process(image, crop=False)
        self._local.last = (image, *result)
        self._seen.put(image, None, result)
        return result

    def _kept(self, image: Image.Image, grid: tuple[int, int, int]) -> bool:
        """Whether the processor kept ``image``'s size (its grid covers exactly its pixels)."""
        return (grid[1] * self.patch, grid[2] * self.patch) == (image.height, image.width)

    def _update(
        self,
        image: Image.Image,
        pixels: Any,
        grid: tuple[int, int, int],
        box: tuple[int, int, int, int] | None,
    ) -> tuple[Any, tuple[int, int, int]]:
        """The last screenshot's ``pixel_values`` with the merge blocks ``box`` touches redone."""
        if box is None:
            return pixels, grid
        block = self.patch * self.merge
        left, top = box[0] // block, box[1] // block
        right, bottom = -(-box[2] // block), -(-box[3] // block)
        crop = image.crop((left * block, top * block, right * block, bottom * block))
        redone, _ = self._process(crop, crop=True)
        merged = self.merge * self.merge
        across = grid[2] // self.merge  # merge blocks in a row of the image
        width = right - left
        updated = pixels.clone()
        for row in range(bottom - top):
            start = ((top + row) * across + left) * merged
            updated[start : start + width * merged] = redone[
                row * width * merged : (row + 1) * width * merged
            ]
        self.partial += 1
        return updated, grid

    # -- together -----------------------------------------------------------------------------

    def build(self, texts: Sequence[str], images: Sequence[Image.Image]) -> Any:
        """The processor's output (a ``BatchFeature`` of tensors) for ``texts`` whose
        placeholders take ``images`` in order; prompts left-padded to the longest."""
        import torch
        from transformers import BatchFeature

        processed = [self._pixels(image) for image in images]
        tokens = [t * h * w // (self.merge * self.merge) for _, (t, h, w) in processed]
        rows: list[list[int]] = []
        used = 0
        for text in texts:
            count = text.count(self.image_token)
            rows.append(self._text_ids(text, tokens[used : used + count]))
            used += count
        if used != len(images):
            raise ValueError(f"{used} image placeholders in the prompts for {len(images)} images")
        longest = max(map(len, rows))
        pad = self.tokenizer.pad_token_id
        if pad is None and any(len(r) < longest for r in rows):
            raise UnfollowedProcessor("prompts of different lengths and no padding token")
        input_ids = torch.tensor([[pad] * (longest - len(r)) + r for r in rows], dtype=torch.long)
        mask = torch.tensor(
            [[0] * (longest - len(r)) + [1] * len(r) for r in rows], dtype=torch.long
        )
        data: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask}
        if processed:
            pixels = [p for p, _ in processed]  # one image: its tensor as is (no 23 MB copy)
            data["pixel_values"] = pixels[0] if len(pixels) == 1 else torch.cat(pixels)
            data["image_grid_thw"] = torch.tensor([g for _, g in processed], dtype=torch.long)
        if not self._checked:
            self._check(data, texts, images)
            self._checked = bool(processed)  # the images' part is checked with images only
        if self._token_types:
            types = self.processor.create_mm_token_type_ids(input_ids.tolist())
            data["mm_token_type_ids"] = torch.tensor(types, dtype=torch.long)
        return BatchFeature(data)

    def _check(self, data: dict[str, Any], texts: Sequence[str], images: Sequence[Any]) -> None:
        """Compare a first build with the processor's own output (left-padded)."""
        import torch

        tokenizer = self.tokenizer
        side, tokenizer.padding_side = tokenizer.padding_side, "left"
        try:
            reference = self.processor(
                text=list(texts), images=list(images) or None, padding=True, return_tensors="pt"
            )
        finally:
            tokenizer.padding_side = side
        self._token_types = "mm_token_type_ids" in reference and hasattr(
            self.processor, "create_mm_token_type_ids"
        )
        expected = set(reference.keys()) - ({"mm_token_type_ids"} if self._token_types else set())
        if set(data) != expected:
            raise UnfollowedProcessor(f"the processor gives {sorted(reference.keys())}")
        for key, value in data.items():
            theirs = reference[key]
            if value.dtype != theirs.dtype or not torch.equal(value, theirs):
                raise UnfollowedProcessor(f"the processor's {key} differs")


def _expand(text: str, token: str, counts: Any) -> str:
    """``text`` with each ``token`` repeated as many times as the next of ``counts`` says."""
    parts = text.split(token)
    out = [parts[0]]
    for part in parts[1:]:
        out.append(token * next(counts))
        out.append(part)
    return "".join(out)
