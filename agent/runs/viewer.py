"""The trajectory viewer: one static HTML page that shows a recorded run step by step.

:func:`write_viewer` reads a trajectory directory and writes ``index.html`` beside its
screenshots. The page needs no server and no network: the screenshots are referenced as the
relative files next to it (``step_0000.png``), so a 500-step run stays small, and the whole run
is embedded once as JSON (``<script type="application/json" id="trajectory-data">``, every ``<``
written as ``\\u003c`` so no text can close the element). The page's script (the template
``agent/runs/viewer_page.html``) only lays out and formats; every number it shows is computed here:

* **markers** in capture pixels (the screenshot's own pixels, the SVG overlay's viewBox): the
  recorded *executed* screen points through :func:`agent.geometry.to_model` into the capture's
  identity frame: the one conversion, never a second formula in the page. A drag, click or
  scroll without a point acts where the pointer was; that point is inferred from the last
  action before it that ran, and marked so;
* the **conversion** of each parsed point: the model's point -> fraction of the frame -> capture
  pixels -> screen point (÷ scale + monitor origin, rounded by :func:`agent.geometry.to_screen`),
  compared with the point that was executed;
* per step the prompt turns (text, and which screenshot files were shown), raw output, parsed and
  executed actions, results, policy verdicts, timings, tokens, script targets and replay verdicts;
  for a person's recorded step (``source: person``) the screen after it, beside the one they saw.

Long texts repeat from step to step (the system prompt; the task progress grows by one line a
step): the JSON keeps each distinct text once, in ``texts``, and a step refers to it by index;
a text that extends a recent one is stored as ``[base, kept_prefix_length, suffix]``. Frames and
monitors are kept once each the same way. The page renders every text with ``textContent``:
model output is untrusted and never becomes markup.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from actions.executor import ActionResult
from actions.schema import (
    Action,
    Click,
    Drag,
    KeyPress,
    MouseMove,
    Scroll,
    Terminate,
    TypeText,
    Wait,
    points_of,
)
from agent.errors import OutOfBounds
from agent.geometry import CoordinateSpace, ModelFrame, Monitor, Point, to_screen
from agent.page import write_page
from agent.trajectory import StepRecord, TargetRecord, Trajectory, load_trajectory

__all__ = ["write_viewer"]

PAGE = "index.html"
_TEMPLATE = "viewer_page.html"
_PLACEHOLDER = "__TRAJECTORY_JSON__"
_SHORT = 48  # texts up to this length are inlined, longer ones go to the shared table
_LOOKBACK = 8  # recent long texts a new one may extend
_MIN_SHARED = 64  # a shared prefix at least this long is worth a reference

Json = dict[str, Any]


def write_viewer(directory: Path | str) -> Path:
    """Write ``directory/index.html``, the viewer of the trajectory recorded there, and return
    its path. Raises :class:`~agent.errors.ConfigurationError` when ``directory`` holds no
    trajectory or the page cannot be written."""
    trajectory = load_trajectory(directory)
    return write_page(
        trajectory.directory / PAGE, ("agent.runs", _TEMPLATE), _PLACEHOLDER,
        _page_data(trajectory), "viewer",
    )  # fmt: skip


class _Shared:
    """Tables of values stored once in the page: texts (by prefix), frames, monitors."""

    def __init__(self) -> None:
        self.texts: list[str | list[Any]] = []
        self.frames: list[Json] = []
        self.monitors: list[Json] = []
        self._text_at: dict[str, int] = {}
        self._recent: list[tuple[int, str]] = []
        self._keyed: dict[str, int] = {}

    def text(self, value: str) -> str | int:
        """``value`` itself when short, else its index in ``texts``."""
        if len(value) <= _SHORT:
            return value
        if (found := self._text_at.get(value)) is not None:
            return found
        entry: str | list[Any] = value
        best = _MIN_SHARED - 1
        for index, earlier in reversed(self._recent):
            keep = _common_prefix(earlier, value)
            if keep > best:
                best, entry = keep, [index, keep, value[keep:]]
        index = len(self.texts)
        self.texts.append(entry)
        self._text_at[value] = index
        self._recent = [*self._recent[-(_LOOKBACK - 1) :], (index, value)]
        return index

    def frame(self, frame: ModelFrame) -> int:
        return self._once("frame", self.frames, asdict(frame))

    def monitor(self, monitor: Monitor) -> int:
        return self._once("monitor", self.monitors, {**asdict(monitor), "text": monitor.describe()})

    def _once(self, kind: str, table: list[Json], value: Json) -> int:
        key = json.dumps([kind, value], sort_keys=True)
        if (found := self._keyed.get(key)) is None:
            found = self._keyed[key] = len(table)
            table.append(value)
        return found


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix of ``a`` and ``b`` (slice comparisons, not a char loop)."""
    low, high = 0, min(len(a), len(b))
    while low < high:  # a[:low] == b[:low]; the answer is at most high
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _page_data(trajectory: Trajectory) -> Json:
    meta = trajectory.meta
    shared = _Shared()
    clamp = bool(meta.settings.get("clamp"))
    pointer: Point | None = None  # where the pointer was left, in screen coordinates
    steps = []
    for step in trajectory.steps:
        record, pointer = _step(step, shared, clamp, pointer)
        steps.append(record)
    recordings = sorted({s.replay.recording for s in trajectory.steps if s.replay})
    replay_of = meta.settings.get("replay_of")
    return {
        "meta": {
            "instruction": shared.text(meta.instruction),
            "model": meta.model,
            "backend": meta.backend,
            "style": meta.style,
            "status": meta.status,
            "message": shared.text(meta.message or ""),
            "steps": len(trajectory.steps),
            "recorded_steps": meta.steps,
            "started_at": meta.started_at,
            "ended_at": meta.ended_at,
            "monitor": meta.monitor.monitor().describe(),
            "min_pixels": meta.min_pixels,
            "max_pixels": meta.max_pixels,
            "replay_of": str(replay_of) if replay_of else (", ".join(recordings) or None),
            "truncated": trajectory.truncated,
            "schema_version": meta.schema_version,
        },
        "texts": shared.texts,
        "frames": shared.frames,
        "monitors": shared.monitors,
        "steps": steps,
    }


def _status(step: StepRecord) -> str:
    """The filmstrip marker: interrupted, diverged, refused, error, regrounded or ok."""
    error = step.error or ""
    if step.interrupted:
        return "interrupted"
    if step.replay is not None and step.replay.verdict == "diverged":
        return "diverged"
    if error.startswith(("Refused", "OutOfBounds", "LoopDetected")) or any(
        "refus" in v.lower() or "declined" in v.lower() for v in step.verdicts
    ):
        return "refused"
    if error:
        return "error"
    if step.replay is not None and step.replay.verdict == "re-grounded":
        return "regrounded"
    return "ok"


def _step(
    step: StepRecord, shared: _Shared, clamp: bool, pointer: Point | None
) -> tuple[Json, Point | None]:
    frame = step.frame.frame() if step.frame else None
    monitor = step.monitor.monitor() if step.monitor else None
    markers: list[Json] = []
    actions: list[Json] = []
    for i in range(max(len(step.parsed), len(step.executed))):
        executed = step.executed[i] if i < len(step.executed) else None
        parsed = step.parsed[i] if i < len(step.parsed) else None
        result = step.results[i] if i < len(step.results) else None
        actions.append(
            {
                "parsed": shared.text(_describe(parsed)) if parsed else None,
                "executed": shared.text(_describe(executed)) if executed else None,
                "result": _result(result),
                "conversion": [
                    [shared.text(row) for row in _conversion(p, frame, monitor, executed, clamp)]
                    for p in (points_of(parsed) if parsed else [])
                ],
            }
        )
        if executed is None:
            continue
        ran = result is not None and result.ok
        marker = _marker(executed, step, pointer) if frame and monitor else None
        if marker is not None:
            markers.append({**marker, "action": i, "ran": ran})
        if pointer is not None and _acts_at_pointer(executed):
            actions[-1]["pointer"] = (
                f"acts where the pointer was: screen {_xy(pointer)}, where the last action that "
                "ran left it (inferred, not recorded)"
            )
        if ran:
            pointer = next(reversed(points_of(executed)), pointer)
    for n, target in enumerate(step.targets):
        if target.box is not None:
            label = target.description or target.verb
            markers.append({"kind": "target", "target": n, "box": list(target.box), "label": label})
    record: Json = {
        "index": step.index,
        "status": _status(step),
        "screenshot": step.screenshot,
        "after": step.after_screenshot,
        "frame": shared.frame(frame) if frame else None,
        "monitor": shared.monitor(monitor) if monitor else None,
        "source": step.source,
        "prompt": [
            {
                "role": turn.role,
                "parts": [
                    shared.text(p) if isinstance(p, str) else {"image": p.get("image", "")}
                    for p in turn.content
                ],
            }
            for turn in step.prompt
        ],
        "raw": shared.text(step.raw_output),
        "actions": actions,
        "markers": markers,
        "verdicts": [shared.text(v) for v in step.verdicts],
        "error": shared.text(step.error) if step.error is not None else None,
        "released": step.released,
        "timings": {phase: round(s * 1000, 1) for phase, s in step.timings.items()},
        "tokens": [step.prompt_tokens, step.completion_tokens],
        "targets": [_target(t, shared, clamp, monitor) for t in step.targets],
        "replay": step.replay.model_dump(mode="json") if step.replay else None,
        "interrupted": step.interrupted,
    }
    return record, pointer


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _xy(point: Point) -> str:
    return f"({_num(point.x)}, {_num(point.y)})"


def _where(point: Point | None) -> str:
    if point is None:
        return "where the pointer is"
    if point.space is CoordinateSpace.SCREEN:
        return f"screen {_xy(point)}"
    return f"{point.space.value} {_xy(point)}"


def _describe(action: Action) -> str:
    """One action as a line of text, its points with their space."""
    if isinstance(action, Click):
        verb = {1: "click", 2: "double click", 3: "triple click"}[action.count]
        if action.button != "left":
            verb = f"{action.button} {verb}"
        return f"{verb} at {_where(action.point)}"
    if isinstance(action, Drag):
        return f"drag from {_where(action.start)} to {_where(action.end)}"
    if isinstance(action, Scroll):
        return f"scroll {action.direction} {action.amount} at {_where(action.point)}"
    if isinstance(action, MouseMove):
        return f"move the pointer to {_where(action.point)}"
    if isinstance(action, TypeText):
        return f"type {json.dumps(action.text, ensure_ascii=False)}"
    if isinstance(action, KeyPress):
        return "press " + "+".join(action.keys)
    if isinstance(action, Wait):
        return f"wait {action.seconds:g} s"
    assert isinstance(action, Terminate)
    return f"terminate: {action.status}" + (f" ({action.message})" if action.message else "")


def _result(result: ActionResult | None) -> str | None:
    if result is None:
        return None
    took = f"{result.duration_s * 1000:.1f} ms"
    return f"ok, {took}" if result.ok else f"error: {result.error or 'not carried out'} ({took})"


def _conversion(
    point: Point,
    frame: ModelFrame | None,
    monitor: Monitor | None,
    executed: Action | None,
    clamp: bool,
) -> list[str]:
    """The steps from a parsed point to the screen point, each as one line."""
    done = points_of(executed) if executed is not None else []
    if point.space is CoordinateSpace.SCREEN:
        return [f"already a screen point {_xy(point)}: nothing to convert"]
    if frame is None or monitor is None:
        return [f"{_where(point)}: no frame or monitor recorded, no conversion"]
    extent = (
        f"in a {frame.width}x{frame.height} frame"
        if point.space is CoordinateSpace.RESIZED
        else f"of the {frame.width}x{frame.height} frame"
    )
    fx, fy = frame.fraction(point)
    cx, cy = fx * frame.source_width, fy * frame.source_height
    ux, uy = cx / monitor.scale + monitor.left, cy / monitor.scale + monitor.top
    rows = [
        f"model point: {point.space.value} {_xy(point)} {extent}",
        f"fraction of the frame: ({fx:.4f}, {fy:.4f})",
        f"capture pixels: ({cx:.1f}, {cy:.1f}) of the {frame.source_width}x"
        f"{frame.source_height} capture",
        f"screen: ({cx:.1f} ÷ {monitor.scale:g} + {monitor.left}, {cy:.1f} ÷ {monitor.scale:g}"
        f" + {monitor.top}) = ({ux:.1f}, {uy:.1f})",
    ]
    try:
        screen = to_screen(point, frame, monitor, clamp=clamp)
    except OutOfBounds as exc:
        return [*rows, f"refused: {exc}"]
    rows.append(f"screen point (to_screen, rounded{', clamped' if clamp else ''}): {_xy(screen)}")
    if executed is not None and screen.xy() not in [p.xy() for p in done]:
        rows.append(f"executed instead: {', '.join(_xy(p) for p in done) or 'no point'}")
    return rows


def _acts_at_pointer(action: Action) -> bool:
    if isinstance(action, Drag):
        return action.start is None
    return isinstance(action, Click | Scroll) and action.point is None


def _marker(action: Action, step: StepRecord, pointer: Point | None) -> Json | None:
    """What to draw for an executed action, in capture pixels (None: nothing to draw)."""

    def at(point: Point | None) -> Json | None:
        spot = point or pointer
        if spot is None:
            return None
        x, y = step.capture_pixel(spot)
        return {"x": round(x, 2), "y": round(y, 2), "inferred": point is None}

    if isinstance(action, Drag):
        return {"kind": "drag", "start": at(action.start), "end": at(action.end)}
    if not isinstance(action, Click | Scroll | MouseMove):
        return None
    spot = at(action.point)
    if spot is None:
        return None
    if isinstance(action, Scroll):
        return {"kind": "scroll", "direction": action.direction, "amount": action.amount, **spot}
    if isinstance(action, MouseMove):
        return {"kind": "move", **spot}
    return {"kind": "click", "button": action.button, "count": action.count, **spot}


def _target(target: TargetRecord, shared: _Shared, clamp: bool, monitor: Monitor | None) -> Json:
    model_point = target.model_point
    frame = target.frame.frame() if target.frame else None
    conversion = (
        [shared.text(r) for r in _conversion(model_point, frame, monitor, None, clamp)]
        if model_point is not None
        else []
    )
    return {
        "verb": target.verb,
        "description": shared.text(target.description or ""),
        "located_by": target.located_by,
        "cache": target.cache,
        "score": target.score,
        "outcome": shared.text(target.outcome or ""),
        "box": list(target.box) if target.box else None,
        "conversion": conversion,
    }
