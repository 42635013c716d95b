from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import ConfigurationError, OutOfBounds
from agent.geometry import (
    QWEN_MAX_PIXELS,
    CoordinateSpace,
    ModelFrame,
    Monitor,
    Point,
    smart_resize,
    to_model,
    to_screen,
)
from agent.models.torch_compat import prepare_torchvision

prepare_torchvision()
import qwen_vl_utils.vision_process as qvu  # noqa: E402
from transformers.models.qwen2_vl import image_processing_qwen2_vl as hf  # noqa: E402

SIDES = [
    1,
    5,
    27,
    28,
    29,
    41,
    55,
    56,
    100,
    200,
    333,
    720,
    768,
    1000,
    1024,
    1080,
    1200,
    1366,
    1440,
    1600,
    1920,
    2160,
    2560,
    3000,
    3840,
    4000,
    5120,
    7680,
]
BOUNDS = [
    (4 * 28 * 28, QWEN_MAX_PIXELS),  # qwen-vl-utils / official checkpoints
    (4 * 28 * 28, 1280 * 28 * 28),  # transformers class default, cookbooks
    (100 * 28 * 28, 16384 * 28 * 28),  # UI-TARS-1.5
    (256 * 28 * 28, 1280 * 28 * 28),
    (3136, 3136 * 4),  # tiny budget
    (56 * 56, 28 * 28 * 4 * 1280),
]
GRID = [
    (h, w, lo, hi)
    for (h, w), (lo, hi) in itertools.product(itertools.product(SIDES, SIDES), BOUNDS)
    if max(h, w) / min(h, w) <= 200
]


@pytest.mark.parametrize("lo,hi", BOUNDS)
def test_smart_resize_equals_qwen_vl_utils_on_the_grid(lo: int, hi: int) -> None:
    compared = 0
    for h, w in itertools.product(SIDES, SIDES):
        if max(h, w) / min(h, w) > 200:
            with pytest.raises(ConfigurationError):
                smart_resize(h, w, 28, lo, hi)
            continue
        theirs = qvu.smart_resize(h, w, 28, lo, hi)
        if min(theirs) == 0 or max(theirs) / min(theirs) > 200:
            # qwen-vl-utils floors a side to 0 or returns a frame the processor refuses
            with pytest.raises(ConfigurationError):
                smart_resize(h, w, 28, lo, hi)
            continue
        assert smart_resize(h, w, 28, lo, hi) == theirs, (h, w, lo, hi)
        compared += 1
    assert compared > 450


def test_smart_resize_equals_transformers_except_where_it_rounds_a_side_to_zero() -> None:
    differing = []
    for h, w, lo, hi in GRID:
        try:
            ours = smart_resize(h, w, 28, lo, hi)
        except ConfigurationError:
            continue  # cannot fit the budget (see the qwen-vl-utils test)
        theirs = hf.smart_resize(h, w, 28, lo, hi)
        if ours != theirs:
            differing.append((h, w))
            # transformers rounds a side under 14 px to 0 before checking min_pixels
            assert min(h, w) < 14, (h, w, lo, hi, ours, theirs)
        # The processor is a fixed point on what we send: it never resizes a second time.
        assert hf.smart_resize(ours[0], ours[1], 28, lo, hi) == ours
    assert len(differing) < len(GRID) // 10


@pytest.mark.parametrize(
    "size,bounds,expected",
    [
        ((1920, 1080), (3136, QWEN_MAX_PIXELS), (1932, 1092)),  # upscaled at the default cap
        ((1920, 1080), (3136, 1280 * 28 * 28), (1316, 728)),
        ((1366, 768), (3136, 1280 * 28 * 28), (1316, 728)),
        ((3840, 2160), (3136, QWEN_MAX_PIXELS), (3836, 2156)),
        ((4000, 200), (3136, 256 * 28 * 28), (1988, 84)),
    ],
)
def test_known_frames(
    size: tuple[int, int], bounds: tuple[int, int], expected: tuple[int, int]
) -> None:
    frame = ModelFrame.for_image(*size, min_pixels=bounds[0], max_pixels=bounds[1])
    assert (frame.width, frame.height) == expected


def test_4k_token_count() -> None:
    assert ModelFrame.for_image(3840, 2160).visual_tokens == 10549
    assert ModelFrame.for_image(1920, 1080).visual_tokens == 2691
    assert ModelFrame.for_image(1920, 1080, max_pixels=1280 * 28 * 28).visual_tokens == 1222


def test_axes_are_scaled_separately() -> None:
    frame = ModelFrame.for_image(1920, 1080, max_pixels=1280 * 28 * 28)  # 1316x728
    monitor = Monitor(1, 0, 0, 1920, 1080)
    bottom_right = to_screen(Point(x=1316, y=728, space=CoordinateSpace.RESIZED), frame, monitor)
    assert bottom_right == Point.screen(1919, 1079)
    # one scale for both axes (x's 1.459) would put y=700 at 1021 instead of 1038
    assert to_screen(Point(x=0, y=700, space=CoordinateSpace.RESIZED), frame, monitor).y == 1038


def test_rounds_instead_of_truncating() -> None:
    frame = ModelFrame.for_image(1920, 1080, max_pixels=1280 * 28 * 28)
    monitor = Monitor(1, 0, 0, 1920, 1080)
    # 1 * 1920/1316 = 1.459 -> 1 truncated, 1 rounded; 2 -> 2.918: 2 truncated, 3 rounded
    assert to_screen(Point(x=2, y=2, space=CoordinateSpace.RESIZED), frame, monitor).xy() == (3, 3)


def test_monitor_origin_and_scale_applied_once() -> None:
    # a Retina-like monitor: capture 2x the logical size, placed left of the primary
    monitor = Monitor(2, -1440, -200, 1440, 900, scale=2.0)
    frame = ModelFrame.for_image(2880, 1800, max_pixels=1280 * 28 * 28)
    centre = Point(x=frame.width / 2, y=frame.height / 2, space=CoordinateSpace.RESIZED)
    assert to_screen(centre, frame, monitor).xy() == (-720, 250)
    for space in (CoordinateSpace.REL1000, CoordinateSpace.REL1):
        extent = 1000 if space is CoordinateSpace.REL1000 else 1
        p = Point(x=extent / 2, y=extent / 2, space=space)
        assert to_screen(p, frame, monitor).xy() == (-720, 250)


def test_points_outside_the_frame_are_refused() -> None:
    frame = ModelFrame.for_image(1920, 1080)
    monitor = Monitor(1, 0, 0, 1920, 1080)
    for x, y in [(-1, 10), (10, -0.5), (frame.width + 1, 10), (10, frame.height + 3)]:
        with pytest.raises(OutOfBounds, match="outside"):
            to_screen(Point(x=x, y=y, space=CoordinateSpace.RESIZED), frame, monitor)
    with pytest.raises(OutOfBounds):
        to_screen(Point(x=1001, y=5, space=CoordinateSpace.REL1000), frame, monitor)


def test_screen_points_pass_through_and_model_points_have_no_screen_xy() -> None:
    frame = ModelFrame.for_image(800, 600)
    monitor = Monitor(1, 0, 0, 800, 600)
    p = Point.screen(5, 7)
    assert to_screen(p, frame, monitor) is p
    with pytest.raises(ValueError, match="not screen space"):
        Point(x=1, y=2, space=CoordinateSpace.RESIZED).screen_xy()


def test_invalid_inputs_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        smart_resize(0, 10)
    with pytest.raises(ConfigurationError):
        smart_resize(100, 100, 28, 5000, 4000)
    with pytest.raises(ConfigurationError):
        Monitor(1, 0, 0, 0, 10)
    with pytest.raises(ConfigurationError):
        Monitor(1, 0, 0, 10, 10, scale=0)


@given(
    width=st.integers(320, 7680),
    height=st.integers(320, 4320),
    x=st.floats(0, 1),
    y=st.floats(0, 1),
)
def test_model_screen_model_round_trip_within_a_pixel(
    width: int, height: int, x: float, y: float
) -> None:
    if max(width, height) / min(width, height) > 200:
        return
    frame = ModelFrame.for_image(width, height, max_pixels=1280 * 28 * 28)
    monitor = Monitor(1, 0, 0, width, height)
    screen = to_screen(
        Point(x=x * frame.width, y=y * frame.height, space="resized_px"), frame, monitor
    )
    back = to_model(screen, frame, monitor)
    again = to_screen(back, frame, monitor)
    assert abs(again.x - screen.x) <= 1 and abs(again.y - screen.y) <= 1
    # one screen unit is at most width/frame.width model pixels away
    assert abs(back.x - x * frame.width) <= max(1.0, frame.width / width) + 1e-6
