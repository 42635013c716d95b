"""find_patch on rendered desktop content: found where the content went, fail closed otherwise."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.screen.matching import (
    MATCH_THRESHOLD,
    PATCH_PX,
    SEARCH_PX,
    Patch,
    crop_patch,
    find_patch,
)

SIZE = (1920, 1080)
BACKGROUND = (236, 236, 236)
FONT = ImageFont.load_default(size=16)
TOOLBAR = ["File", "Edit", "View", "Save", "Open", "Close", "Help"]


def button(draw: ImageDraw.ImageDraw, label: str, x: int, y: int) -> None:
    """A 96 x 32 labelled button centred on (x, y)."""
    draw.rounded_rectangle((x - 48, y - 16, x + 48, y + 16), radius=6, fill="white", outline="gray")
    draw.text((x, y), label, fill="black", font=FONT, anchor="mm")


def desktop(
    labels: list[str] = TOOLBAR, offset: tuple[int, int] = (0, 0), size: tuple[int, int] = SIZE
) -> Image.Image:
    """A window title and a row of buttons every 120 px from (200, 300), moved by ``offset``."""
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    dx, dy = offset
    draw.rectangle((100 + dx, 200 + dy, 1100 + dx, 240 + dy), fill=(40, 60, 120))
    draw.text((120 + dx, 220 + dy), "Untitled - Editor", fill="white", font=FONT, anchor="lm")
    for index, label in enumerate(labels):
        button(draw, label, 200 + 120 * index + dx, 300 + dy)
    return image


SAVE = (200 + 120 * TOOLBAR.index("Save"), 300)


def test_found_where_it_was() -> None:
    screen = desktop()
    match = find_patch(screen, crop_patch(screen, *SAVE), SAVE)
    assert match.found and match.reason == ""
    assert (match.x, match.y) == SAVE
    assert match.score == pytest.approx(1.0)
    assert match.second < match.score - 0.1


@pytest.mark.parametrize("offset", [(5, -3), (-12, 7), (SEARCH_PX, -SEARCH_PX)])
def test_found_at_the_true_anchor_after_the_content_moved(offset: tuple[int, int]) -> None:
    patch = crop_patch(desktop(), *SAVE)
    match = find_patch(desktop(offset=offset), patch, SAVE)
    assert match.found, match.reason
    assert (match.x, match.y) == (SAVE[0] + offset[0], SAVE[1] + offset[1])


@pytest.mark.parametrize("offset", [(SEARCH_PX + 8, 0), (0, 50), (-60, 40)])
def test_not_found_when_moved_beyond_the_radius(offset: tuple[int, int]) -> None:
    patch = crop_patch(desktop(), *SAVE)
    match = find_patch(desktop(offset=offset), patch, SAVE)
    assert not match.found
    assert (match.x, match.y) == (None, None)
    assert match.reason


def test_not_found_when_the_text_changed() -> None:
    patch = crop_patch(desktop(), *SAVE)
    changed = [label if label != "Save" else "Quit" for label in TOOLBAR]
    match = find_patch(desktop(changed), patch, SAVE)
    assert not match.found
    assert match.score < MATCH_THRESHOLD
    assert match.reason == f"best match {match.score:.2f} is under {MATCH_THRESHOLD:.2f}"


def test_two_identical_buttons_in_the_search_area_are_ambiguous() -> None:
    single = Image.new("RGB", SIZE, BACKGROUND)
    ImageDraw.Draw(single).ellipse((490, 490, 510, 510), outline="black", width=3)
    patch = crop_patch(single, 500, 500)
    double = Image.new("RGB", SIZE, BACKGROUND)
    for x in (475, 525):
        ImageDraw.Draw(double).ellipse((x - 10, 490, x + 10, 510), outline="black", width=3)
    match = find_patch(double, patch, (500, 500))
    assert not match.found
    assert match.score == pytest.approx(1.0) and match.second == pytest.approx(1.0)
    assert match.reason == "two matches: 1.00 and 1.00"


def test_a_flat_patch_is_never_found() -> None:
    screen = desktop()
    match = find_patch(screen, crop_patch(screen, 1500, 800), (1500, 800))
    assert not match.found
    assert (match.score, match.second) == (0.0, -1.0)
    assert match.reason == "the patch is featureless (flat colour)"


def test_flat_windows_score_zero() -> None:
    patch = crop_patch(desktop(), *SAVE)
    match = find_patch(Image.new("RGB", SIZE, BACKGROUND), patch, SAVE)
    assert not match.found
    assert (match.score, match.second) == (0.0, -1.0)
    assert match.reason == "best match 0.00 is under 0.95"


def test_a_patch_at_the_corner_is_clipped_and_still_found() -> None:
    screen = desktop(offset=(-170, -270))
    patch = crop_patch(screen, 10, 12)
    assert patch.image.size == (PATCH_PX, PATCH_PX)
    assert patch.anchor == (10, 12)
    assert np.array_equal(np.asarray(patch.image), np.asarray(screen)[:PATCH_PX, :PATCH_PX])
    match = find_patch(screen, patch, (10, 12))
    assert (match.found, match.x, match.y) == (True, 10, 12)
    moved = find_patch(desktop(offset=(-166, -267)), patch, (10, 12))
    assert (moved.found, moved.x, moved.y) == (True, 14, 15)


def test_a_patch_at_the_far_corner() -> None:
    screen = desktop(offset=(1680, 740))
    patch = crop_patch(screen, 1919.4, 1079.6)
    assert patch.image.size == (PATCH_PX, PATCH_PX)
    assert patch.anchor == (PATCH_PX - 1, PATCH_PX)
    match = find_patch(screen, patch, (1919.4, 1079.6))
    assert (match.found, match.x, match.y) == (True, 1919, 1080)


def test_crop_patch_of_a_small_image_is_the_whole_image() -> None:
    image = desktop(size=(40, 30))
    patch = crop_patch(image, 20, 15)
    assert (patch.image.size, patch.anchor) == ((40, 30), (20, 15))


def test_the_search_area_off_the_image() -> None:
    screen = desktop()
    match = find_patch(screen, crop_patch(screen, *SAVE), (-200, 500))
    assert not match.found
    assert (match.score, match.second) == (0.0, -1.0)
    assert match.reason == "the search area is off the image"


def test_score_is_the_correlation_coefficient() -> None:
    rng = np.random.default_rng(7)
    gray = rng.integers(0, 256, (PATCH_PX, PATCH_PX), dtype=np.uint8)
    noisy = np.clip(gray + rng.normal(0, 30, gray.shape), 0, 255).astype(np.uint8)
    canvas = np.full((400, 400), 128, dtype=np.uint8)
    canvas[100 : 100 + PATCH_PX, 150 : 150 + PATCH_PX] = noisy
    patch = Patch(Image.fromarray(gray).convert("RGB"), (20, 30))
    match = find_patch(Image.fromarray(canvas).convert("RGB"), patch, (175, 125), threshold=0.5)
    assert (match.found, match.x, match.y) == (True, 170, 130)
    expected = np.corrcoef(gray.ravel().astype(float), noisy.ravel().astype(float))[0, 1]
    assert match.score == pytest.approx(expected, abs=1e-9)


def test_other_modes_are_compared_in_grayscale() -> None:
    screen = desktop()
    patch = crop_patch(screen, *SAVE)
    match = find_patch(desktop(offset=(3, 4)).convert("RGBA"), patch, SAVE)
    assert (match.found, match.x, match.y) == (True, SAVE[0] + 3, SAVE[1] + 4)


def test_timing_on_a_full_hd_capture() -> None:
    patch = crop_patch(desktop(), *SAVE)
    screen = desktop(offset=(7, -5))
    runs = 50
    started = time.perf_counter()
    for _ in range(runs):
        match = find_patch(screen, patch, SAVE)
    elapsed = (time.perf_counter() - started) / runs
    assert match.found
    print(f"\nfind_patch 64x64, radius {SEARCH_PX}, 1920x1080 RGB: {elapsed * 1000:.2f} ms")
