"""OSWorld-G, UI-Vision and MMBench-GUI L2 end to end: small held-out files in each format, a
scripted asker, :func:`evaluate`, and the hand-computed accuracies under each benchmark's own
keys in ``summary.json`` (and again after ``rescore``)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.evaluation.benchmarks import Sample, load_samples
from agent.evaluation.harness import Answer, evaluate
from agent.evaluation.report import write_report
from agent.evaluation.results import manifest_for, open_results, rescore
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.grounding.base import Located

Reply = tuple[float, float] | str  # a point in the pixels of the image, or a text without one


class ScriptedAsker:
    """Answers by instruction: a point (the frame is the image itself) or a bare text."""

    name = "scripted"

    def __init__(self, replies: dict[str, Reply]) -> None:
        self.replies = replies

    def ask(self, items: Sequence[tuple[Sample, Image.Image]]) -> list[Answer]:
        answers = []
        for sample, image in items:
            reply = self.replies[sample.instruction]
            frame = ModelFrame.identity(image.width, image.height)
            if isinstance(reply, str):
                answers.append(Answer(reply, None, frame, 0.0))
                continue
            point = Point(x=reply[0], y=reply[1], space=CoordinateSpace.RESIZED)
            answers.append(Answer(f"({reply[0]}, {reply[1]})", Located(point, frame), frame, 0.0))
        return answers


def png(root: Path, name: str, size: tuple[int, int]) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 200, 200)).save(path)


def run(files: list[Path], images: Path, out: Path, replies: dict[str, Reply]) -> dict[str, Any]:
    samples = load_samples(files, images)
    assert {s.instruction for s in samples} == set(replies)
    results = open_results(out, manifest_for({"model": "scripted"}, files, images))
    summary = evaluate(samples, results, [ScriptedAsker(replies)], prompt="grounding",
                       progress=io.StringIO(), backoff_s=0)  # fmt: skip
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    return summary


def status(out: Path) -> dict[str, tuple[str, bool]]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return {r["id"]: (r["status"], r["declined"]) for r in map(json.loads, lines)}


# --- OSWorld-G ------------------------------------------------------------------------------


def og(id: str, box_type: str, coords: list[float]) -> dict[str, Any]:
    return {"id": id, "image_path": "desk.png", "image_size": [200, 100], "instruction": id,
            "box_type": box_type, "box_coordinates": coords, "GUI_types": ["Button"]}  # fmt: skip


TRIANGLE = [100, 0, 200, 0, 100, 100]  # inside iff x >= 100, y >= 0, x + y <= 200


def test_osworld_g_and_its_refined_file(tmp_path: Path) -> None:
    root = tmp_path / "OSWorld-G"
    png(root / "images", "desk.png", (200, 100))
    main = root / "OSWorld-G.json"
    main.write_text(json.dumps([
        og("a", "bbox", [10, 10, 20, 20]),  # box 10..30: (20, 20) right
        og("b", "polygon", TRIANGLE),  # (190, 90): in its bounding box, not in it: wrong
        og("c", "polygon", TRIANGLE),  # (150, 50) on the hypotenuse: right
        og("d", "refusal", []),  # declines in words: right
        og("e", "refusal", []),  # a point: wrong
        og("f", "refusal", []),  # (-1, -1), "no element": right
        og("g", "bbox", [100, 50, 50, 50]),  # box 100..150 x 50..100; (0.6, 0.8) is read as
        og("h", "bbox", [10, 10, 20, 20]),  # fractions: (120, 80), right; h: garbage, wrong
    ]))  # fmt: skip
    refined = root / "OSWorld-G_refined.json"
    refined.write_text(json.dumps([
        {**og("a", "bbox", [10, 10, 20, 20]), "instruction": "refined a"},  # right
        {**og("b2", "refusal", []), "instruction": "refined b2"},  # a point: wrong
    ]))  # fmt: skip
    (root / "classification_result.json").write_text(json.dumps(
        {"text_matching": ["a", "c"], "layout": ["b", "c"], "refusal": ["d", "e", "f"]}
    ))  # fmt: skip
    replies: dict[str, Reply] = {
        "a": (20, 20), "b": (190, 90), "c": (150, 50), "d": "There is no such element.",
        "e": (50, 50), "f": (-1, -1), "g": (0.6, 0.8), "h": "somewhere on the left",
        "refined a": (20, 20), "refined b2": (5, 5),
    }  # fmt: skip
    out = tmp_path / "out"
    summary = run([main, refined], root / "images", out, replies)
    board = summary["osworld_g"]
    # OSWorld-G: a, c, d, f, g right of 8; h unreadable
    assert board["OSWorld-G"]["Overall_Accuracy"] == 5 / 8
    assert board["OSWorld-G"]["Format_Err_Rate"] == 1 / 8
    assert (board["OSWorld-G"]["num_correct"], board["OSWorld-G"]["num_total"]) == (5, 8)
    classes = {k: (v["num_correct"], v["num_total"])
               for k, v in board["OSWorld-G"]["classification"].items()}  # fmt: skip
    # text_matching a, c: 2/2; layout b, c: 1/2; refusal d, e, f: 2/3; g, h unclassified: 1/2
    assert classes == {"layout": (1, 2), "refusal": (2, 3), "text_matching": (2, 2),
                       "unclassified": (1, 2)}  # fmt: skip
    assert board["OSWorld-G"]["classification"]["refusal"]["accuracy"] == 2 / 3
    # refined: a right, b2 wrong; a is named by the classes (ids are shared), b2 is not
    assert board["OSWorld-G_refined"]["Overall_Accuracy"] == 1 / 2
    assert board["OSWorld-G_refined"]["classification"] == {
        "text_matching": {"num_correct": 1, "num_total": 1, "accuracy": 1.0},
        "unclassified": {"num_correct": 0, "num_total": 1, "accuracy": 0.0},
    }
    assert summary["accuracy"]["micro"] == 6 / 10 and summary["declined"] == 3  # d, f, h
    seen = status(out)
    assert seen["OSWorld-G:d"] == ("correct", True) and seen["OSWorld-G:f"] == ("correct", True)
    assert seen["OSWorld-G:e"] == ("wrong", False) and seen["OSWorld-G:h"] == ("parse_error", True)
    assert seen["OSWorld-G:b"] == ("wrong", False) and seen["OSWorld-G:g"][0] == "correct"
    assert "Overall_Accuracy 62.5% (5 of 8)" in (out / "summary.md").read_text()
    assert rescore(out)["osworld_g"] == board  # the file alone gives the same verdicts
    page = write_report(out, thumbnails=False).read_text()
    assert '["OSWorld-G Overall_Accuracy","62.5 %","accuracy"]' in page


# --- UI-Vision ------------------------------------------------------------------------------


def test_ui_vision_splits_and_their_mean(tmp_path: Path) -> None:
    png(tmp_path / "images", "app.png", (200, 100))

    def item(name: str, bbox: list[float]) -> dict[str, Any]:
        return {"image_path": "app.png", "image_size": [200, 100], "prompt_to_evaluate": name,
                "bbox": bbox, "element_type": "button", "platform": "linux"}  # fmt: skip

    splits = {
        "basic": [item("b1", [10, 10, 30, 30]), item("b2", [60, 40, 20, 20])],  # reversed
        "functional": [
            item("f1", [10, 10, 30, 30]),
            item("f2", [10, 10, 30, 30]),
            item("f3", [10, 10, 30, 30]),
        ],  # fmt: skip
        "spatial": [item("s1", [0, 0, 50, 50]), item("s2", [0, 0, 50, 50])],
    }
    files = []
    for name, records in splits.items():
        files.append(tmp_path / f"element_grounding_{name}.json")
        files[-1].write_text(json.dumps(records))
    replies: dict[str, Reply] = {
        "b1": (20, 20), "b2": (40, 30),  # basic 2/2 (b2's box swapped to 20..60 x 20..40)
        "f1": (30, 30), "f2": (31, 30), "f3": "",  # functional 1/3: a corner, a miss, nothing
        "s1": (50, 0), "s2": (150, 50),  # spatial 1/2
    }  # fmt: skip
    summary = run(files, tmp_path / "images", tmp_path / "out", replies)
    board = summary["ui_vision"]
    assert board["basic"] == {"num_correct_action": 2, "num_total": 2, "wrong_format_num": 0,
                              "action_acc": 1.0}  # fmt: skip
    assert board["functional"] == {"num_correct_action": 1, "num_total": 3,
                                   "wrong_format_num": 1, "action_acc": 1 / 3}  # fmt: skip
    assert board["spatial"]["action_acc"] == 1 / 2
    assert board["Final Avg"] == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)  # 11/18, not 4/7
    assert summary["accuracy"]["micro"] == 4 / 7


# --- MMBench-GUI L2 -------------------------------------------------------------------------


def test_mmbench_gui_l2_basic_advanced_and_platforms(tmp_path: Path) -> None:
    images = tmp_path / "offline_images"
    png(images, "os_windows/win.png", (200, 100))
    png(images, "os_linux/lin.png", (100, 200))

    def item(name: str, platform: str, grounding: str, kind: str, bbox: list[float]) -> Any:
        image = "win.png" if platform == "os_windows" else "lin.png"
        return {"image_path": image, "instruction": name, "bbox": bbox, "platform": platform,
                "grounding_type": grounding, "data_type": kind}  # fmt: skip

    path = tmp_path / "L2_annotations.json"
    path.write_text(json.dumps([
        item("w1", "os_windows", "basic", "text", [0.1, 0.2, 0.3, 0.4]),  # 20..60 x 20..40
        item("w2", "os_windows", "basic", "icon", [0.5, 0.5, 0.6, 0.7]),  # 100..120 x 50..70
        item("w3", "os_windows", "advanced", "icon", [100, 50, 120, 70]),  # pixels
        item("l1", "os_linux", "advanced", "text", [0, 0, 0.5, 0.5]),  # 0..50 x 0..100
        item("l2", "os_linux", "advanced", "text", [0, 0, 0.5, 0.5]),
        item("l3", "os_linux", "basic", "icon", [0.5, 0.5, 1, 1]),  # 50..100 x 100..200
    ]))  # fmt: skip
    replies: dict[str, Reply] = {
        "w1": (40, 30), "w2": (10, 10), "w3": (110, 60),  # right, wrong, right
        "l1": (25, 150), "l2": "I cannot tell", "l3": (75, 150),  # wrong, format error, right
    }  # fmt: skip
    summary = run([path], images, tmp_path / "out", replies)
    board = summary["mmbench_gui_l2"]
    assert board["Basic accuracy"] == 2 / 3  # w1, w2, l3
    assert board["Advanced accuracy"] == 1 / 3  # w3, l1, l2
    assert board["Average accuracy"] == pytest.approx(0.5)
    assert board["os_windows"] == {"Total accuracy": 2 / 3, "Icon accuracy": 1 / 2,
                                   "Text accuracy": 1.0}  # fmt: skip
    assert board["os_linux"] == {"Total accuracy": 1 / 3, "Icon accuracy": 1.0,
                                 "Text accuracy": 0.0}  # fmt: skip
    assert summary["wrong_format_num"] == 1 and summary["accuracy"]["micro"] == 3 / 6
    page = write_report(tmp_path / "out", thumbnails=False).read_text()
    assert '["MMBench-GUI L2 Average accuracy","50.0 %","accuracy"]' in page
