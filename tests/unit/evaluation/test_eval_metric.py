"""The ScreenSpot metric: bounds inclusive, box answers by centre, micro vs macro computed by hand,
parse errors in the denominator, infra errors apart, Wilson intervals, the Pro breakdowns."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from agent.evaluation.metric import (
    distance_to_box,
    inside,
    judge,
    markdown_table,
    size_bucket,
    summarize,
    wilson,
)
from agent.evaluation.outcomes import ResultRecord, Status

BOX = (10.0, 20.0, 30.0, 40.0)
_numbers = itertools.count()


def record(
    platform: str,
    ui_type: str,
    status: Status,
    point: tuple[float, float] | None = None,
    *,
    box: tuple[float, float, float, float] = (100.0, 100.0, 200.0, 200.0),
    answer_box: tuple[float, float, float, float] | None = None,
    **fields: Any,
) -> ResultRecord:
    index = next(_numbers)
    return ResultRecord(
        id=f"s{index}",
        annotation="a.json",
        index=index,
        image="x.png",
        image_size=(1000, 1000),
        instruction="click it",
        box=box,
        platform=platform,
        ui_type=ui_type,
        prompt="grounding",
        point=point,
        answer_box=answer_box,
        status=status,
        **fields,
    )


# --- correctness ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "point",
    [(10, 20), (30, 20), (10, 40), (30, 40), (20, 20), (20, 40), (10, 30), (30, 30), (20, 30)],
)
def test_corners_and_edges_are_inside(point: tuple[float, float]) -> None:
    assert inside(point, BOX)
    assert judge(point, None, BOX) == "correct"
    assert distance_to_box(point, BOX) == 0.0


@pytest.mark.parametrize(
    "point", [(9, 30), (31, 30), (20, 19), (20, 41), (9, 19), (31, 41), (29.5, 40.01)]
)
def test_one_pixel_out_is_wrong(point: tuple[float, float]) -> None:
    assert not inside(point, BOX)
    assert judge(point, None, BOX) == "wrong"


def test_a_box_answer_counts_by_its_centre() -> None:
    assert judge(None, (0, 0, 20, 40), BOX) == "correct"  # centre (10, 20): the corner
    assert judge(None, (0, 0, 18, 40), BOX) == "wrong"  # centre (9, 20)
    assert judge((20, 30), (0, 0, 18, 40), BOX) == "wrong"  # the box wins over a point
    assert judge(None, (11, 21, 29, 39), BOX) == "correct"
    assert judge(None, None, BOX) is None  # the harness tells parse_error from empty


def test_distance_to_the_nearest_point_of_the_box() -> None:
    assert distance_to_box((7, 30), BOX) == 3.0  # left of it
    assert distance_to_box((20, 45), BOX) == 5.0  # below it
    assert distance_to_box((33, 44), BOX) == 5.0  # off the corner (30, 40): 3-4-5
    assert distance_to_box((6, 17), BOX) == 5.0  # off the corner (10, 20): 4-3-5


def test_wilson_interval() -> None:
    lo, hi = wilson(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)
    lo, hi = wilson(0, 5)
    assert lo == 0.0 and hi == pytest.approx(0.4345, abs=1e-4)
    lo, hi = wilson(5, 5)
    assert lo == pytest.approx(0.5655, abs=1e-4) and hi == 1.0
    assert wilson(0, 0) == (0.0, 1.0)  # nothing known
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_size_buckets_by_area_fraction() -> None:
    size = (1000, 1000)  # area 1e6
    assert size_bucket((0, 0, 10, 99.9), size) == "<0.1%"  # 999 px
    assert size_bucket((0, 0, 10, 100), size) == "0.1-1%"  # 1000 px = 0.1%
    assert size_bucket((0, 0, 99, 100), size) == "0.1-1%"
    assert size_bucket((0, 0, 100, 100), size) == "1-5%"  # 1%
    assert size_bucket((0, 0, 500, 100), size) == ">=5%"  # 5%
    assert size_bucket((5, 5, 5, 5), size) == "<0.1%"


# --- the summary ----------------------------------------------------------------------------

WHOLE = (0.0, 0.0, 500.0, 500.0)  # 25% of the image: ">=5%"
TINY = (0.0, 0.0, 10.0, 10.0)  # 0.01%: "<0.1%"


def run() -> list[ResultRecord]:
    """12 scored records over 3 platforms x 2 types, plus 2 infra errors.

    cell            answers                          accuracy
    mobile/text     correct, correct, wrong          2/3
    mobile/icon     parse_error                      0/1
    desktop/text    correct, correct                 2/2
    desktop/icon    correct, empty                   1/2
    web/text        correct, wrong                   1/2
    web/icon        wrong, wrong                     0/2
    micro = 6/12 = 0.5; macro = (2/3 + 0 + 1 + 1/2 + 1/2 + 0) / 6 = (8/3) / 6 = 4/9 = 0.444...
    The other boxes are (100, 100, 200, 200) = 1% of the image ("1-5%"); the wrong answers
    lie 10, 50, 100 and 20 px from it: median 35, mean 45.
    """
    return [
        record("mobile", "text", "correct", (150, 150)),
        record("mobile", "text", "correct", (100, 200)),
        record("mobile", "text", "wrong", (100, 90)),  # 10 px above
        record("mobile", "icon", "parse_error", raw="click somewhere"),
        record("mobile", "icon", "infra_error", error="server down"),
        record("desktop", "text", "correct", (250, 250), box=WHOLE),
        record("desktop", "text", "correct", (0, 0), box=WHOLE),
        record("desktop", "icon", "correct", (5, 5), box=TINY),
        record("desktop", "icon", "empty", box=TINY),
        record("web", "text", "correct", (199, 101)),
        record("web", "text", "wrong", (230, 240)),  # (30, 40) off the corner: 50 px
        record("web", "icon", "wrong", (0, 150)),  # 100 px left
        record("web", "icon", "wrong", None, answer_box=(190, 210, 210, 230)),  # centre 20 below
        record("web", "icon", "infra_error", error="timeout"),
    ]


def test_micro_and_macro_by_hand() -> None:
    summary = summarize(run())
    assert (summary["samples"], summary["infra_errors"], summary["scored"]) == (14, 2, 12)
    assert summary["correct"] == 6
    accuracy = summary["accuracy"]
    assert accuracy["micro"] == 0.5
    assert accuracy["macro"] == pytest.approx(4 / 9)
    assert accuracy["macro_cells"] == 6
    assert "per sample" not in accuracy["macro_is"] and "cells" in accuracy["macro_is"]
    # Wilson(6, 12): (0.5 + 0.16007) / 1.32013 -+ 1.96 * sqrt(0.02083 + 0.00667) / 1.32013
    assert accuracy["micro_ci95"] == pytest.approx([0.2538, 0.7462], abs=1e-4)


def test_cells_platforms_and_types() -> None:
    summary = summarize(run())
    cells = {name: (c["n"], c["correct"]) for name, c in summary["by_cell"].items()}
    assert cells == {
        "desktop/icon": (2, 1),
        "desktop/text": (2, 2),
        "mobile/icon": (1, 0),  # the parse error counts, the infra error does not
        "mobile/text": (3, 2),
        "web/icon": (2, 0),
        "web/text": (2, 1),
    }
    assert list(summary["by_cell"]) == sorted(cells)
    assert summary["by_cell"]["mobile/text"]["accuracy"] == pytest.approx(2 / 3)
    assert summary["by_cell"]["desktop/icon"]["ci95"] == pytest.approx([0.0945, 0.9055], abs=1e-4)
    platforms = {name: (c["n"], c["correct"]) for name, c in summary["by_platform"].items()}
    assert platforms == {"desktop": (4, 3), "mobile": (4, 2), "web": (4, 1)}
    types = {name: (c["n"], c["correct"]) for name, c in summary["by_ui_type"].items()}
    assert types == {"icon": (5, 1), "text": (7, 5)}


def test_statuses_wrong_format_and_distances() -> None:
    summary = summarize(run())
    assert summary["statuses"] == {
        "correct": 6,
        "wrong": 4,
        "parse_error": 1,
        "empty": 1,
        "infra_error": 2,
    }
    assert summary["wrong_format_num"] == 2
    assert summary["distance_px"] == {"n": 4, "median": 35.0, "mean": 45.0}


def test_accuracy_by_target_size() -> None:
    sizes = summarize(run())["by_target_size"]
    assert list(sizes) == ["<0.1%", "1-5%", ">=5%"]  # the empty bucket is left out
    assert {k: (v["n"], v["correct"]) for k, v in sizes.items()} == {
        "<0.1%": (2, 1),
        "1-5%": (8, 3),
        ">=5%": (2, 2),
    }


def test_nothing_scored() -> None:
    summary = summarize([record("web", "text", "infra_error")])
    assert (summary["samples"], summary["scored"], summary["infra_errors"]) == (1, 0, 1)
    assert summary["accuracy"]["micro"] == 0.0
    assert summary["accuracy"]["micro_ci95"] == [0.0, 1.0]
    assert summary["by_cell"] == {}
    assert summary["distance_px"] == {"n": 0, "median": None, "mean": None}
    assert "screenspot_pro" not in summary


def test_markdown_table_lines() -> None:
    lines = markdown_table(summarize(run())).splitlines()
    assert lines == [
        "| cell | n | correct | accuracy | 95% CI |",
        "|---|---:|---:|---:|---|",
        "| desktop/icon | 2 | 1 | 50.0% | 9.5% - 90.5% |",
        "| desktop/text | 2 | 2 | 100.0% | 34.2% - 100.0% |",
        "| mobile/icon | 1 | 0 | 0.0% | 0.0% - 79.3% |",
        "| mobile/text | 3 | 2 | 66.7% | 20.8% - 93.9% |",
        "| web/icon | 2 | 0 | 0.0% | 0.0% - 65.8% |",
        "| web/text | 2 | 1 | 50.0% | 9.5% - 90.5% |",
        "| **micro** (per sample) | 12 | 6 | 50.0% | 25.4% - 74.6% |",
        "| **macro** (mean of 6 cells) | 6 cells | - | 44.4% | - |",
        "",
        "parse errors and empty answers (wrong): 2",
        "infrastructure errors (not scored): 2",
    ]


# --- ScreenSpot-Pro -------------------------------------------------------------------------


def pro_run() -> list[ResultRecord]:
    """Six scored Pro records, one infra error, and one ScreenSpot v2 record without a group.

    vscode / windows / Dev:          text correct, icon wrong, text parse_error
    photoshop / windows / Creative:  icon correct
    photoshop / macos / Creative:    text wrong, icon empty
    """

    def pro(app: str, plat: str, group: str, ui: str, status: Status) -> ResultRecord:
        points = {"correct": (150.0, 150.0), "wrong": (0.0, 0.0)}
        return record(plat, ui, status, points.get(status), group=group, application=app)

    return [
        pro("vscode", "windows", "Dev", "text", "correct"),
        pro("vscode", "windows", "Dev", "icon", "wrong"),
        pro("vscode", "windows", "Dev", "text", "parse_error"),
        pro("vscode", "windows", "Dev", "icon", "infra_error"),
        pro("photoshop", "windows", "Creative", "icon", "correct"),
        pro("photoshop", "macos", "Creative", "text", "wrong"),
        pro("photoshop", "macos", "Creative", "icon", "empty"),
        record("web", "text", "correct", (150, 150)),
    ]


def metrics(correct: int, total: int, wrong_format: int, text: float, icon: float) -> Any:
    return {
        "num_correct_action": correct,
        "num_total": total,
        "wrong_format_num": wrong_format,
        "action_acc": pytest.approx(correct / total),
        "text_acc": pytest.approx(text),
        "icon_acc": pytest.approx(icon),
    }


def test_pro_breakdowns_under_the_official_key_names() -> None:
    pro = summarize(pro_run())["screenspot_pro"]
    assert list(pro) == [
        "fine_grained",
        "seeclick_style",
        "leaderboard_simple_style",
        "leaderboard_detailed_style",
        "overall",
    ]
    tail = "inst_style:instruction gt_type:positive"
    assert pro["leaderboard_simple_style"] == {
        "group:Creative": metrics(1, 3, 1, text=0.0, icon=1 / 2),
        "group:Dev": metrics(1, 3, 1, text=1 / 2, icon=0.0),
    }
    assert pro["leaderboard_detailed_style"] == {
        "app:photoshop": metrics(1, 3, 1, text=0.0, icon=1 / 2),
        "app:vscode": metrics(1, 3, 1, text=1 / 2, icon=0.0),
    }
    assert pro["seeclick_style"] == {
        f"plat:macos {tail}": metrics(0, 2, 1, text=0.0, icon=0.0),
        f"plat:windows {tail}": metrics(2, 4, 1, text=1 / 2, icon=1 / 2),
    }
    assert pro["fine_grained"] == {
        f"plat:macos app:photoshop {tail}": metrics(0, 2, 1, text=0.0, icon=0.0),
        f"plat:windows app:photoshop {tail}": metrics(1, 1, 0, text=0.0, icon=1.0),  # no text: 0
        f"plat:windows app:vscode {tail}": metrics(1, 3, 1, text=1 / 2, icon=0.0),
    }
    # the v2 record has no group and stays out; the infra error is not scored
    assert pro["overall"] == metrics(2, 6, 2, text=1 / 3, icon=1 / 3)


def test_pro_table_in_markdown() -> None:
    text = markdown_table(summarize(pro_run()))
    assert text.splitlines()[-6:] == [
        "",
        "| ScreenSpot-Pro group | text | icon | avg | n | wrong format |",
        "|---|---:|---:|---:|---:|---:|",
        "| Creative | 0.0% | 50.0% | 33.3% | 3 | 1 |",
        "| Dev | 50.0% | 0.0% | 33.3% | 3 | 1 |",
        "| **overall** | 33.3% | 33.3% | 33.3% | 6 | 2 |",
    ]
