"""OSWorld-G, UI-Vision and MMBench-GUI L2 files and their targets: polygons (ray casting, edges
included), refusals, normalised and reversed boxes, the classification file, ScreenSpot-v2 as
before. Every expectation is computed by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.errors import ConfigurationError
from agent.evaluation.benchmarks import detect_format, load_samples
from agent.evaluation.metric import judge_target
from agent.evaluation.shapes import in_polygon, polygon_bounds

# a right triangle with its right angle at (100, 0): inside iff x >= 100, y >= 0, x + y <= 200
TRIANGLE = (100.0, 0.0, 200.0, 0.0, 100.0, 100.0)
# a U: the notch (40..60, 50..100) is inside the bounding box but not the shape
U_SHAPE = (0.0, 0.0, 100.0, 0.0, 100.0, 100.0, 60.0, 100.0, 60.0, 50.0, 40.0, 50.0, 40.0, 100.0,
           0.0, 100.0)  # fmt: skip


def png(root: Path, name: str, size: tuple[int, int]) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (255, 255, 255)).save(path)


def write(folder: Path, name: str, records: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


# --- shapes and verdicts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((190, 90), False),  # in the bounding box (100..200, 0..100), 190 + 90 = 280 > 200
        ((120, 20), True),  # 120 + 20 = 140 <= 200
        ((150, 50), True),  # on the hypotenuse: 150 + 50 = 200
        ((100, 0), True),  # a vertex
        ((200, 0), True),  # a vertex
        ((100, 100), True),  # a vertex
        ((100, 60), True),  # on the vertical edge x = 100
        ((160, 0), True),  # on the horizontal edge y = 0
        ((99, 50), False),  # just left of the vertical edge
        ((150.5, 50), False),  # just past the hypotenuse
    ],
)
def test_points_in_a_triangle_edges_included(point: tuple[float, float], expected: bool) -> None:
    assert in_polygon(point, TRIANGLE) is expected


def test_a_concave_polygon_is_not_its_bounding_box() -> None:
    assert polygon_bounds(U_SHAPE) == (0, 0, 100, 100)
    assert not in_polygon((50, 75), U_SHAPE)  # in the notch
    assert in_polygon((50, 25), U_SHAPE)  # below the notch
    assert in_polygon((50, 50), U_SHAPE)  # the notch's bottom edge
    assert in_polygon((40, 75), U_SHAPE)  # the notch's left edge
    assert in_polygon((20, 90), U_SHAPE)  # a leg


def test_verdicts_for_polygon_and_refusal_targets() -> None:
    box = polygon_bounds(TRIANGLE)
    assert judge_target((190, 90), target="polygon", box=box, polygon=TRIANGLE) == "wrong"
    assert judge_target((190, 90), target="box", box=box) == "correct"  # the box alone would
    assert judge_target((150, 50), target="polygon", box=box, polygon=TRIANGLE) == "correct"
    assert judge_target(None, target="polygon", box=box, polygon=TRIANGLE) == "wrong"
    nothing = (0.0, 0.0, 0.0, 0.0)
    assert judge_target(None, target="refusal", box=nothing) == "correct"  # declined
    assert judge_target((-1, -1), target="refusal", box=nothing) == "correct"  # "no element"
    assert judge_target((-1, 5), target="refusal", box=nothing) == "wrong"  # one negative
    assert judge_target((0, 0), target="refusal", box=nothing) == "wrong"  # a point


# --- loaders ---------------------------------------------------------------------------------


def osworld(id: str, box_type: str, coords: Any, **fields: Any) -> dict[str, Any]:
    record = {"id": id, "image_path": "desk.png", "image_size": [200, 100],
              "instruction": f"find {id}", "box_type": box_type, "box_coordinates": coords,
              "GUI_types": ["Button"]}  # fmt: skip
    record.update(fields)
    return record


def test_osworld_g_boxes_polygons_refusals_and_classes(tmp_path: Path) -> None:
    png(tmp_path / "images", "desk.png", (200, 100))
    path = write(tmp_path, "OSWorld-G.json", [
        osworld("a", "bbox", [10, 10, 20, 30]),
        osworld("b", "polygon", list(TRIANGLE)),
        osworld("c", "refusal", [-1, -1, -1, -1]),
    ])  # fmt: skip
    write(tmp_path, "classification_result.json", {"text_matching": ["a", "b"], "layout": ["b"]})
    assert detect_format(json.loads(path.read_text()), path) == "osworld-g"
    a, b, c = load_samples([path], tmp_path / "images")
    assert (a.id, a.target, a.box, a.polygon) == ("OSWorld-G:a", "box", (10, 10, 30, 40), None)
    assert (b.target, b.box, b.polygon) == ("polygon", (100, 0, 200, 100), TRIANGLE)
    assert c.target == "refusal" and c.box == (0, 0, 0, 0)
    assert a.categories == ("text_matching",)
    assert b.categories == ("text_matching", "layout")
    assert c.categories == ("unclassified",)  # not named in the file
    assert {s.benchmark for s in (a, b, c)} == {"osworld-g"} and a.split == "OSWorld-G"
    # a folder: its annotation files, not the classification beside them
    assert [s.id for s in load_samples([tmp_path], tmp_path / "images")] == [a.id, b.id, c.id]


def test_osworld_g_without_classification_and_id_keyed_classes(tmp_path: Path) -> None:
    png(tmp_path / "images", "desk.png", (200, 100))
    path = write(tmp_path, "OSWorld-G_refined.json", [osworld("a", "bbox", [0, 0, 5, 5])])
    assert load_samples([path], tmp_path / "images")[0].categories is None
    write(tmp_path, "classification_result.json", {"a": ["layout", "text_matching"]})
    assert load_samples([path], tmp_path / "images")[0].categories == ("layout", "text_matching")


def test_osworld_g_problems_name_the_file_and_index(tmp_path: Path) -> None:
    png(tmp_path / "images", "desk.png", (200, 100))
    path = write(tmp_path, "OSWorld-G.json", [
        osworld("a", "circle", [1, 2, 3]),
        osworld("b", "polygon", [0, 0, 10, 10]),
        osworld("c", "bbox", [190, 10, 20, 10]),
        osworld("d", "bbox", [0, 0, 1, 1], image_size=[100, 100]),
    ])  # fmt: skip
    with pytest.raises(ConfigurationError) as excinfo:
        load_samples([path], tmp_path / "images")
    text = str(excinfo.value)
    assert "4 problems" in text
    assert "OSWorld-G.json[0]: box_type 'circle' is none of bbox, polygon, refusal" in text
    assert "OSWorld-G.json[1]: polygon box_coordinates is not an even list" in text
    assert "OSWorld-G.json[2]: box (190, 10, 210, 20) lies outside the 200x100 image" in text
    assert "OSWorld-G.json[3]: image_size [100, 100] differs" in text


def test_ui_vision_reversed_boxes_are_swapped_and_splits_come_from_the_file(
    tmp_path: Path,
) -> None:
    png(tmp_path / "images", "shots/app.png", (200, 100))
    record = {"image_path": "shots/app.png", "image_size": [200, 100],
              "prompt_to_evaluate": "the save button", "bbox": [60, 40, 20, 20],
              "element_type": "button", "platform": "linux"}  # fmt: skip
    path = write(tmp_path, "element_grounding_spatial.json", [record])
    (sample,) = load_samples([path], tmp_path / "images")
    assert sample.box == (20, 20, 60, 40)  # x1 > x2 and y1 > y2 swapped
    assert (sample.split, sample.benchmark, sample.platform) == ("spatial", "ui-vision", "linux")
    assert (sample.instruction, sample.ui_type) == ("the save button", "button")


def test_mmbench_boxes_normalised_or_pixels_and_images_under_the_platform(
    tmp_path: Path,
) -> None:
    png(tmp_path / "offline_images", "os_windows/win.png", (200, 100))
    common = {"image_path": "win.png", "instruction": "x", "grounding_type": "basic",
              "data_type": "text", "platform": "os_windows"}  # fmt: skip
    path = write(tmp_path, "L2_annotations.json", [
        {**common, "bbox": [0.1, 0.2, 0.3, 0.4]},
        {**common, "bbox": [100, 50, 120, 70], "grounding_type": "advanced"},
    ])  # fmt: skip
    norm, pixels = load_samples([path], tmp_path / "offline_images")
    assert norm.box == pytest.approx((20, 20, 60, 40))  # 0.1*200, 0.2*100, 0.3*200, 0.4*100
    assert pixels.box == (100, 50, 120, 70)
    assert norm.image_rel == "os_windows/win.png"
    assert (norm.split, pixels.split, norm.benchmark) == ("basic", "advanced", "mmbench-gui")
    bad = write(tmp_path, "L2_annotations.json", [{**common, "bbox": [0.1, 0.2, 0.3, 0.4],
                                                   "grounding_type": "expert"}])  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"L2_annotations.json\[0\]: grounding_type"):
        load_samples([bad], tmp_path / "offline_images")


def test_screenspot_v2_files_stay_xywh_with_the_platform_from_the_name(tmp_path: Path) -> None:
    png(tmp_path / "screenspotv2_image", "web_1.png", (200, 100))
    record = {"img_filename": "web_1.png", "bbox": [10, 20, 30, 40], "instruction": "menu",
              "data_type": "icon", "data_source": "shop"}  # fmt: skip
    path = write(tmp_path, "screenspot_web_v2.json", [record])
    assert detect_format([record], path) == "screenspot"
    (sample,) = load_samples([path], tmp_path / "screenspotv2_image")
    assert sample.box == (10, 20, 40, 60)  # x, y, x + w, y + h
    assert (sample.platform, sample.ui_type, sample.target, sample.benchmark) == (
        "web", "icon", "box", None,
    )  # fmt: skip
