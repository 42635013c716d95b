"""The ScreenSpot metric, exactly as the papers count it, and the summary of a run.

A prediction is **correct** iff its point lies inside the ground-truth box, bounds inclusive
(``x1 <= x <= x2 and y1 <= y <= y2``, image pixels); a box answer counts by its centre. Answers
that could not be read (``parse_error``) or were empty (``empty``) are wrong and stay in every
denominator; ``infra_error`` records (the backend failed, no answer) are left out of every
denominator and counted apart.

Other targets (OSWorld-G): a ``polygon`` target is hit when the point lies in the polygon
(:func:`~agent.evaluation.shapes.in_polygon`, edges included); a ``refusal`` target is right only
when the answer **declines** (no point, or a point with both coordinates negative, the official
scorer's "no element"), and any point is wrong. A declined answer is recorded as such
(``declined``); for a box or polygon it is wrong as before.

Averages, both reported and labelled, because the papers disagree (FACTS §3):

* **micro**: correct / scored over all samples (UI-TARS, OS-Atlas, the ScreenSpot-Pro harness);
* **macro**: the mean of the accuracies of the platform x ui_type cells that have scored
  samples (SeeClick, UGround, ShowUI: the mean of the 6 ScreenSpot columns).

An empty selection has accuracy 0.0 (as the official harness writes it) and the Wilson interval
(0.0, 1.0), the limit of the formula as n -> 0: nothing is known.

Target size buckets, by the box's area as a fraction of the image's: ``<0.1%`` (f < 0.001),
``0.1-1%`` (0.001 <= f < 0.01), ``1-5%`` (0.01 <= f < 0.05), ``>=5%`` (f >= 0.05).

OSWorld-G, UI-Vision and MMBench-GUI records also get their benchmark's own keys
(:mod:`agent.evaluation.leaderboards`). When any record has a ScreenSpot-Pro ``group``,
``summary["screenspot_pro"]`` holds what the official harness writes as its ``metrics``
object, over those records, with its key names: read from
likaixin2000/ScreenSpot-Pro-GUI-Grounding ``eval_screenspot_pro.py`` (commit d66d7a8):
``evaluate()`` fills ``metrics["fine_grained"]`` (keys ``"plat:{platform} app:{application}
inst_style:{inst_style} gt_type:{gt_type}"``), ``["seeclick_style"]`` (``"plat:{platform}
inst_style:{inst_style} gt_type:{gt_type}"``), ``["leaderboard_simple_style"]``
(``"group:{group}"``), ``["leaderboard_detailed_style"]`` (``"app:{application}"``) and
``["overall"]``; each value is ``calc_metric_for_result_list``'s ``num_correct_action,
num_total, wrong_format_num, action_acc, text_acc, icon_acc`` (a text/icon accuracy with no such
sample is 0). We run the positive ground truth with the ``instruction`` style only, so those are
the ``inst_style`` and ``gt_type`` in the keys; its ``wrong_format`` is our parse_error + empty.
Keys are sorted here (the harness iterates sets).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from agent.evaluation.leaderboards import leaderboard_lines, leaderboards
from agent.evaluation.outcomes import STATUSES, ResultRecord
from agent.evaluation.shapes import in_polygon

__all__ = [
    "Box",
    "SIZE_BUCKETS",
    "centre",
    "distance_to_box",
    "inside",
    "judge",
    "judge_target",
    "markdown_table",
    "size_bucket",
    "summarize",
    "wilson",
]

Box = tuple[float, float, float, float]
"""x1, y1, x2, y2 in image pixels, bounds inclusive."""
_PRO_INST_STYLE = "instruction"
_PRO_GT_TYPE = "positive"
SIZE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<0.1%", 0.001),
    ("0.1-1%", 0.01),
    ("1-5%", 0.05),
    (">=5%", math.inf),
)
"""(label, upper bound, exclusive) of the box area as a fraction of the image area."""


def inside(point: tuple[float, float], box: Box) -> bool:
    """Whether ``point`` lies in ``box`` (x1, y1, x2, y2), bounds inclusive."""
    x, y = point
    x1, y1, x2, y2 = box
    return x1 <= x <= x2 and y1 <= y <= y2


def centre(box: Box) -> tuple[float, float]:
    """The centre of a box (x1, y1, x2, y2)."""
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def judge(
    point: tuple[float, float] | None, answer_box: Box | None, box: Box
) -> Literal["correct", "wrong"] | None:
    """The verdict on one answer against the ground-truth ``box``: a box answer by its centre
    (it wins over ``point``), else the point. None when there is neither: the harness tells
    ``parse_error`` from ``empty``."""
    if answer_box is not None:
        point = centre(answer_box)
    if point is None:
        return None
    return "correct" if inside(point, box) else "wrong"


def judge_target(
    point: tuple[float, float] | None,
    *,
    target: Literal["box", "polygon", "refusal"],
    box: Box,
    polygon: Sequence[float] | None = None,
) -> Literal["correct", "wrong"]:
    """The verdict on an answer's ``point`` (None: the answer declined) for any target."""
    if target == "refusal":
        return "correct" if point is None or (point[0] < 0 and point[1] < 0) else "wrong"
    if point is None:
        return "wrong"
    if target == "polygon" and polygon is not None:
        return "correct" if in_polygon(point, polygon) else "wrong"
    return "correct" if inside(point, box) else "wrong"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` trials (z = 1.96: 95%).

    ``n == 0`` gives (0.0, 1.0), the formula's limit: nothing is known."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"wilson needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    middle = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return (max(0.0, middle - half), min(1.0, middle + half))


def distance_to_box(point: tuple[float, float], box: Box) -> float:
    """0 inside ``box`` (bounds included), else the Euclidean distance to its nearest point."""
    x, y = point
    x1, y1, x2, y2 = box
    dx = max(x1 - x, 0.0, x - x2)
    dy = max(y1 - y, 0.0, y - y2)
    return math.hypot(dx, dy)


def size_bucket(box: Box, image_size: tuple[int, int]) -> str:
    """The target-size label of ``box`` in an image of ``image_size`` (see SIZE_BUCKETS)."""
    area = max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
    image_area = image_size[0] * image_size[1]
    fraction = area / image_area if image_area > 0 else math.inf
    return next(label for label, upper in SIZE_BUCKETS if fraction < upper)


def _accuracy(k: int, n: int) -> float:
    return k / n if n else 0.0


def _cell(records: Sequence[ResultRecord]) -> dict[str, Any]:
    n = len(records)
    k = sum(r.status == "correct" for r in records)
    lo, hi = wilson(k, n)
    return {"n": n, "correct": k, "accuracy": _accuracy(k, n), "ci95": [lo, hi]}


def _by(
    records: Iterable[ResultRecord], key: Callable[[ResultRecord], str]
) -> dict[str, list[ResultRecord]]:
    groups: dict[str, list[ResultRecord]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return groups


def _answer_point(record: ResultRecord) -> tuple[float, float] | None:
    if record.answer_box is not None:
        return centre(record.answer_box)
    return record.point


def _pro_metrics(records: Sequence[ResultRecord]) -> dict[str, Any]:
    """``calc_metric_for_result_list`` of the official ScreenSpot-Pro harness."""
    text = [r for r in records if r.ui_type == "text"]
    icon = [r for r in records if r.ui_type == "icon"]

    def correct(rs: Sequence[ResultRecord]) -> int:
        return sum(r.status == "correct" for r in rs)

    return {
        "num_correct_action": correct(records),
        "num_total": len(records),
        "wrong_format_num": sum(r.status in ("parse_error", "empty") for r in records),
        "action_acc": _accuracy(correct(records), len(records)),
        "text_acc": _accuracy(correct(text), len(text)),
        "icon_acc": _accuracy(correct(icon), len(icon)),
    }


def _pro_breakdowns(records: Sequence[ResultRecord]) -> dict[str, Any]:
    tail = f"inst_style:{_PRO_INST_STYLE} gt_type:{_PRO_GT_TYPE}"

    def table(key: Callable[[ResultRecord], str]) -> dict[str, Any]:
        groups = _by(records, key)
        return {name: _pro_metrics(groups[name]) for name in sorted(groups)}

    return {
        "fine_grained": table(lambda r: f"plat:{r.platform} app:{r.application} {tail}"),
        "seeclick_style": table(lambda r: f"plat:{r.platform} {tail}"),
        "leaderboard_simple_style": table(lambda r: f"group:{r.group}"),
        "leaderboard_detailed_style": table(lambda r: f"app:{r.application}"),
        "overall": _pro_metrics(records),
    }


def summarize(records: Sequence[ResultRecord]) -> dict[str, Any]:
    """The content of ``summary.json`` for a run's records (see the module docstring).

    Keys: ``samples`` (all records), ``infra_errors`` (not scored), ``scored``, ``correct``,
    ``accuracy`` (``micro``, ``micro_ci95``, ``macro``, ``macro_cells`` and what each means),
    ``by_cell`` (``"platform/ui_type"``), ``by_platform``, ``by_ui_type``, ``by_target_size``
    (each entry ``n, correct, accuracy, ci95``), ``statuses`` (a count per status),
    ``wrong_format_num`` (parse_error + empty), ``distance_px`` (of the wrong answers with a
    point to their box: ``n, median, mean``, None without any) and, when a record has a
    ScreenSpot-Pro group, ``screenspot_pro`` (the official harness's ``metrics``)."""
    statuses = Counter(r.status for r in records)
    scored = [r for r in records if r.status != "infra_error"]
    correct = sum(r.status == "correct" for r in scored)
    cells = _by(scored, lambda r: f"{r.platform}/{r.ui_type}")
    by_cell = {name: _cell(cells[name]) for name in sorted(cells)}
    macro = statistics.fmean(c["accuracy"] for c in by_cell.values()) if by_cell else 0.0
    platforms = _by(scored, lambda r: r.platform)
    ui_types = _by(scored, lambda r: r.ui_type)
    located = [r for r in scored if r.target != "refusal"]
    sizes = _by(located, lambda r: size_bucket(r.box, r.image_size))
    distances = [
        distance_to_box(p, r.box)
        for r in located
        if r.status == "wrong" and (p := _answer_point(r)) is not None
    ]
    lo, hi = wilson(correct, len(scored))
    summary: dict[str, Any] = {
        "samples": len(records),
        "infra_errors": statuses["infra_error"],
        "scored": len(scored),
        "correct": correct,
        "accuracy": {
            "micro": _accuracy(correct, len(scored)),
            "micro_ci95": [lo, hi],
            "macro": macro,
            "macro_cells": len(by_cell),
            "micro_is": "correct / scored samples (UI-TARS, OS-Atlas, ScreenSpot-Pro harness)",
            "macro_is": "mean accuracy of the platform x ui_type cells with samples "
            "(SeeClick, UGround)",
        },
        "by_cell": by_cell,
        "by_platform": {name: _cell(platforms[name]) for name in sorted(platforms)},
        "by_ui_type": {name: _cell(ui_types[name]) for name in sorted(ui_types)},
        "by_target_size": {
            label: _cell(sizes[label]) for label, _ in SIZE_BUCKETS if label in sizes
        },
        "statuses": {status: statuses[status] for status in STATUSES},
        "wrong_format_num": statuses["parse_error"] + statuses["empty"],
        "declined": sum(r.declined for r in scored),
        "distance_px": {
            "n": len(distances),
            "median": statistics.median(distances) if distances else None,
            "mean": statistics.fmean(distances) if distances else None,
        },
    }
    pro = [r for r in scored if r.group is not None]
    if pro:
        summary["screenspot_pro"] = _pro_breakdowns(pro)
    summary.update(leaderboards(scored))
    return summary


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _row(name: str, cell: dict[str, Any]) -> str:
    lo, hi = cell["ci95"]
    return (
        f"| {name} | {cell['n']} | {cell['correct']} | {_pct(cell['accuracy'])} "
        f"| {_pct(lo)} - {_pct(hi)} |"
    )


def markdown_table(summary: dict[str, Any]) -> str:
    """The summary as Markdown: one row per platform/ui_type cell, then the micro and macro
    averages, labelled, with n and the 95% Wilson interval; then, when present, the
    ScreenSpot-Pro table by group (text, icon, average as its leaderboard shows them)."""
    accuracy = summary["accuracy"]
    lines = [
        "| cell | n | correct | accuracy | 95% CI |",
        "|---|---:|---:|---:|---|",
        *(_row(name, cell) for name, cell in summary["by_cell"].items()),
        _row(
            "**micro** (per sample)",
            {
                "n": summary["scored"],
                "correct": summary["correct"],
                "accuracy": accuracy["micro"],
                "ci95": accuracy["micro_ci95"],
            },
        ),
        f"| **macro** (mean of {accuracy['macro_cells']} cells) | {accuracy['macro_cells']} "
        f"cells | - | {_pct(accuracy['macro'])} | - |",
    ]
    notes = [f"parse errors and empty answers (wrong): {summary['wrong_format_num']}"]
    if summary["infra_errors"]:
        notes.append(f"infrastructure errors (not scored): {summary['infra_errors']}")
    if "osworld_g" in summary:  # the only benchmark with refusal items
        notes.append(f"declined answers (right only for refusal items): {summary['declined']}")
    lines += ["", *notes]
    if own := leaderboard_lines(summary):
        lines += ["", *own]
    pro = summary.get("screenspot_pro")
    if pro:
        lines += [
            "",
            "| ScreenSpot-Pro group | text | icon | avg | n | wrong format |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        entries = [
            (name.removeprefix("group:"), m) for name, m in pro["leaderboard_simple_style"].items()
        ]
        entries.append(("**overall**", pro["overall"]))
        lines += [
            f"| {name} | {_pct(m['text_acc'])} | {_pct(m['icon_acc'])} | {_pct(m['action_acc'])} "
            f"| {m['num_total']} | {m['wrong_format_num']} |"
            for name, m in entries
        ]
    return "\n".join(lines) + "\n"
