"""The Run tab: a bundled task or a free instruction, run by :mod:`agent.ui.run_jobs`.

:func:`run_tab` is the page, built inside an open ``gr.Blocks`` (the ``gr`` module is passed in:
Gradio is imported only by :func:`agent.ui.app.build_app`), with stable element ids
(``elem_id``) for browser tests: ``run-log``, ``run-status`` (its ``[data-status]``: running,
not-started or the final status), ``run-checks``, ``run-report``. The progress streams in while
the run goes; an error is one line in the status, never a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from agent.ui.ground_tab import warn
from agent.ui.model_choice import choice_from_controls, model_controls
from agent.ui.run_jobs import RunJob, RunManager, RunRequest, bundled_apps, bundled_tasks
from agent.ui.trajectories_tab import file_url

__all__ = ["run_tab"]

_PRIVATE, _REAL = "a private virtual display", "this machine's display (real mouse and keyboard)"
_TASK, _INSTRUCTION = "a bundled task", "an instruction (needs a model)"
_NO_APP = "(none)"
_POLL_S = 0.25


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
            spec = manager.desktop
            here = _PRIVATE if spec.kind == "private" else f"the desktop {spec.describe()}"
            where = gr.Radio([here, _REAL], value=here, label="display", elem_id="run-where")
            confirm = gr.Checkbox(
                label="I confirm: the agent will move my real mouse and type on my real screen",
                visible=False,
                elem_id="run-confirm",
            )
            controls = model_controls(gr, "run")
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
                choice=choice_from_controls(values),
                real_display=place == _REAL,
                confirmed=bool(sure),
                app=None if opened in (None, _NO_APP) else str(opened),
                max_steps=int(steps or 15),
            )
            job = manager.start(request)
        except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
            yield [_status_html("not-started", warn(gr, exc)), "", [], ""]
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
