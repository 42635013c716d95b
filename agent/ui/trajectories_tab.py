"""The Trajectories tab: the recorded runs and their viewers.

:func:`list_runs` reads every ``meta.json`` directly under the runs folder into a
:class:`RunSummary` (newest first; a folder whose meta cannot be read is listed as
``unreadable``, never an error for the whole list). :func:`open_viewer` writes a run's viewer
page with :func:`agent.runs.viewer.write_viewer`; :func:`file_url` is where the web server serves a
file under the runs folder (Gradio's file route, the runs folder being an allowed path), so the
page's screenshots load beside it.

:func:`trajectories_tab` is the page, built inside an open ``gr.Blocks`` (the ``gr`` module is
passed in: Gradio is imported only by :func:`agent.ui.app.build_app`), with stable element ids
(``elem_id``) for browser tests: ``runs-table``, ``runs-pick``, ``runs-link``, ``runs-viewer``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent.errors import ConfigurationError
from agent.trajectory import TrajectoryMeta
from agent.ui.ground_tab import warn

__all__ = [
    "COLUMNS",
    "RunSummary",
    "file_url",
    "list_runs",
    "open_viewer",
    "run_folder",
    "trajectories_tab",
]

FILE_ROUTE = "/gradio_api/file="


@dataclass(frozen=True)
class RunSummary:
    """One recorded run, as the list shows it."""

    name: str
    status: str
    steps: int | None
    instruction: str
    started: str

    def row(self) -> list[str]:
        steps = "" if self.steps is None else str(self.steps)
        return [self.name, self.status, steps, self.instruction, self.started]


COLUMNS = ["name", "status", "steps", "instruction", "started"]


def list_runs(runs: Path) -> list[RunSummary]:
    """The runs recorded under ``runs`` (folders with a ``meta.json``), newest first."""
    if not runs.is_dir():
        return []
    found = []
    for meta_path in runs.glob("*/meta.json"):
        name = meta_path.parent.name
        try:
            meta = TrajectoryMeta.model_validate_json(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found.append(RunSummary(name, "unreadable", None, "", ""))
            continue
        status = meta.status or "not finished"
        instruction = " ".join(meta.instruction.split())
        found.append(RunSummary(name, status, meta.steps, instruction, meta.started_at))
    return sorted(found, key=lambda run: (run.started, run.name), reverse=True)


def run_folder(runs: Path, name: str) -> Path:
    """The folder of the run called ``name``: a folder directly under ``runs``, nothing else.
    Raises ConfigurationError for a name that is not one."""
    name = name.strip()
    if not name:
        raise ConfigurationError("pick a run first")
    folder = (runs / name).resolve()
    if folder.parent != runs.resolve() or not (folder / "meta.json").is_file():
        raise ConfigurationError(f"no recorded run {name!r} in {runs}")
    return folder


def open_viewer(runs: Path, name: str) -> Path:
    """Write the viewer page of the run called ``name`` and return its path."""
    from agent.runs.viewer import write_viewer

    return write_viewer(run_folder(runs, name))


def file_url(path: Path) -> str:
    """The address (on the UI's server) of a file under an allowed folder."""
    return FILE_ROUTE + quote(str(path.resolve()))


def trajectories_tab(gr: Any, runs: Path) -> tuple[Callable[[], list[Any]], list[Any]]:
    """Build the tab; return its list refresher and that one's outputs (for the page's load)."""
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
            return [f"<p class='runs-error'>{html.escape(warn(gr, exc))}</p>", ""]
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
