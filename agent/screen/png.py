"""Lossless PNG encoding at the lowest cost that keeps files small: the one encoder for the
images sent to a server and the screenshots a trajectory keeps.

Pillow's PNG encoder tries every row filter and keeps the best one, which costs more than the
compression itself on screenshots. Screenshots are mostly flat areas and repeated rows, which
deflate already compresses well unfiltered: filter "None" on every row plus zlib level 1 gives
files within a few percent of Pillow's level 1 in about two thirds of the time
(``bench/step_cost.py encode`` prints both, with WebP lossless and BMP). Any PNG decoder reads the
result; the pixels decode exactly.

:class:`PngEncoder` compresses bands of :data:`BAND_ROWS` rows each on their own (a full flush
between them, as pigz does), so the next screenshot of a screen that changed in a few rows
(:mod:`agent.screen.changes` says which) reuses the other bands' compressed bytes.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from PIL import Image

from agent.screen.changes import changed_since

__all__ = ["BAND_ROWS", "PngEncoder", "encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZLIB_HEADER = b"\x78\x01"
_LAST_BLOCK = b"\x03\x00"  # an empty final block with fixed codes
_ADLER_BASE = 65521
BAND_ROWS = 32


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _rows(image: Image.Image) -> tuple[np.ndarray, int, int]:
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    pixels = np.asarray(rgb)
    height, width = pixels.shape[:2]
    rows = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # byte 0 of a row: filter None
    rows[:, 1:] = pixels.reshape(height, width * 3)
    return rows, width, height


def _png(width: int, height: int, stream: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def encode_png(image: Image.Image, level: int = 1) -> bytes:
    """``image`` (RGB; other modes are converted) as PNG bytes, rows unfiltered, zlib ``level``."""
    rows, width, height = _rows(image)
    return _png(width, height, zlib.compress(rows.data, level))


def _adler_combine(first: int, second: int, length: int) -> int:
    """The Adler-32 of two byte strings joined, from theirs (zlib's adler32_combine)."""
    rem = length % _ADLER_BASE
    sum1 = first & 0xFFFF
    sum2 = (rem * sum1) % _ADLER_BASE
    sum1 += (second & 0xFFFF) + _ADLER_BASE - 1
    sum2 += ((first >> 16) & 0xFFFF) + ((second >> 16) & 0xFFFF) + _ADLER_BASE - rem
    return (sum1 % _ADLER_BASE) | ((sum2 % _ADLER_BASE) << 16)


class PngEncoder:
    """:func:`encode_png` for a sequence of screenshots: bands a change did not touch are not
    compressed again. Use it from one thread."""

    def __init__(self, level: int = 1) -> None:
        self.level = level
        self._last: Image.Image | None = None
        self._bands: list[tuple[bytes, int, int]] = []  # compressed, adler32, raw length
        self.reused = 0
        """bands taken from the previous screenshot (for benchmarks and tests)"""

    def encode(self, image: Image.Image) -> bytes:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        width, height = rgb.size
        known, box = changed_since(image, self._last) if self._last is not None else (False, None)
        count = (height + BAND_ROWS - 1) // BAND_ROWS
        reuse = known and len(self._bands) == count and self._last is not None
        reuse = reuse and self._last.size == image.size  # type: ignore[union-attr]
        bands = []
        for band in range(count):
            top = band * BAND_ROWS
            bottom = min(height, top + BAND_ROWS)
            if reuse and (box is None or bottom <= box[1] or top >= box[3]):
                bands.append(self._bands[band])
                self.reused += 1
                continue
            data = _rows(rgb.crop((0, top, width, bottom)))[0].tobytes()  # only bands redone
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15)
            packed = compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)
            bands.append((packed, zlib.adler32(data), len(data)))
        self._last, self._bands = image, bands
        adler = bands[0][1]
        for _, checksum, length in bands[1:]:
            adler = _adler_combine(adler, checksum, length)
        stream = b"".join([_ZLIB_HEADER, *(b[0] for b in bands), _LAST_BLOCK])
        return _png(width, height, stream + struct.pack(">I", adler))
