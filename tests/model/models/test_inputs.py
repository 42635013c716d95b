"""InputBuilder gives exactly the processor's output (every tensor, element for element) on the
tiny Qwen2.5-VL's real processor: screenshots that change in boxes, history images, several
prompts left-padded, text with special tokens, unicode and whitespace."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from agent.geometry import ModelFrame
from agent.models.inputs import InputBuilder
from agent.models.resize import Resizer
from agent.models.transformers_backend import TransformersBackend
from agent.screen.changes import changed_since
from agent.styles.base import PastStep
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.testing.tiny_qwen import build_tiny_qwen25vl

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> TransformersBackend:
    checkpoint = build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny") / "ckpt")
    return TransformersBackend(str(checkpoint), max_pixels=200_000)


def reference(backend: TransformersBackend, texts: list[str], images: list[Image.Image]) -> Any:
    tokenizer = backend.processor.tokenizer
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        return backend.processor(
            text=texts, images=images or None, padding=True, return_tensors="pt"
        )
    finally:
        tokenizer.padding_side = side


def assert_same(ours: Any, theirs: Any) -> None:
    assert set(ours.keys()) == set(theirs.keys())
    for key in theirs:
        assert ours[key].dtype == theirs[key].dtype, key
        assert ours[key].shape == theirs[key].shape, key
        assert torch.equal(ours[key], theirs[key]), key


@pytest.mark.parametrize("seed", range(4))
def test_changing_screenshots_equal_the_processor_element_for_element(
    backend: TransformersBackend, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    width, height = pick.choice([(640, 400), (800, 450), (1000, 560)])
    frame = backend.frame_for(width, height)
    style = Qwen25VLComputerUse()
    resizer, builder = Resizer(), InputBuilder(backend.processor)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    previous = None
    for step in range(6):
        if step:
            x0, y0 = pick.randrange(width - 1), pick.randrange(height - 1)
            x1 = pick.randint(x0 + 1, min(width, x0 + 120))
            y1 = pick.randint(y0 + 1, min(height, y0 + 50))
            pixels = pixels.copy()
            pixels[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
        capture = Image.fromarray(pixels)
        image = resizer.resize(capture, frame)
        if previous is not None:
            assert changed_since(image, previous)[0]  # the resizer noted where it changed
        previous = image
        messages = style.messages(f"Click step {step} — “ok”  ", frame, image, [])
        texts = [backend._template(messages)]
        assert_same(builder.build(texts, [image]), reference(backend, texts, [image]))
    assert builder.partial == 5  # every later screenshot was redone only where it changed


def test_history_images_and_a_padded_batch_equal_the_processor(
    backend: TransformersBackend,
) -> None:
    rng = np.random.default_rng(3)
    style = Qwen25VLComputerUse(history_images=2)
    shots = [Image.fromarray(rng.integers(0, 256, (420, 700, 3), dtype=np.uint8)) for _ in range(3)]
    frame = backend.frame_for(700, 420)
    small = [backend.resizer.resize(s, frame) for s in shots]
    past = [PastStep((), small[0], "a"), PastStep((), small[1], "b")]
    builder = InputBuilder(backend.processor)
    long_prompt = style.messages(
        "Open the menu\n\tthen  the <b>item</b> ünïcödé", frame, small[2], past
    )
    short_prompt = style.messages("x", frame, small[1], [])
    texts = [backend._template(long_prompt), backend._template(short_prompt)]
    images = [small[0], small[1], small[2], small[1]]
    for _ in range(2):  # the second time every image comes from the cache
        assert_same(builder.build(texts, images), reference(backend, texts, images))


def test_the_backend_prepares_what_the_processor_gives(backend: TransformersBackend) -> None:
    style = Qwen25VLComputerUse()
    image = Image.effect_noise((900, 500), 50).convert("RGB")
    frame = backend.frame_for(*image.size)
    messages = style.messages("Click OK", frame, image, [])
    ours = backend.prepare([(messages, frame)])
    theirs = reference(
        backend, [backend._template(messages)], [backend.resizer.resize(image, frame)]
    )
    assert_same(ours, theirs)


def test_a_frame_from_elsewhere_still_goes_through(backend: TransformersBackend) -> None:
    frame = ModelFrame.for_image(300, 200, max_pixels=200_000)
    image = Image.new("RGB", (frame.width, frame.height), (10, 200, 30))
    builder = InputBuilder(backend.processor)
    texts = [backend._template(Qwen25VLComputerUse().messages("go", frame, image, []))]
    assert_same(builder.build(texts, [image]), reference(backend, texts, [image]))


def test_a_processor_it_does_not_follow_is_used_whole(
    backend: TransformersBackend, tmp_path: Path
) -> None:
    checkpoint = build_tiny_qwen25vl(tmp_path / "ckpt")
    other = TransformersBackend(str(checkpoint), max_pixels=200_000)
    assert other._inputs is not None
    other._inputs.merge = 1  # counts four times the image tokens the processor does
    image = Image.effect_noise((500, 300), 50).convert("RGB")
    frame = other.frame_for(*image.size)
    messages = Qwen25VLComputerUse().messages("Click OK", frame, image, [])
    ours = other.prepare([(messages, frame)])
    assert other._inputs is None  # the first build was checked, found different, dropped
    theirs = reference(other, [other._template(messages)], [other.resizer.resize(image, frame)])
    assert_same(ours, theirs)
