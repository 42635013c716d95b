"""The bundled ScreenSpot-style sample set (``tasks/screenspot-sample/``) is consistent.

The committed annotation files are checked against the committed images and against each other
(ScreenSpot v1 x, y, w, h versus ScreenSpot-Pro x1, y1, x2, y2), the set against what its README
promises (both scale factors, text and icon targets, the counts table, under 20 MB), and one page
is rendered again in Chromium with ``make.py``'s own function: the boxes come out the same.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

from tests.gui.conftest import missing_tool

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[3]
SET = ROOT / "tasks" / "screenspot-sample"
IMAGES = SET / "images"
V1_FILES = {f"screenspot_{p}.json": p for p in ("web", "mobile", "desktop")}
PRO_FILES = ("sample-browser_linux.json", "sample-tk_linux.json")
V1_FIELDS = {"img_filename", "bbox", "instruction", "data_type", "data_source"}
PRO_FIELDS = {
    "id", "img_filename", "bbox", "img_size", "instruction", "instruction_cn", "application",
    "platform", "group", "ui_type",
}  # fmt: skip
SCALE = re.compile(r"^(web|mobile|desktop)_[a-z]+_x(\d)\.png$")


def load(name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((SET / name).read_text(encoding="utf-8"))
    return records


def make_module() -> ModuleType:
    """``tasks/screenspot-sample/make.py`` (not a package: its folder name has a hyphen)."""
    name = "screenspot_sample_make"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SET / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def xyxy_v1(record: dict[str, Any]) -> tuple[int, int, int, int]:
    x, y, w, h = record["bbox"]
    return x, y, x + w, y + h


def test_records_have_exactly_the_published_fields() -> None:
    for name in V1_FILES:
        for index, record in enumerate(load(name)):
            assert set(record) == V1_FIELDS, (name, index)
            assert record["data_type"] in ("text", "icon"), (name, index)
            assert all(isinstance(v, int) for v in record["bbox"]), (name, index)
    ids: list[str] = []
    for name in PRO_FILES:
        application, platform = name.removesuffix(".json").rsplit("_", 1)
        for index, record in enumerate(load(name)):
            assert set(record) == PRO_FIELDS, (name, index)
            assert (record["application"], record["platform"]) == (application, platform)
            assert record["ui_type"] in ("text", "icon"), (name, index)
            assert record["group"] in ("Dev", "Creative", "CAD", "Scientific", "Office", "OS")
            assert record["instruction"].strip() and record["instruction_cn"].strip()
            assert re.search(r"[\u4e00-\u9fff]", record["instruction_cn"]), record["id"]
            assert all(isinstance(v, int) for v in [*record["bbox"], *record["img_size"]])
            ids.append(record["id"])
    assert len(ids) == len(set(ids)), "ScreenSpot-Pro ids must be unique"


def test_every_box_lies_inside_an_existing_image_of_the_recorded_size() -> None:
    sizes: dict[str, tuple[int, int]] = {}
    for path in IMAGES.glob("*.png"):
        with Image.open(path) as image:
            assert image.format == "PNG"
            sizes[path.name] = image.size
    used: set[str] = set()
    boxes = [(n, i, r, xyxy_v1(r)) for n in V1_FILES for i, r in enumerate(load(n))]
    for name in PRO_FILES:
        for index, record in enumerate(load(name)):
            assert tuple(record["img_size"]) == sizes[record["img_filename"]], (name, index)
            boxes.append((name, index, record, tuple(record["bbox"])))
    for name, index, record, (x1, y1, x2, y2) in boxes:
        assert record["img_filename"] in sizes, f"{name}[{index}]: no image {record}"
        width, height = sizes[record["img_filename"]]
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, (name, index, record)
        used.add(record["img_filename"])
    assert used == set(sizes), f"images no record uses: {set(sizes) - used}"


def test_v1_and_pro_files_describe_the_same_targets() -> None:
    v1 = [
        (r["img_filename"], r["instruction"], r["data_type"], xyxy_v1(r))
        for name in V1_FILES
        for r in load(name)
    ]
    pro = [
        (r["img_filename"], r["instruction"], r["ui_type"], tuple(r["bbox"]))
        for name in PRO_FILES
        for r in load(name)
    ]
    assert sorted(v1) == sorted(pro)
    assert len(set(v1)) == len(v1), "a target appears twice"
    for name, platform in V1_FILES.items():  # the v1 platform is the file's; images say it too
        assert {r["img_filename"].split("_")[0] for r in load(name)} == {platform}


def test_both_scales_text_and_icon_targets_and_the_readme_counts() -> None:
    pro = [r for name in PRO_FILES for r in load(name)]
    assert 30 <= len(pro) <= 60
    scales: dict[str, set[int]] = {}
    for record in pro:
        match = SCALE.match(record["img_filename"])
        assert match, record["img_filename"]
        screen = record["img_filename"].rsplit("_x", 1)[0]
        scales.setdefault(screen, set()).add(int(match.group(2)))
    assert all(len(found) == 2 for found in scales.values()), scales
    assert {1, 2} <= set().union(*scales.values())
    for name in V1_FILES:
        assert Counter(r["data_type"] for r in load(name)).keys() == {"text", "icon"}, name
    make = make_module()
    table = make.counts_table(make.load_samples())
    assert table in (SET / "README.md").read_text(encoding="utf-8"), "README counts are stale"


def test_the_same_target_at_two_scales_has_the_scaled_box() -> None:
    """A page's box at scale 2 is its box at scale 1 doubled (DOM boxes: within the 1 px of
    rounding); the Tk window draws its fonts at twice the size, which moves edges a little."""
    boxes: dict[tuple[str, str], dict[int, list[int]]] = {}
    for name in PRO_FILES:
        for r in load(name):
            screen, scale = r["img_filename"].removesuffix(".png").rsplit("_x", 1)
            boxes.setdefault((screen, r["instruction"]), {})[int(scale)] = r["bbox"]
    for (screen, instruction), by_scale in boxes.items():
        low, high = sorted(by_scale)
        ratio = high / low
        tolerance = 1 if not screen.startswith("desktop") else 6 * ratio
        for a, b in zip(by_scale[low], by_scale[high], strict=True):
            assert abs(b - a * ratio) <= tolerance, (screen, instruction, by_scale)


def test_the_set_stays_under_20_mb() -> None:
    total = sum(
        p.stat().st_size for p in SET.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert total < 20 * 1024 * 1024, f"{total / 1e6:.1f} MB"


@pytest.mark.browser
def test_rendering_a_page_again_gives_the_committed_boxes(tmp_path: Path) -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing_tool("playwright is not installed (pip install -e '.[dev]')")
    make = make_module()
    if not Path(make.CHROMIUM).exists() or shutil.which("chromium") is None:
        missing_tool(f"{make.CHROMIUM} is missing (Debian: apt install chromium)")
    shot = next(s for s in make.SHOTS if s.name == "login")
    fresh = make.render_web(shot, tmp_path, scales=[1])
    committed = [s for s in make.load_samples() if s.image == shot.image_name(1)]
    assert [(s.target.instruction, s.box) for s in fresh] == [
        (s.target.instruction, s.box) for s in committed
    ]
    with Image.open(tmp_path / shot.image_name(1)) as image:
        assert image.size == committed[0].size == (1280, 800)
