"""The benchmarks' own summaries, under their own key names, beside ours in ``summary.json``.

``osworld_g`` (per annotation file stem, ``OSWorld-G`` / ``OSWorld-G_refined``): the
``GroundingEval`` figures as ports of the official scorer write them, ``Overall_Accuracy``
(correct / all items, refusals included: micro) and ``Format_Err_Rate`` (no point read on a box
or polygon item), with ``num_correct``, ``num_total`` and, when ``classification_result.json``
was found, ``classification``: per class (multi-label; ``unclassified`` for items it does not
name) ``num_correct, num_total, accuracy``.

``ui_vision``: per split (``basic``, ``functional``, ``spatial``) ``eval_uivision.py``'s
``num_correct_action, num_total, wrong_format_num, action_acc`` and ``Final Avg``, the mean of
the splits' ``action_acc`` (the README's "Final Avg"; over the splits present).

``mmbench_gui_l2``: ``l2_element_grounding.py``'s ``Basic accuracy``, ``Advanced accuracy``,
``Average accuracy`` (their mean, over the grounding types present) and per platform
``Total accuracy``, ``Icon accuracy``, ``Text accuracy`` (0 for a type without samples).
Format errors count as wrong in every denominator. Accuracies are fractions 0-1.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from agent.evaluation.outcomes import ResultRecord

__all__ = ["leaderboards", "leaderboard_lines"]

_UIV_SPLITS = ("basic", "functional", "spatial")
_MMB_TYPES = (("basic", "Basic accuracy"), ("advanced", "Advanced accuracy"))


def _acc(records: Sequence[ResultRecord]) -> float:
    return sum(r.status == "correct" for r in records) / len(records) if records else 0.0


def _by(
    records: Iterable[ResultRecord], key: Callable[[ResultRecord], str | None]
) -> dict[str, list[ResultRecord]]:
    groups: dict[str, list[ResultRecord]] = {}
    for record in records:
        name = key(record)
        if name is not None:
            groups.setdefault(name, []).append(record)
    return groups


def _format_errors(records: Sequence[ResultRecord]) -> int:
    return sum(r.status in ("parse_error", "empty") for r in records)


def _osworld(records: Sequence[ResultRecord]) -> dict[str, Any]:
    total = len(records)
    result: dict[str, Any] = {
        "Overall_Accuracy": _acc(records),
        "Format_Err_Rate": _format_errors(records) / total if total else 0.0,
        "num_correct": sum(r.status == "correct" for r in records),
        "num_total": total,
    }
    if any(r.categories is not None for r in records):
        classes: dict[str, list[ResultRecord]] = {}
        for record in records:
            for name in record.categories or ():
                classes.setdefault(name, []).append(record)
        result["classification"] = {
            name: {
                "num_correct": sum(r.status == "correct" for r in classes[name]),
                "num_total": len(classes[name]),
                "accuracy": _acc(classes[name]),
            }
            for name in sorted(classes)
        }
    return result


def _uivision(records: Sequence[ResultRecord]) -> dict[str, Any]:
    splits = _by(records, lambda r: r.split)
    order = [s for s in _UIV_SPLITS if s in splits] + sorted(set(splits) - set(_UIV_SPLITS))
    result: dict[str, Any] = {
        name: {
            "num_correct_action": sum(r.status == "correct" for r in splits[name]),
            "num_total": len(splits[name]),
            "wrong_format_num": _format_errors(splits[name]),
            "action_acc": _acc(splits[name]),
        }
        for name in order
    }
    accs = [result[name]["action_acc"] for name in order]
    result["Final Avg"] = statistics.fmean(accs) if accs else 0.0
    return result


def _mmbench(records: Sequence[ResultRecord]) -> dict[str, Any]:
    types = _by(records, lambda r: r.split)
    result: dict[str, Any] = {}
    present = [(name, key) for name, key in _MMB_TYPES if name in types]
    for name, key in present:
        result[key] = _acc(types[name])
    result["Average accuracy"] = (
        statistics.fmean(result[key] for _, key in present) if present else 0.0
    )
    platforms = _by(records, lambda r: r.platform)
    for platform in sorted(platforms):
        rs = platforms[platform]
        result[platform] = {
            "Total accuracy": _acc(rs),
            "Icon accuracy": _acc([r for r in rs if r.ui_type == "icon"]),
            "Text accuracy": _acc([r for r in rs if r.ui_type == "text"]),
        }
    return result


def leaderboards(records: Sequence[ResultRecord]) -> dict[str, Any]:
    """``osworld_g``, ``ui_vision``, ``mmbench_gui_l2`` for the scored records of those
    benchmarks present (see the module docstring); empty for ScreenSpot records."""
    benchmarks = _by(records, lambda r: r.benchmark)
    result: dict[str, Any] = {}
    if "osworld-g" in benchmarks:
        files = _by(benchmarks["osworld-g"], lambda r: r.split or r.annotation)
        result["osworld_g"] = {name: _osworld(files[name]) for name in sorted(files)}
    if "ui-vision" in benchmarks:
        result["ui_vision"] = _uivision(benchmarks["ui-vision"])
    if "mmbench-gui" in benchmarks:
        result["mmbench_gui_l2"] = _mmbench(benchmarks["mmbench-gui"])
    return result


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def leaderboard_lines(summary: dict[str, Any]) -> list[str]:
    """Markdown lines for the benchmarks' own headline numbers in ``summary`` (may be none)."""
    lines: list[str] = []
    for name, board in summary.get("osworld_g", {}).items():
        lines.append(
            f"- {name}: Overall_Accuracy {_pct(board['Overall_Accuracy'])} "
            f"({board['num_correct']} of {board['num_total']}), "
            f"Format_Err_Rate {_pct(board['Format_Err_Rate'])}"
        )
        for cls, cell in board.get("classification", {}).items():
            lines.append(f"  - {cls}: {_pct(cell['accuracy'])} of {cell['num_total']}")
    uiv = summary.get("ui_vision")
    if uiv:
        parts = [f"{k} {_pct(v['action_acc'])}" for k, v in uiv.items() if isinstance(v, dict)]
        lines.append(f"- UI-Vision: {', '.join(parts)}; Final Avg {_pct(uiv['Final Avg'])}")
    mmb = summary.get("mmbench_gui_l2")
    if mmb:
        parts = [f"{k} {_pct(v)}" for k, v in mmb.items() if isinstance(v, float)]
        lines.append(f"- MMBench-GUI L2: {', '.join(parts)}")
    return lines
