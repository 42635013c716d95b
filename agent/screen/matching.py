"""Comparing screenshots: did the screen change between two captures?

:func:`same_screen` is what the loop guard uses to decide that an action had no visible effect.
Exact equality is too strict on a real desktop, where a text caret blinks between two captures,
so a change whose bounding box is at most :data:`CARET_PX` pixels wide or high (a caret, a
focus line) does not count. Anything larger, however small its area (a digit that changed, a
checkbox), does.

:func:`find_patch` is what the location cache uses to check, before acting without the model,
that the live screen still shows a stored :class:`Patch` (a :data:`PATCH_PX` square crop around
a target, see :func:`crop_patch`) near the stored point. It scores every placement whose anchor
lies within :data:`SEARCH_PX` pixels of that point by normalised cross-correlation on grayscale
(one FFT correlation for the numerators, integral images in exact integers for the window
energies), over only the region those placements cover. It fails closed: a featureless patch
(standard deviation under :data:`MIN_PATCH_STD` grey levels) is never found, a flat window scores
0, the best score must reach :data:`MATCH_THRESHOLD`, and every other match must score at least
:data:`PEAK_MARGIN` lower, so that a repeated control (two identical buttons) is reported as
ambiguous instead of picking one. "Other" means outside the best peak's own region (placements
connected to it that stay within two margins of it): sliding a patch along a wide button's edge
keeps a high score, which is the same match, not a second one. Positions are whole pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops

from agent.screen.changes import changed_since

__all__ = [
    "CARET_PX",
    "MATCH_THRESHOLD",
    "MIN_PATCH_STD",
    "PATCH_PX",
    "PEAK_MARGIN",
    "SEARCH_PX",
    "Patch",
    "PatchMatch",
    "changed_box",
    "crop_patch",
    "find_patch",
    "same_screen",
]

CARET_PX = 3


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box ``(left, top, right, bottom)`` of every changed pixel, None if none
    changed; the whole image when the sizes differ. A capture that noted how it differs from
    ``before`` (:mod:`agent.screen.changes`) is not compared again."""
    if before.size != after.size or before.mode != after.mode:
        return (0, 0, after.width, after.height)
    known, box = changed_since(after, before)
    if known:
        return box
    return ImageChops.difference(before, after).getbbox()


def same_screen(before: Image.Image, after: Image.Image) -> bool:
    """True if ``after`` shows what ``before`` showed, but for a caret-sized change."""
    box = changed_box(before, after)
    return box is None or min(box[2] - box[0], box[3] - box[1]) <= CARET_PX


# --- Finding a stored image patch on a live screen -------------------------------------------

PATCH_PX = 64
SEARCH_PX = 32
MATCH_THRESHOLD = 0.95
PEAK_MARGIN = 0.1
MIN_PATCH_STD = 1.0


@dataclass(frozen=True)
class Patch:
    """An RGB crop of a capture and where the target point lies in it (pixels from its
    top-left corner)."""

    image: Image.Image
    anchor: tuple[int, int]


@dataclass(frozen=True)
class PatchMatch:
    """The outcome of :func:`find_patch`: where the anchor lies at the best match (capture
    pixels, None unless found), the best and second-best scores, and why it was not found."""

    found: bool
    x: float | None
    y: float | None
    score: float
    second: float
    reason: str


def crop_patch(image: Image.Image, x: float, y: float, size: int = PATCH_PX) -> Patch:
    """The ``size`` x ``size`` crop of ``image`` centred on ``(x, y)`` (capture pixels), shifted
    to stay inside the image (and clipped where the image is smaller)."""
    cx, cy = round(x), round(y)
    left = _clamp(cx - size // 2, 0, image.width - size)
    top = _clamp(cy - size // 2, 0, image.height - size)
    box = (left, top, min(left + size, image.width), min(top + size, image.height))
    return Patch(image.crop(box), (cx - left, cy - top))


def find_patch(
    image: Image.Image,
    patch: Patch,
    near: tuple[float, float],
    radius: int = SEARCH_PX,
    threshold: float = MATCH_THRESHOLD,
    margin: float = PEAK_MARGIN,
) -> PatchMatch:
    """Search ``image`` for ``patch`` with its anchor within ``radius`` pixels (each axis) of
    ``near``. Found only if the best score is at least ``threshold`` and every position outside
    the best peak's own region scores below ``best - margin``."""
    template = _gray(patch.image)
    if template.std() < MIN_PATCH_STD:
        return _miss("the patch is featureless (flat colour)")
    box = _search_box(image.size, patch, near, radius)
    if box is None:
        return _miss("the search area is off the image")
    scores = _ncc(_gray(image.crop(box)), template)
    origin = (box[0] + patch.anchor[0], box[1] + patch.anchor[1])
    return _judge(scores, origin, near, threshold, margin)


def _clamp(value: int, low: int, high: int) -> int:
    """``value`` limited to ``low..high``; ``low`` wins when the range is empty."""
    return max(low, min(value, high))


def _gray(image: Image.Image) -> npt.NDArray[np.uint8]:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _miss(reason: str, score: float = 0.0, second: float = -1.0) -> PatchMatch:
    return PatchMatch(False, None, None, score, second, reason)


def _search_box(
    size: tuple[int, int], patch: Patch, near: tuple[float, float], radius: int
) -> tuple[int, int, int, int] | None:
    """The image region covered by every patch placement whose anchor lies within ``radius``
    of ``near``, clipped to the image; None if no placement fits."""
    low: list[int] = []
    high: list[int] = []
    for axis in (0, 1):
        start = round(near[axis]) - patch.anchor[axis]
        low.append(max(0, start - radius))
        high.append(min(size[axis] - patch.image.size[axis], start + radius))
    if low[0] > high[0] or low[1] > high[1]:
        return None
    return (low[0], low[1], high[0] + patch.image.width, high[1] + patch.image.height)


def _ncc(region: npt.NDArray[np.uint8], template: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Normalised cross-correlation of ``template`` at every placement inside ``region``.

    The numerator comes from one FFT correlation with the zero-mean template; the window
    energies come from integral images in integers, so a flat window is exactly flat and
    scores 0."""
    rows, cols = template.shape
    count = rows * cols
    centred = template - template.mean()
    numerator = _correlate(region.astype(np.float64), centred)
    pixels = region.astype(np.int64)
    sums = _window_sums(pixels, rows, cols)
    energy = count * _window_sums(pixels * pixels, rows, cols) - sums * sums
    denominator = np.sqrt(energy / count * float(np.sum(centred * centred)))
    scores = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=scores, where=energy > 0)
    return np.clip(scores, -1.0, 1.0)


def _correlate(
    region: npt.NDArray[np.float64], template: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``sum(window * template)`` for every placement of ``template`` inside ``region``."""
    shape = region.shape
    spectrum = np.fft.rfft2(region) * np.conj(np.fft.rfft2(template, s=shape))
    full = np.fft.irfft2(spectrum, s=shape)
    return full[: shape[0] - template.shape[0] + 1, : shape[1] - template.shape[1] + 1]


def _window_sums(values: npt.NDArray[np.int64], rows: int, cols: int) -> npt.NDArray[np.int64]:
    """The sum over every ``rows`` x ``cols`` window of ``values``, from an integral image."""
    integral = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.int64)
    integral[1:, 1:] = values.cumsum(axis=0).cumsum(axis=1)
    return (
        integral[rows:, cols:]
        - integral[:-rows, cols:]
        - integral[rows:, :-cols]
        + integral[:-rows, :-cols]
    )


def _judge(
    scores: npt.NDArray[np.float64],
    origin: tuple[int, int],
    near: tuple[float, float],
    threshold: float,
    margin: float,
) -> PatchMatch:
    """Accept the best placement if it is good enough and clearly the only one; ``origin`` is
    where the anchor lies for the first placement, ``near`` where it is expected."""
    best = float(scores.max())
    # of equal best placements (a patch inside a uniform element), the one nearest ``near``
    ties = np.argwhere(scores >= best - 1e-9)
    expected = np.array([near[1] - origin[1], near[0] - origin[0]])
    row, col = (int(i) for i in ties[np.argmin(((ties - expected) ** 2).sum(axis=1))])
    second = _second_peak(scores, row, col, margin)
    if best < threshold:
        return _miss(f"best match {best:.2f} is under {threshold:.2f}", best, second)
    if second >= best - margin:
        return _miss(f"two matches: {best:.2f} and {second:.2f}", best, second)
    return PatchMatch(True, float(origin[0] + col), float(origin[1] + row), best, second, "")


def _second_peak(scores: npt.NDArray[np.float64], row: int, col: int, margin: float) -> float:
    """The best score of any other match: outside the region of placements that stay within
    ``2 * margin`` of the peak at ``(row, col)`` and connect to it. Placements along the peak's
    own ridge (a wide button's edges score high all along it) belong to the same match; an
    identical element nearby is separated from it by a dip, and counts. -1.0 if none."""
    high = scores >= scores[row, col] - 2 * margin
    region = np.zeros_like(high)
    region[row, col] = True
    while True:
        grown = region.copy()
        grown[1:, :] |= region[:-1, :]
        grown[:-1, :] |= region[1:, :]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= high
        if np.array_equal(grown, region):
            break
        region = grown
    return float(scores[~region].max()) if not region.all() else -1.0
