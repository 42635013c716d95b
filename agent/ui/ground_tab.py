"""The Ground tab: one picture, one instruction, one answer.

:func:`ground_view` locates an instruction with :func:`agent.grounding.result.ground` and draws the
answer with :func:`agent.grounding.result.annotate` (the project's one way to draw it), and says in
words what frame the model saw and how its point became image pixels: the model's point, its
fraction of the frame, the capture pixels (the one conversion, :func:`agent.geometry.to_screen`,
onto the picture itself). :func:`capture_monitor` takes the picture from a monitor of the
display the server runs on. :func:`one_line` is how every error reaches the page, in every tab:
one line, never a traceback (:func:`warn` also shows it as a warning).

:func:`ground_tab` is the page, built inside an open ``gr.Blocks`` (the ``gr`` module is passed
in: Gradio is imported only by :func:`agent.ui.app.build_app`), with stable element ids
(``elem_id``) for browser tests: ``ground-image``, ``ground-result`` (the result JSON, in image
pixels), ``ground-raw``, ``ground-frame``, ``ground-conversion``, ``ground-error``;
``ground-sample`` loads the bundled sample screenshot (package data) for a try without a display.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from PIL import Image

from agent.errors import AgentError, ConfigurationError, ModelError
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.grounding.base import Grounder
from agent.grounding.result import GroundingResult, annotate, ground
from agent.scripts.bundled import sample_screenshot
from agent.ui.model_choice import ModelCache, choice_from_controls, model_controls

__all__ = [
    "GroundView",
    "capture_monitor",
    "describe_frame",
    "ground_tab",
    "ground_view",
    "one_line",
    "warn",
]

_MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class GroundView:
    """What the Ground tab shows for one answer."""

    image: Image.Image
    """the picture with the box and the point drawn"""
    result: dict[str, Any]
    """:meth:`GroundingResult.as_json` (point and box in image pixels) with the picture's size,
    the instruction and the grounder"""
    raw_output: str
    frame: str
    conversion: str


def one_line(exc: BaseException) -> str:
    """An error as the page shows it: its kind where that helps, one line, bounded."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ModelError):
        text = f"{getattr(exc, 'kind', type(exc).__name__)}: {text}"
    elif not isinstance(exc, AgentError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


def warn(gr: Any, exc: BaseException) -> str:
    """Show ``exc`` on the page as a warning, in :func:`one_line`, and return that line."""
    message = one_line(exc)
    gr.Warning(message)
    return message


def describe_frame(frame: ModelFrame) -> str:
    """The image the model saw, in words: its size, what it was made from and the bounds."""
    source = f"{frame.source_width}x{frame.source_height}"
    if (frame.width, frame.height) == (frame.source_width, frame.source_height) and (
        frame.factor == 1
    ):
        return f"read at its own size: {source} pixels (no resize; points are image pixels)"
    return (
        f"{source} image -> {frame.width}x{frame.height} resized pixels (smart_resize: factor "
        f"{frame.factor}, min_pixels {frame.min_pixels:,}, max_pixels {frame.max_pixels:,}; "
        f"{frame.visual_tokens:,} visual tokens)"
    )


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _conversion(point: Point, frame: ModelFrame, pixel: tuple[int, int], what: str) -> list[str]:
    fx, fy = frame.fraction(point)
    extent = (
        f"in the {frame.width}x{frame.height} frame"
        if point.space is CoordinateSpace.RESIZED
        else f"of the {frame.width}x{frame.height} frame"
    )
    return [
        f"{what}: {point.space.value} ({_num(point.x)}, {_num(point.y)}) {extent}",
        f"  fraction of the frame: ({fx:.4f}, {fy:.4f})",
        f"  x {frame.source_width}x{frame.source_height}: ({fx * frame.source_width:.1f}, "
        f"{fy * frame.source_height:.1f}) -> image pixel ({pixel[0]}, {pixel[1]})",
    ]


def _conversion_text(result: GroundingResult) -> str:
    rows = _conversion(result.model_point, result.frame, result.point, "point")
    if result.box is not None:
        rows.append(f"box in image pixels (left, top, right, bottom): {list(result.box)}")
    return "\n".join(rows)


def ground_view(
    image: Image.Image, instruction: str, grounder: Grounder, *, clamp: bool = False
) -> GroundView:
    """Locate ``instruction`` in ``image`` and draw it. Raises ConfigurationError for an empty
    instruction, ModelError (NotFound, ParseError, OutOfBounds) for an unusable answer."""
    instruction = instruction.strip()
    if not instruction:
        raise ConfigurationError("type an instruction: the element to find, e.g. 'the Save button'")
    rgb = image.convert("RGB")
    result = ground(rgb, instruction, grounder, clamp=clamp)
    data: dict[str, Any] = {
        **result.as_json(),
        "image": [rgb.width, rgb.height],
        "instruction": instruction,
        "grounder": grounder.model,
    }
    return GroundView(
        image=annotate(rgb, result, instruction),
        result=data,
        raw_output=result.raw_output,
        frame=describe_frame(result.frame),
        conversion=_conversion_text(result),
    )


def capture_monitor(monitor: str = "primary", display: str | None = None) -> Image.Image:
    """A capture of ``monitor`` ("primary" or an mss index) of ``display`` (default: the
    server's ``$DISPLAY``). Raises ConfigurationError where there is no display to capture."""
    from agent.screen.capture import Screen

    choice: int | str = monitor.strip() or "primary"
    if choice != "primary":
        try:
            choice = int(choice)
        except ValueError:
            raise ConfigurationError(
                f"monitor: expected a number or 'primary', got {monitor!r}"
            ) from None
    if display is None and sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise ConfigurationError(
            "there is no display to capture here (DISPLAY is not set): upload a screenshot"
        )
    screen = Screen(choice if isinstance(choice, int) else "primary", display=display)
    try:
        return screen.capture().image
    finally:
        screen.close()


def ground_tab(gr: Any, models: ModelCache) -> None:
    with gr.Row():
        with gr.Column():
            image = gr.Image(
                type="pil",
                format="png",
                label="screenshot",
                sources=["upload", "clipboard"],
                elem_id="ground-input",
            )
            with gr.Row():
                monitor = gr.Textbox(value="primary", label="monitor (mss index or primary)")
                capture = gr.Button("Capture a monitor", elem_id="ground-capture")
                sample = gr.Button("Sample screenshot", elem_id="ground-sample")
            instruction = gr.Textbox(
                label="instruction", placeholder="the Save button", elem_id="ground-instruction"
            )
            controls = model_controls(gr, "ground")
            clamp = gr.Checkbox(label="clamp points outside the image to its edge")
            button = gr.Button("Ground", variant="primary", elem_id="ground-button")
        with gr.Column():
            error = gr.Textbox(label="error", visible=False, elem_id="ground-error")
            drawn = gr.Image(
                type="pil", format="png", label="answer", interactive=False, elem_id="ground-image"
            )
            result = gr.Textbox(
                label="result (image pixels)", lines=4, interactive=False, elem_id="ground-result"
            )
            raw = gr.Textbox(label="raw answer", interactive=False, elem_id="ground-raw")
            frame = gr.Textbox(
                label="frame the model saw", interactive=False, elem_id="ground-frame"
            )
            conversion = gr.Textbox(
                label="conversion of the point",
                lines=4,
                interactive=False,
                elem_id="ground-conversion",
            )

    def run_ground(picture: Any, text: str, clamp_points: bool, *values: Any) -> list[Any]:
        try:
            if picture is None:
                raise ConfigurationError("upload a screenshot, or capture a monitor, first")
            grounder = models.grounder(choice_from_controls(values))
            view = ground_view(picture, text or "", grounder, clamp=bool(clamp_points))
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            return [gr.update(value=warn(gr, exc), visible=True), None, "", "", "", ""]
        return [
            gr.update(value="", visible=False),
            view.image,
            json.dumps(view.result, ensure_ascii=False),
            view.raw_output,
            view.frame,
            view.conversion,
        ]

    inputs = [image, instruction, clamp, *controls]
    outputs = [error, drawn, result, raw, frame, conversion]
    button.click(run_ground, inputs=inputs, outputs=outputs)
    instruction.submit(run_ground, inputs=inputs, outputs=outputs)

    def run_capture(choice: str) -> list[Any]:
        try:
            picture = capture_monitor(choice or "primary")
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            return [gr.update(), gr.update(value=warn(gr, exc), visible=True)]
        return [picture, gr.update(value="", visible=False)]

    capture.click(run_capture, inputs=monitor, outputs=[image, error])

    def load_sample() -> list[Any]:
        """The bundled capture of the Preferences app: something to ground without a display."""
        try:
            with Image.open(sample_screenshot()) as shot:
                picture = shot.convert("RGB")
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            return [gr.update(), gr.update(value=warn(gr, exc), visible=True)]
        return [picture, gr.update(value="", visible=False)]

    sample.click(load_sample, outputs=[image, error])
