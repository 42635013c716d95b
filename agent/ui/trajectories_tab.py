"""The Trajectories tab's work, without the web page: the recorded runs and their viewers.

:func:`list_runs` reads every ``meta.json`` directly under the runs folder into a
:class:`RunSummary` (newest first; a folder whose meta cannot be read is listed as
``unreadable``, never an error for the whole list). :func:`open_viewer` writes a run's viewer
page with :func:`agent.runs.viewer.write_viewer`; :func:`file_url` is where the web server serves a
file under the runs folder (Gradio's file route, the runs folder being an allowed path), so the
page's screenshots load beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from agent.errors import ConfigurationError
from agent.trajectory import TrajectoryMeta

__all__ = ["COLUMNS", "RunSummary", "file_url", "list_runs", "open_viewer", "run_folder"]

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
