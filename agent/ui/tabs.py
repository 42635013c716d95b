"""The web UI's three tabs as Gradio components, wired to the modules that do the work.

Each builder is called inside an open ``gr.Blocks`` (the ``gr`` module is passed in: Gradio is
imported only by :func:`agent.ui.app.build_app`) and gives its output elements stable ``elem_id``\ s
for browser tests: ``ground-image``, ``ground-result`` (the result JSON, in image pixels),
``ground-raw``, ``ground-frame``, ``ground-conversion``, ``ground-error``; ``run-log``,
``run-status`` (its ``[data-status]``: running, not-started or the final status),
``run-checks``, ``run-report``; ``runs-table``, ``runs-pick``, ``runs-link``, ``runs-viewer``.
Every handler turns an error into a one-line message (a warning, and the tab's error box or
status) and never lets a traceback reach the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from agent.errors import ConfigurationError
from agent.styles.registry import STYLE_NAMES
from agent.ui.ground_tab import capture_monitor, ground_view, one_line
from agent.ui.model_choice import BACKENDS, ModelCache, ModelChoice
from agent.ui.run_jobs import RunJob, RunManager, RunRequest, bundled_apps, bundled_tasks
from agent.ui.trajectories_tab import COLUMNS, file_url, list_runs, open_viewer

__all__ = ["ground_tab", "run_tab", "trajectories_tab"]

_PRIVATE, _REAL = "a private virtual display", "this machine's display (real mouse and keyboard)"
_TASK, _INSTRUCTION = "a bundled task", "an instruction (needs a model)"
_NO_APP = "(none)"
_POLL_S = 0.25


def _model_controls(gr: Any, prefix: str) -> list[Any]:
    """The model settings: backend, model, base URL, style, and more behind an accordion."""
    backend = gr.Radio(list(BACKENDS), value="ocr", label="backend", elem_id=f"{prefix}-backend")
    model = gr.Textbox(
        label="model: a Hub id or a checkpoint directory (openai: the model the server serves)",
        placeholder="Qwen/Qwen2.5-VL-3B-Instruct",
        visible=False,
        elem_id=f"{prefix}-model",
    )
    base_url = gr.Textbox(
        label="base URL of the OpenAI-compatible server",
        placeholder="http://127.0.0.1:8000/v1",
        visible=False,
        elem_id=f"{prefix}-base-url",
    )
    style = gr.Dropdown(
        list(STYLE_NAMES), value="qwen25vl", label="style", visible=False, elem_id=f"{prefix}-style"
    )
    with gr.Accordion("model options", open=False, visible=False) as more:
        min_pixels = gr.Number(label="min_pixels (empty: the style's)", precision=0)
        max_pixels = gr.Number(label="max_pixels (empty: the style's)", precision=0)
        device = gr.Textbox(value="auto", label="device (transformers): auto, cuda, cuda:1, cpu")
        key_env = gr.Textbox(value="OPENAI_API_KEY", label="environment variable with the API key")

    def shown(name: str) -> list[Any]:
        model_needed = name != "ocr"
        return [
            gr.update(visible=model_needed),
            gr.update(visible=name == "openai"),
            gr.update(visible=model_needed),
            gr.update(visible=model_needed),
        ]

    backend.change(shown, inputs=backend, outputs=[model, base_url, style, more])
    return [backend, model, base_url, style, min_pixels, max_pixels, device, key_env]


def _choice(values: Sequence[Any]) -> ModelChoice:
    backend, model, base_url, style, min_pixels, max_pixels, device, key_env = values

    def pixels(value: Any) -> int | None:
        return int(value) if value not in (None, "") else None

    return ModelChoice(
        backend=str(backend or "ocr"),
        model=str(model or ""),
        base_url=str(base_url or ""),
        style=str(style or "qwen25vl"),
        min_pixels=pixels(min_pixels),
        max_pixels=pixels(max_pixels),
        device=str(device or "auto"),
        api_key_env=str(key_env or "OPENAI_API_KEY"),
    )


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
            instruction = gr.Textbox(
                label="instruction", placeholder="the Save button", elem_id="ground-instruction"
            )
            controls = _model_controls(gr, "ground")
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
            view = ground_view(
                picture, text or "", models.grounder(_choice(values)), clamp=bool(clamp_points)
            )
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            message = one_line(exc)
            gr.Warning(message)
            return [gr.update(value=message, visible=True), None, "", "", "", ""]
        return [
            gr.update(value="", visible=False),
            view.image,
            json.dumps(view.result, ensure_ascii=False),
            view.raw_output,
            view.frame,
            view.conversion,
        ]

    button.click(
        run_ground,
        inputs=[image, instruction, clamp, *controls],
        outputs=[error, drawn, result, raw, frame, conversion],
    )
    instruction.submit(
        run_ground,
        inputs=[image, instruction, clamp, *controls],
        outputs=[error, drawn, result, raw, frame, conversion],
    )

    def run_capture(choice: str) -> list[Any]:
        try:
            picture = capture_monitor(choice or "primary")
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            message = one_line(exc)
            gr.Warning(message)
            return [gr.update(), gr.update(value=message, visible=True)]
        return [picture, gr.update(value="", visible=False)]

    capture.click(run_capture, inputs=monitor, outputs=[image, error])


def _checks_rows(job: RunJob) -> list[list[str]]:
    return [[c.check, "passed" if c.passed else "FAILED", c.detail] for c in job.checks]


def _status_html(status: str, text: str) -> str:
    """The run's state: ``data-status`` is "running", "not-started" or the final status."""
    return (
        f'<p class="run-state" data-status="{html.escape(status, quote=True)}">'
        f"<b>{html.escape(status)}</b>: {html.escape(text)}</p>"
    )


def _status_text(job: RunJob) -> str:
    if job.running:
        return _status_html("running", f"recording into {job.out} ...")
    return _status_html(job.status or "error", job.message or job.error or "")


def _report_html(job: RunJob) -> str:
    if job.running or job.report is None or not job.report.is_file():
        return ""
    url = html.escape(file_url(job.report), quote=True)
    return f'<a href="{url}" target="_blank" id="run-report-link">open the report</a>'


def run_tab(gr: Any, manager: RunManager) -> None:
    tasks = bundled_tasks()
    first = "save-preferences" if "save-preferences" in tasks else next(iter(tasks), None)
    with gr.Row():
        with gr.Column():
            source = gr.Radio([_TASK, _INSTRUCTION], value=_TASK, label="run", elem_id="run-source")
            task = gr.Dropdown(
                tasks,
                value=first,
                label="bundled task (tasks/*.yaml)",
                elem_id="run-task",
            )
            instruction = gr.Textbox(label="instruction", visible=False, elem_id="run-instruction")
            app = gr.Dropdown(
                [_NO_APP, *bundled_apps()],
                value=_NO_APP,
                visible=False,
                label="app to open on the private display first (tasks/apps)",
            )
            where = gr.Radio(
                [_PRIVATE, _REAL], value=_PRIVATE, label="display", elem_id="run-where"
            )
            confirm = gr.Checkbox(
                label="I confirm: the agent will move my real mouse and type on my real screen",
                visible=False,
                elem_id="run-confirm",
            )
            controls = _model_controls(gr, "run")
            max_steps = gr.Number(value=15, precision=0, label="max steps (instruction)")
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="run-start")
                stop = gr.Button("Stop", variant="stop", elem_id="run-stop")
        with gr.Column():
            status = gr.HTML(elem_id="run-status")
            log = gr.Textbox(
                label="progress",
                lines=16,
                max_lines=16,
                interactive=False,
                autoscroll=True,
                elem_id="run-log",
            )
            checks = gr.Dataframe(
                headers=["check", "verdict", "detail"],
                value=[],
                interactive=False,
                wrap=True,
                column_widths=["45%", "12%", "43%"],
                label="checks",
                elem_id="run-checks",
            )
            report = gr.HTML(elem_id="run-report")

    def sourced(name: str) -> list[Any]:
        is_task = name == _TASK
        return [
            gr.update(visible=is_task),
            gr.update(visible=not is_task),
            gr.update(visible=not is_task),
        ]

    source.change(sourced, inputs=source, outputs=[task, instruction, app])
    where.change(
        lambda w: gr.update(visible=w == _REAL, value=False), inputs=where, outputs=confirm
    )

    def run(
        kind: str,
        name: str,
        text: str,
        opened: str,
        place: str,
        sure: bool,
        steps: Any,
        *values: Any,
    ) -> Iterator[list[Any]]:
        try:
            request = RunRequest(
                task=name if kind == _TASK else None,
                instruction=text or "",
                choice=_choice(values),
                real_display=place == _REAL,
                confirmed=bool(sure),
                app=None if opened in (None, _NO_APP) else str(opened),
                max_steps=int(steps or 15),
            )
            job = manager.start(request)
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            message = one_line(exc)
            gr.Warning(message)
            yield [_status_html("not-started", message), "", [], ""]
            return
        while True:
            ended = job.wait(_POLL_S)
            yield [_status_text(job), job.log(), _checks_rows(job), _report_html(job)]
            if ended:
                return

    start.click(
        run,
        inputs=[source, task, instruction, app, where, confirm, max_steps, *controls],
        outputs=[status, log, checks, report],
    )

    def request_stop() -> None:
        gr.Info(manager.stop())

    stop.click(request_stop, inputs=None, outputs=None)


def trajectories_tab(gr: Any, runs: Path) -> tuple[Callable[[], list[Any]], list[Any]]:
    with gr.Row():
        refresh = gr.Button("Refresh", elem_id="runs-refresh")
        pick = gr.Dropdown([], label="run", allow_custom_value=False, elem_id="runs-pick")
        show = gr.Button("Open the viewer", variant="primary", elem_id="runs-open")
    table = gr.Dataframe(
        headers=COLUMNS, value=[], interactive=False, label=f"runs in {runs}", elem_id="runs-table"
    )
    link = gr.HTML(elem_id="runs-link")
    viewer = gr.HTML(elem_id="runs-viewer")

    def listed() -> list[Any]:
        found = list_runs(runs)
        names = [run.name for run in found]
        return [
            [run.row() for run in found],
            gr.update(choices=names, value=names[0] if names else None),
        ]

    def opened(name: str | None) -> list[str]:
        try:
            page = open_viewer(runs, name or "")
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            message = one_line(exc)
            gr.Warning(message)
            return [f"<p class='runs-error'>{html.escape(message)}</p>", ""]
        url = html.escape(file_url(page), quote=True)
        return [
            f'<a href="{url}" target="_blank" id="runs-viewer-link">open the viewer of '
            f"{html.escape(page.parent.name)} in a new tab</a>",
            f'<iframe src="{url}" title="trajectory viewer" '
            'style="width:100%;height:80vh;border:1px solid #ccc"></iframe>',
        ]

    refresh.click(listed, outputs=[table, pick])
    show.click(opened, inputs=pick, outputs=[link, viewer])
    return listed, [table, pick]
