"""Export recorded runs as fine-tuning data: one JSON object per line, in ms-swift's custom
dataset format (``swift``) or as OpenAI-style chat messages (``messages``).

:func:`export_runs` reads each trajectory (:mod:`agent.runs.training_samples` picks the steps that
were carried out), writes the rows to a temporary file, renames it over ``out`` and returns an
:class:`ExportReport`. Only runs that ended ``done`` are exported unless ``include_all``. Rows
come by run, then step index. Texts are the recorded ones (secrets already placeholders);
``meta.json`` is never read. Images are the recorded screenshots' absolute paths, each checked
against the sha256 of the step that captured it.

**One row per carried-out model step**, so the model trains on the prompt layout it sees at
inference: the step's recorded prompt (roles and texts verbatim, the screenshots where they were;
earlier assistant turns of a kept history stay literal text), then one assistant turn: the
answer as the family writes it, the style's own rendering of the recorded parsed actions (words
around Qwen tool calls dropped; UI-TARS keeps its ``Thought:``). **Grounding rows**: one per
target a script step located and acted on. A recorded text holding one of ms-swift's tags
(``<image>``, ``<bbox>``, ...) skips the run for ``swift``, with the reason.

``swift`` (ms-swift ``docs/source_en/Customization/Custom-dataset.md``): ``messages`` (string
contents, an ``<image>`` tag in place of each image), ``images`` (in tag order) and, when the
answer has points, ``objects`` ``{"ref": [], "bbox": [[x, y], ...], "bbox_type": "real",
"image_id": [...]}``. Each coordinate of the answer is a bare ``<bbox>`` in plain assistant text
(``"coordinate": <bbox>``, ``start_box='<bbox>'``); no ``tools`` key and no ``tool_call`` role:
the recorded system prompt holds the tools, and plain assistant text is not re-serialised. A box
is the executed screen point in pixels of the step's ORIGINAL screenshot
(:meth:`~agent.trajectory.StepRecord.capture_pixel`), ``image_id`` that screenshot's index in
``images``; ms-swift scales ``real`` boxes itself (Qwen2.5-VL template: to the resized image's
pixels; Qwen2-VL, Qwen3-VL: to 0-1000). Train with ``MAX_PIXELS``/``MIN_PIXELS`` equal to the
recorded frame bounds (the prompt states the resized resolution the run saw) and ``--bbox_format
new``: the tag becomes ``str(bbox)`` (``[658, 364]``), byte-identical to what the JSON families
write (qwen25vl, qwen3vl, qwen25vl-grounding); UI-TARS reads ``start_box='[x, y]'`` too. ms-swift's
legacy default writes ``<|box_start|>(x,y)<|box_end|>``: the notation of qwen2vl (which needs it)
and of UI-TARS' box tokens, but invalid JSON inside a tool call (this project's parser refuses
it). Grounding rows: user ``<image>`` + the description, assistant ``<bbox>``.

``messages``: ``{"messages": [...], "metadata": {...}}``, the same rows in OpenAI chat form: a
turn with images has content parts (text, and ``{"type": "image_url", "image_url": {"url":
"file:///abs/step_0000.png"}}``), a text-only turn a string. The final turn is assistant
``tool_calls`` (``arguments`` a JSON string) for the tool-call families, the family's text for
the others; coordinates are the model's own (the recorded parsed actions, in their step's space
and frame). No ``tools`` key (the system text holds them). ``metadata``: ``kind`` (``agent``),
``run``, ``step``, ``style``, ``space`` and per image, in order, its frame (``image``, ``step``,
``width``/``height`` resized, ``source_width``/``source_height``), so a trainer can rescale. A
grounding row answers ``[{"point_2d": [x, y], "label": ...}]`` in the grounder's space and
frame, or in capture pixels (a frame the size of the capture) where no model located the target.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from agent.errors import ConfigurationError
from agent.runs.training_rows import ExportFormat, Row, run_rows
from agent.runs.training_samples import UnusableRun, read_samples
from agent.styles.base import Style
from agent.styles.registry import make_style
from agent.trajectory import Trajectory, load_trajectory

__all__ = ["ExportFormat", "ExportReport", "SkippedRun", "export_runs"]


@dataclass(frozen=True)
class SkippedRun:
    """A run that gave no rows, and why (one line)."""

    directory: Path
    reason: str


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_runs` wrote."""

    out: Path
    format: ExportFormat
    rows: int
    exported: tuple[Path, ...]
    """runs that gave rows"""
    skipped: tuple[SkippedRun, ...]
    """runs that gave none, each with its reason"""
    steps_skipped: int
    """steps of the exported runs that gave no row (refused, unusable, not carried out)"""

    def lines(self) -> list[str]:
        """The report in words, one line each."""
        head = (
            f"wrote {self.rows} {self.format} rows from {len(self.exported)} runs to {self.out}"
            f" ({self.steps_skipped} steps skipped)"
        )
        return [head, *(f"skipped {s.directory}: {s.reason}" for s in self.skipped)]


def export_runs(
    directories: Sequence[Path | str],
    fmt: ExportFormat,
    out: Path | str,
    *,
    include_all: bool = False,
) -> ExportReport:
    """Write the rows of the runs in ``directories`` to ``out`` (JSONL, replaced atomically).
    ``include_all``: runs that did not end ``done`` too. Raises ConfigurationError (not a
    trajectory, an unknown style or format, a screenshot missing or changed, ``out``
    unwritable)."""
    if fmt not in get_args(ExportFormat):
        raise ConfigurationError(f"unknown export format {fmt!r}; choose swift or messages")
    out = Path(out)
    trajectories = [load_trajectory(d) for d in directories]
    rows: list[Row] = []
    exported: list[Path] = []
    skipped: list[SkippedRun] = []
    steps_skipped = 0
    for trajectory in trajectories:
        status = trajectory.meta.status
        if status != "done" and not include_all:
            why = f"status {status}" if status else "it never finished (no status)"
            skipped.append(SkippedRun(trajectory.directory, f"not successful: {why}"))
            continue
        try:
            samples = read_samples(trajectory)
            found = run_rows(samples, _style(trajectory), fmt)
        except UnusableRun as exc:
            skipped.append(SkippedRun(trajectory.directory, str(exc)))
            continue
        if not found:
            skipped.append(SkippedRun(trajectory.directory, "no usable steps"))
            continue
        rows += found
        exported.append(trajectory.directory)
        steps_skipped += samples.steps_skipped
    _write(out, rows)
    return ExportReport(out, fmt, len(rows), tuple(exported), tuple(skipped), steps_skipped)


def _style(trajectory: Trajectory) -> Style | None:
    name = trajectory.meta.style
    if name == "none":  # a script run without a model family (the OCR grounder)
        return None
    try:
        return make_style(name)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{trajectory.directory}: {exc}") from exc


def _write(out: Path, rows: list[Row]) -> None:
    tmp = out.with_name(out.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigurationError(f"cannot write {out}: {exc}") from exc
