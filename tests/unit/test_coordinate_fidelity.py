"""Proof of coordinate fidelity: every screen size, HiDPI scale, monitor origin, pixel budget and
coordinate space; model -> screen -> model -> screen round trips within one screen unit, and the
screen point is the true position rounded (never truncated, never off the monitor)."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agent.errors import ConfigurationError
from agent.geometry import CoordinateSpace, ModelFrame, Monitor, Point, to_model, to_screen

MODEL_SPACES = [CoordinateSpace.RESIZED, CoordinateSpace.REL1000, CoordinateSpace.REL1]
BOUNDS = [
    (4 * 28 * 28, 16384 * 28 * 28),
    (4 * 28 * 28, 1280 * 28 * 28),
    (100 * 28 * 28, 16384 * 28 * 28),
    (256 * 28 * 28, 1280 * 28 * 28),
    (4 * 32 * 32, 16384 * 32 * 32),
    (64 * 32 * 32, 2048 * 32 * 32),
]


@st.composite
def setups(draw: st.DrawFn) -> tuple[Monitor, ModelFrame]:
    scale = draw(st.sampled_from([1.0, 1.25, 1.5, 2.0]))
    # the capture (physical pixels) spans 320..7680 on each side
    width = draw(st.integers(320, 7680))
    height = draw(st.integers(320, 7680))
    assume(max(width, height) / min(width, height) <= 8)
    left = draw(st.integers(-7680, 7680))
    top = draw(st.integers(-4320, 4320))
    lo, hi = draw(st.sampled_from(BOUNDS))
    factor = 32 if hi % (32 * 32) == 0 and lo % (32 * 32) == 0 else 28
    units_w, units_h = round(width / scale), round(height / scale)
    monitor = Monitor(1, left, top, units_w, units_h, scale=scale)
    try:
        frame = ModelFrame.for_image(width, height, min_pixels=lo, max_pixels=hi, factor=factor)
    except ConfigurationError:
        assume(False)
        raise
    return monitor, frame


@settings(max_examples=3000, deadline=None)
@given(setup=setups(), fx=st.floats(0, 1), fy=st.floats(0, 1), space=st.sampled_from(MODEL_SPACES))
def test_model_to_screen_round_trips(
    setup: tuple[Monitor, ModelFrame], fx: float, fy: float, space: CoordinateSpace
) -> None:
    monitor, frame = setup
    extent = {
        CoordinateSpace.RESIZED: (frame.width, frame.height),
        CoordinateSpace.REL1000: (1000, 1000),
        CoordinateSpace.REL1: (1, 1),
    }[space]
    point = Point(x=fx * extent[0], y=fy * extent[1], space=space)
    screen = to_screen(point, frame, monitor)
    sx, sy = screen.screen_xy()
    assert monitor.contains(sx, sy)
    # the true position, in screen units: rounded, except the far edge which is the last unit
    true_x = monitor.left + fx * frame.source_width / monitor.scale
    true_y = monitor.top + fy * frame.source_height / monitor.scale
    assert abs(sx - true_x) <= 0.5 + 1e-6 or sx == monitor.left + monitor.width - 1
    assert abs(sy - true_y) <= 0.5 + 1e-6 or sy == monitor.top + monitor.height - 1
    back = to_model(screen, frame, monitor, space)
    again = to_screen(back, frame, monitor)
    assert abs(again.x - sx) <= 1 and abs(again.y - sy) <= 1


@settings(max_examples=2000, deadline=None)
@given(
    setup=setups(),
    ux=st.floats(0, 1, exclude_max=True),
    uy=st.floats(0, 1, exclude_max=True),
    space=st.sampled_from(MODEL_SPACES),
)
def test_screen_to_model_round_trips_exactly(
    setup: tuple[Monitor, ModelFrame], ux: float, uy: float, space: CoordinateSpace
) -> None:
    monitor, frame = setup
    sx = monitor.left + int(ux * monitor.width)
    sy = monitor.top + int(uy * monitor.height)
    model = to_model(Point.screen(sx, sy), frame, monitor, space)
    assert frame.contains(model) or frame.fraction(model)[0] <= 1 + 1e-9
    assert to_screen(model, frame, monitor).screen_xy() == (sx, sy)
