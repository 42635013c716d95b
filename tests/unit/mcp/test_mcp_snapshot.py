"""The MCP server's screenshots and coordinates, without a display: a capped screenshot's frame
converts its pixels to exact screen pixels (the one conversion), the PNG fits its byte cap, and a
click at a screenshot point through the session reaches the executor at the right screen point,
recorded with the frame it was given in (no SDK needed)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from actions.executor import DryRunExecutor
from actions.schema import Click, KeyPress
from agent.desktops.base import DesktopConnection, DesktopSpec
from agent.errors import Aborted, ConfigurationError, Refused, ScriptError
from agent.geometry import CoordinateSpace, Monitor, Point, to_model, to_screen
from agent.mcp.session import DesktopSession
from agent.mcp.snapshot import capped_frame, snapshot
from agent.models.scripted import ScriptedBackend
from agent.screen.capture import ImageScreen
from agent.scripts.desktop import Desktop
from agent.styles.registry import make_style
from agent.trajectory import load_trajectory


def resized(x: float, y: float) -> Point:
    return Point(x=x, y=y, space=CoordinateSpace.RESIZED)


def test_a_4k_capture_is_capped_to_1568_and_its_points_map_back_exactly() -> None:
    frame = capped_frame(3840, 2160, 1568)
    assert (frame.width, frame.height) == (1568, 882)
    assert (frame.source_width, frame.source_height) == (3840, 2160)
    monitor = Monitor(1, 0, 0, 3840, 2160)
    assert to_screen(resized(784, 441), frame, monitor).screen_xy() == (1920, 1080)
    assert to_screen(resized(0, 0), frame, monitor).screen_xy() == (0, 0)
    assert to_screen(resized(1568, 882), frame, monitor).screen_xy() == (3839, 2159)
    assert to_screen(resized(100, 50), frame, monitor).screen_xy() == (245, 122)  # 244.9, 122.4
    # a Retina-style monitor (2 capture px per unit) placed right of another one
    retina = Monitor(2, 1920, 0, 1920, 1080, scale=2.0)
    assert to_screen(resized(784, 441), frame, retina).screen_xy() == (1920 + 960, 540)
    # every screen pixel's screenshot point converts back to that very pixel
    for sx, sy in [(0, 0), (1, 1), (1919, 1079), (3838, 2158), (1234, 567)]:
        seen = to_model(Point.screen(sx, sy), frame, monitor)
        assert to_screen(seen, frame, monitor).screen_xy() == (sx, sy)
    with pytest.raises(Exception, match="outside the 1568x882 image"):
        to_screen(resized(1569, 10), frame, monitor)


def test_a_capture_that_fits_is_sent_as_it_is() -> None:
    frame = capped_frame(1280, 800, 1568)
    assert (frame.width, frame.height, frame.source_width) == (1280, 800, 1280)
    assert capped_frame(800, 3000, 1568).height == 1568  # a portrait screen: the height is capped


def test_the_png_fits_both_caps_and_decodes() -> None:
    flat = Image.new("RGB", (3840, 2160), (200, 210, 220))
    taken = snapshot(flat, 1568, 1_000_000)
    decoded = Image.open(io.BytesIO(taken.png))
    assert decoded.format == "PNG" and decoded.size == (1568, 882) == (taken.frame.width, 882)
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (2160, 3840, 3), np.uint8))
    small = snapshot(noise, 1568, 1_000_000)
    assert len(small.png) <= 1_000_000
    shrunk = Image.open(io.BytesIO(small.png)).size
    assert shrunk == (small.frame.width, small.frame.height) and max(shrunk) < 1568
    assert small.frame.source_width == 3840  # resized from the capture, once
    described = small.describe(Monitor(1, 0, 0, 3840, 2160))
    assert f"{small.frame.width}x{small.frame.height}" in described
    assert "screen units per screenshot pixel" in described
    with pytest.raises(ConfigurationError, match="does not fit"):
        snapshot(noise, 1568, 2_000)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[DesktopSession, DryRunExecutor]]:
    executor = DryRunExecutor()
    capture = Image.new("RGB", (3840, 2160), (240, 240, 240))
    connection = DesktopConnection(DesktopSpec(), ImageScreen(capture, scale=2.0), executor)

    def script(desktop: DesktopConnection, out: Path, name: str) -> Desktop:
        backend = ScriptedBackend([])
        return Desktop(
            backend, make_style("qwen25vl"), desktop=desktop, out=out, name=name, max_retries=0
        )

    opened = DesktopSession(lambda: connection, script, tmp_path / "mcp")
    yield opened, executor
    opened.close()


def test_a_click_in_screenshot_pixels_lands_on_the_exact_screen_point(
    session: tuple[DesktopSession, DryRunExecutor], tmp_path: Path
) -> None:
    mcp, executor = session
    with pytest.raises(ConfigurationError, match="take a screenshot first"):
        mcp.click(x=10, y=10)
    taken, monitor = mcp.screenshot()
    assert (taken.frame.width, taken.frame.height) == (1568, 882)
    assert monitor.scale == 2.0 and (monitor.width, monitor.height) == (1920, 1080)
    assert "scale 1.224 screen units per screenshot pixel" in taken.describe(monitor)
    done = mcp.click(x=784, y=441, button="right", count=2)
    assert done.endswith("at screen (960, 540)")
    action, _ = executor.calls[-1]
    assert action == Click(point=Point.screen(960, 540), button="right", count=2)
    with pytest.raises(ScriptError, match="outside the 1568x882 image"):
        mcp.click(x=1600, y=10)
    with pytest.raises(Refused, match="ctrl\\+alt\\+delete"):
        mcp.press(["ctrl", "alt", "delete"])
    assert not any(isinstance(a, KeyPress) for a, _ in executor.calls)
    abandoned = threading.Event()
    abandoned.set()
    with pytest.raises(Aborted, match="abandoned"):
        mcp.click(x=1, y=1, abandoned=abandoned)
    mcp.close("done", "test over")
    trajectory = load_trajectory(tmp_path / "mcp")
    assert trajectory.meta.status == "done" and trajectory.meta.message == "test over"
    verbs = [s.targets[0].verb if s.targets else s.parsed[0].action for s in trajectory.steps]
    assert verbs == ["click", "screenshot", "click", "click", "key"]  # the first: a note
    refused = trajectory.steps[-1]
    assert (refused.error or "").startswith("Refused") and not refused.results
    assert trajectory.steps[0].targets[0].outcome.startswith("refused: ConfigurationError")
    clicked = trajectory.steps[2]
    assert clicked.frame is not None and clicked.frame.width == 1568
    assert clicked.parsed[0].point == resized(784, 441)  # type: ignore[union-attr]
    assert clicked.executed[0].point == Point.screen(960, 540)  # type: ignore[union-attr]
