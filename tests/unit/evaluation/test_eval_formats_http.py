"""OSWorld-G, UI-Vision and MMBench-GUI L2 as a user evaluates them: held-out files in each
official format (real PNG screenshots drawn here), ``gui-agent eval`` started as a command,
talking over HTTP to an OpenAI-compatible server that gives each item a known right, wrong,
boundary, polygon or refusal answer in Qwen2.5-VL's ``computer_use`` format. The report's
benchmark-own keys must equal the accuracies computed by hand in each test.

Every screenshot's sides are multiples of 28 inside Qwen2.5-VL's pixel bounds, so the frame the
model sees is the image itself and an answer's pixel is the image's pixel: the boundary answers
land exactly on the box's edge."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.unit.evaluation.answering_server import AnsweringServer, Frames

ROOT = Path(__file__).resolve().parents[3]
Reply = tuple[float, float] | str  # a point in image pixels, or a text without a point
_NAME = re.compile(r"«([^»]+)»")


def instruction(name: str) -> str:
    return f"Click «{name}»"


def tool_call(x: float, y: float) -> str:
    body = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [x, y]}}
    return f"<tool_call>\n{json.dumps(body)}\n</tool_call>"


def screenshot(path: Path, size: tuple[int, int], boxes: list[tuple[float, ...]]) -> None:
    """A small GUI-like screenshot: a title bar and the targets drawn as labelled buttons."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (236, 239, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0], 24), fill=(52, 73, 94))
    for n, box in enumerate(boxes):
        if len(box) == 4:
            draw.rectangle(box, fill=(255, 255, 255), outline=(40, 90, 200), width=2)
        else:
            draw.polygon(list(box), fill=(255, 255, 255), outline=(40, 90, 200))
        draw.text((box[0] + 4, box[1] + 4), f"item {n}", fill=(20, 20, 20))
    image.save(path)


def evaluate(
    files: list[Path],
    images: Path,
    out: Path,
    replies: dict[str, Reply],
    *extra: str,
    write: Callable[[float, float], str] = tool_call,
    asked: str = "",
) -> dict[str, Any]:
    """``gui-agent eval`` over HTTP; every item answered from ``replies`` by its name, a point
    written by ``write``; every request's text must hold ``asked``."""

    def answer(text: str, frames: Frames) -> str:
        names = _NAME.findall(text)
        assert len(names) == 1 and len(frames) == 1 and asked in text, (names, frames, text)
        reply = replies[names[0]]
        return reply if isinstance(reply, str) else write(*reply)

    with AnsweringServer(answer) as server:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [
                sys.executable, "-m", "agent.cli", "eval", *map(str, files), "--images",
                str(images), "--out", str(out), "--backend", "openai", "--base-url",
                server.base_url, "--api-model", "scripted", "--concurrency", "2", *extra,
            ],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert server.errors == []
    assert done.returncode == 0, done.stderr
    assert len(server.served) == len(replies)  # each item asked once
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == summary["scored"] == len(replies)
    return summary


def statuses(out: Path) -> dict[str, tuple[str, bool]]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return {r["id"].split(":", 1)[1]: (r["status"], r["declined"]) for r in map(json.loads, lines)}


# --- OSWorld-G ------------------------------------------------------------------------------

# inside iff x >= 300, y >= 100 and (x - 300) + (y - 100) <= 200; bounding box 300..500 x 100..300
TRIANGLE = [300, 100, 500, 100, 300, 300]


def test_osworld_g_boxes_polygons_and_refusals_over_http(tmp_path: Path) -> None:
    root = tmp_path / "OSWorld-G"

    def item(name: str, box_type: str, coords: list[float]) -> dict[str, Any]:
        return {"id": name, "image_path": "desk.png", "image_size": [560, 392],
                "instruction": instruction(name), "box_type": box_type,
                "box_coordinates": coords, "GUI_types": ["Button"]}  # fmt: skip

    records = [
        item("a", "bbox", [40, 40, 100, 40]),  # x, y, w, h: 40..140 x 40..80
        item("b", "bbox", [40, 40, 100, 40]),
        item("c", "bbox", [200, 40, 100, 40]),  # 200..300 x 40..80
        item("d", "polygon", TRIANGLE),
        item("e", "polygon", TRIANGLE),
        item("f", "polygon", TRIANGLE),
        item("g", "refusal", []),
        item("h", "refusal", []),
        item("i", "refusal", []),
        item("j", "bbox", [40, 200, 100, 40]),  # 40..140 x 200..240
        item("k", "bbox", [280, 196, 56, 98]),  # 280..336 x 196..294
    ]
    screenshot(root / "images" / "desk.png", (560, 392),
               [(40, 40, 140, 80), (200, 40, 300, 80), tuple(TRIANGLE), (40, 200, 140, 240),
                (280, 196, 336, 294)])  # fmt: skip
    annotation = root / "OSWorld-G.json"
    annotation.write_text(json.dumps(records))
    (root / "classification_result.json").write_text(json.dumps({
        "text_matching": ["a", "b", "c"], "element_recognition": ["d", "e", "f", "k"],
        "refusal": ["g", "h", "i"],
    }))  # fmt: skip
    replies: dict[str, Reply] = {
        "a": (90, 60),  # inside: right
        "b": (140, 80),  # the box's far corner, bounds inclusive: right
        "c": (301, 60),  # one pixel right of the box: wrong
        "d": (480, 280),  # inside the triangle's bounding box, outside the triangle: wrong
        "e": (400, 200),  # on the hypotenuse (100 + 100 = 200), edges inclusive: right
        "f": (350, 150),  # inside the triangle: right
        "g": "The element is not on this screen.",  # declines in words: right
        "h": (100, 100),  # a point for an element that is not there: wrong
        "i": (-1, -1),  # the official scorer's "no element": right
        "j": "I would click the Save button.",  # no point on a box item: format error, wrong
        "k": (0.55, 0.625),  # all in [0, 1]: fractions of 560x392, (308, 245): right
    }  # fmt: skip
    out = tmp_path / "out"
    summary = evaluate([annotation], root / "images", out, replies)

    right = ["a", "b", "e", "f", "g", "i", "k"]  # 7 of the 11 items
    seen = statuses(out)
    assert sorted(k for k, (status, _) in seen.items() if status == "correct") == right
    assert seen["j"] == ("parse_error", True) and seen["d"] == ("wrong", False)
    assert seen["g"] == ("correct", True) and seen["i"] == ("correct", True)
    assert seen["h"] == ("wrong", False)
    board = summary["osworld_g"]["OSWorld-G"]
    assert board["Overall_Accuracy"] == 7 / 11
    assert board["Format_Err_Rate"] == 1 / 11  # j; a declined refusal is no format error
    assert (board["num_correct"], board["num_total"]) == (7, 11)
    by_class = {name: (cell["num_correct"], cell["num_total"], cell["accuracy"])
                for name, cell in board["classification"].items()}  # fmt: skip
    assert by_class == {
        "text_matching": (2, 3, 2 / 3),  # a, b right; c wrong
        "element_recognition": (3, 4, 3 / 4),  # e, f, k right; d wrong
        "refusal": (2, 3, 2 / 3),  # g, i right; h wrong
        "unclassified": (0, 1, 0.0),  # j
    }
    assert summary["accuracy"]["micro"] == 7 / 11 and summary["declined"] == 3  # g, i, j
    assert "Overall_Accuracy 63.6% (7 of 11)" in (out / "summary.md").read_text()

    # the report draws the polygon target as its polygon, and no box for a refusal target
    page = (out / "report.html").read_text()
    found = re.search(r'id="report-data">(.*?)</script>', page, re.S)
    assert found is not None
    items = {x["id"].split(":", 1)[1]: x for x in json.loads(found.group(1))["samples"]}
    assert items["d"]["polygon"] == TRIANGLE and items["d"]["box"] == [300, 100, 500, 300]
    assert items["a"]["polygon"] is None and items["g"]["target"] == "refusal"
    assert "gt-polygon" in page


# --- UI-Vision ------------------------------------------------------------------------------


def test_ui_vision_split_files_over_http(tmp_path: Path) -> None:
    images = tmp_path / "images"
    screenshot(images / "app.png", (672, 448),
               [(100, 100, 200, 150), (200, 100, 300, 200), (100, 300, 200, 350),
                (10, 30, 110, 60), (400, 300, 500, 400)])  # fmt: skip

    def item(name: str, bbox: list[float]) -> dict[str, Any]:
        return {"image_path": "app.png", "image_size": [672, 448],
                "prompt_to_evaluate": instruction(name), "bbox": bbox,
                "element_type": "button", "platform": "linux"}  # fmt: skip

    splits = {
        "basic": [
            item("b1", [100, 100, 200, 150]),
            item("b2", [300, 200, 200, 100]),  # reversed: 200..300 x 100..200
            item("b3", [100, 300, 200, 350]),
        ],
        "functional": [item("f1", [10, 30, 110, 60]), item("f2", [10, 30, 110, 60])],
        "spatial": [item(n, [400, 300, 500, 400]) for n in ("s1", "s2", "s3")],
    }
    files = []
    for split, records in splits.items():
        files.append(tmp_path / f"element_grounding_{split}.json")
        files[-1].write_text(json.dumps(records))
    replies: dict[str, Reply] = {
        "b1": (150, 125), "b2": (300, 200), "b3": (99, 320),  # right, corner: right, wrong
        "f1": (110, 30), "f2": "no idea",  # a corner: right; no point: wrong format
        "s1": (450, 401), "s2": (450, 350), "s3": (400, 300),  # wrong, right, corner: right
    }  # fmt: skip
    summary = evaluate(files, images, tmp_path / "out", replies)
    board = summary["ui_vision"]
    assert board["basic"] == {"num_correct_action": 2, "num_total": 3, "wrong_format_num": 0,
                              "action_acc": 2 / 3}  # fmt: skip
    assert board["functional"] == {"num_correct_action": 1, "num_total": 2,
                                   "wrong_format_num": 1, "action_acc": 1 / 2}  # fmt: skip
    assert board["spatial"] == {"num_correct_action": 2, "num_total": 3, "wrong_format_num": 0,
                                "action_acc": 2 / 3}  # fmt: skip
    # the mean of the three splits, (2/3 + 1/2 + 2/3) / 3 = 11/18, not the micro 5/8
    assert board["Final Avg"] == pytest.approx(11 / 18)
    assert summary["accuracy"]["micro"] == 5 / 8


# --- MMBench-GUI L2 -------------------------------------------------------------------------


def mmbench_files(tmp_path: Path) -> tuple[Path, Path]:
    """``L2_annotations.json`` and ``offline_images/<platform>/``: normalised and pixel boxes,
    basic and advanced, text and icon, two platforms (7 items)."""
    images = tmp_path / "offline_images"
    screenshot(images / "os_windows" / "win.png", (560, 392),
               [(140, 98, 280, 196), (280, 196, 420, 294), (100, 300, 200, 380)])  # fmt: skip
    screenshot(images / "os_linux" / "lin.png", (392, 560),
               [(196, 280, 392, 560), (10, 10, 150, 60), (98, 70, 294, 140)])  # fmt: skip

    def item(name: str, platform: str, grounding: str, kind: str, bbox: list[float]) -> Any:
        return {"index": name, "image_path": "win.png" if platform == "os_windows" else "lin.png",
                "instruction": instruction(name), "bbox": bbox, "platform": platform,
                "grounding_type": grounding, "data_type": kind}  # fmt: skip

    path = tmp_path / "L2_annotations.json"
    path.write_text(json.dumps([
        item("w1", "os_windows", "basic", "text", [0.25, 0.25, 0.5, 0.5]),  # 140..280 x 98..196
        item("w2", "os_windows", "basic", "icon", [0.5, 0.5, 0.75, 0.75]),  # 280..420 x 196..294
        item("w3", "os_windows", "advanced", "icon", [100, 300, 200, 380]),  # pixels
        item("w4", "os_windows", "advanced", "text", [0, 0, 0.25, 0.25]),  # 0..140 x 0..98
        item("l1", "os_linux", "basic", "icon", [0.5, 0.5, 1, 1]),  # 196..392 x 280..560
        item("l2", "os_linux", "advanced", "text", [10, 10, 150, 60]),  # pixels
        item("l3", "os_linux", "advanced", "text", [0.25, 0.125, 0.75, 0.25]),  # 98..294 x 70..140
    ]))  # fmt: skip
    return path, images


MMBENCH_REPLIES: dict[str, Reply] = {
    "w1": (280, 196),  # the far corner of a normalised box: right
    "w2": (279, 250),  # one pixel left of it: wrong
    "w3": (150, 340),  # in a pixel box: right
    "w4": "somewhere near the top",  # no point: wrong format
    "l1": (300, 400),  # right
    "l2": (150, 61),  # one pixel below: wrong
    "l3": (200, 100),  # right
}


def check_mmbench(summary: dict[str, Any]) -> None:
    board = summary["mmbench_gui_l2"]
    assert board["Basic accuracy"] == 2 / 3  # w1, l1 right; w2 wrong
    assert board["Advanced accuracy"] == 2 / 4  # w3, l3 right; w4, l2 wrong
    assert board["Average accuracy"] == pytest.approx((2 / 3 + 2 / 4) / 2)  # 7/12, not 4/7
    assert board["os_windows"] == {"Total accuracy": 2 / 4, "Icon accuracy": 1 / 2,
                                   "Text accuracy": 1 / 2}  # fmt: skip
    assert board["os_linux"] == {"Total accuracy": 2 / 3, "Icon accuracy": 1.0,
                                 "Text accuracy": 1 / 2}  # fmt: skip
    assert summary["wrong_format_num"] == 1 and summary["accuracy"]["micro"] == 4 / 7


def test_mmbench_gui_l2_normalised_and_pixel_boxes_over_http(tmp_path: Path) -> None:
    path, images = mmbench_files(tmp_path)
    check_mmbench(evaluate([path], images, tmp_path / "out", MMBENCH_REPLIES, "--no-report"))


def test_mmbench_gui_l2_with_its_own_prompt(tmp_path: Path) -> None:
    """``--prompt mmbench-gui``: the benchmark's system and user prompts, ``(x,y)`` answers;
    a pair in [0, 1] is a fraction of the image, as its scorer reads it."""
    path, images = mmbench_files(tmp_path)
    replies = {**MMBENCH_REPLIES, "w1": (0.5, 0.5)}  # (280, 196) of 560x392: the far corner
    asked = (
        "You are a GUI agent. You are given a task and a screenshot of the screen. You need to "
        "finish this task following instructions from users.\nOutput only the coordinate (x,y) "
        "of one point in your response. What element matches the following task: Click «"
    )
    summary = evaluate([path], images, tmp_path / "out", replies, "--no-report", "--prompt",
                       "mmbench-gui", write=lambda x, y: f"({x:g},{y:g})", asked=asked)  # fmt: skip
    check_mmbench(summary)
    seen = statuses(tmp_path / "out")
    assert seen["w1"] == ("correct", False) and seen["w4"] == ("parse_error", True)
