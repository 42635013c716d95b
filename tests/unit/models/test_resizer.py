"""The Resizer redoes only a changed region and is bit-identical to the reference resize; the
PNG encoder is lossless."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image

from agent.geometry import ModelFrame
from agent.models.resize import Resizer, resize_to
from agent.screen.changes import changed_since, note_change
from agent.screen.png import encode_png


def _frame(width: int, height: int, out_w: int, out_h: int) -> ModelFrame:
    return ModelFrame(
        width=out_w, height=out_h, source_width=width, source_height=height,
        min_pixels=1, max_pixels=10**9, factor=28,
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(12))
def test_partial_resizes_equal_the_whole_resize_byte_for_byte(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    width, height = pick.randint(60, 640), pick.randint(60, 480)
    frame = _frame(width, height, pick.randint(1, 30) * 28, pick.randint(1, 24) * 28)
    resizer = Resizer()
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    previous: Image.Image | None = None
    noted = 0
    for _ in range(6):
        x0, y0 = pick.randrange(width), pick.randrange(height)
        x1, y1 = (
            pick.randint(x0 + 1, min(width, x0 + 90)),
            pick.randint(y0 + 1, min(height, y0 + 60)),
        )
        pixels = pixels.copy()
        pixels[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        output = resizer.resize(image, frame)
        assert output.tobytes() == resize_to(image, frame).tobytes()
        known, box = changed_since(output, previous) if previous is not None else (False, None)
        if known and box is not None:  # the output's own note (what the band encoder trusts)
            outside = previous.copy()
            outside.paste(output.crop(box), box[:2])
            assert outside.tobytes() == output.tobytes()
            noted += 1
        previous = output
    assert (
        resizer.partial >= 4 and noted == resizer.partial
    )  # the small changes were not resized whole


def test_a_noted_change_is_trusted_and_an_unchanged_image_is_returned_as_is() -> None:
    rng = np.random.default_rng(7)
    base = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    frame = _frame(400, 300, 280, 196)
    resizer = Resizer()
    resizer.resize(base, frame)
    changed = base.copy()
    changed.paste((255, 0, 0), (50, 60, 70, 80))
    note_change(changed, base, (50, 60, 70, 80))
    assert resizer.resize(changed, frame).tobytes() == resize_to(changed, frame).tobytes()
    same = changed.copy()
    note_change(same, changed, None)
    assert resizer.resize(same, frame) is resizer.resize(changed, frame)
    history = resizer.resize(changed, frame)
    assert resizer.resize(changed, frame) is history  # a history image is not resized again


def test_the_png_encoder_is_lossless_and_small() -> None:
    rng = np.random.default_rng(3)
    image = Image.new("RGB", (333, 211), (240, 240, 240))
    image.paste(Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)), (10, 20))
    data = encode_png(image)
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == "RGB" and decoded.tobytes() == image.tobytes()
    assert len(data) < 0.1 * len(image.tobytes())
    rgba = Image.new("RGBA", (5, 4), (1, 2, 3, 4))
    assert Image.open(io.BytesIO(encode_png(rgba))).tobytes() == rgba.convert("RGB").tobytes()


def test_the_band_encoder_reuses_unchanged_bands_and_stays_a_valid_png() -> None:
    import struct
    import zlib

    from agent.screen.png import BAND_ROWS, PngEncoder

    rng = np.random.default_rng(5)
    encoder = PngEncoder()
    previous = Image.fromarray(rng.integers(0, 256, (200, 150, 3), dtype=np.uint8))
    encoder.encode(previous)
    for top in (0, 37, 190):
        image = previous.copy()
        box = (10, top, 60, min(200, top + 9))
        image.paste((1, 2, 3), box)
        note_change(image, previous, box)
        data = encoder.encode(image)
        assert Image.open(io.BytesIO(data)).tobytes() == image.tobytes()
        length = struct.unpack(">I", data[33:37])[0]  # the IDAT chunk follows IHDR
        assert data[37:41] == b"IDAT"
        raw = zlib.decompress(data[41 : 41 + length])  # checks the combined Adler-32
        assert len(raw) == 200 * (150 * 3 + 1)
        previous = image
    assert encoder.reused >= 3 * (200 // BAND_ROWS - 1)
    unnoted = previous.copy()  # no note: every band is compressed again
    before = encoder.reused
    assert Image.open(io.BytesIO(encoder.encode(unnoted))).tobytes() == unnoted.tobytes()
    assert encoder.reused == before
