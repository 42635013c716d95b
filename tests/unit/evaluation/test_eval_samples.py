"""ScreenSpot annotation loaders: v1/v2 (xywh), Pro (xyxy + img_size), the normalised mirrors;
format detection and validation errors that name the file and the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.errors import ConfigurationError
from agent.evaluation.benchmarks import Sample, detect_format, load_samples


def png(folder: Path, name: str, size: tuple[int, int]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (255, 255, 255)).save(path)
    return path


def annotation(folder: Path, name: str, records: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    png(root, "web.png", (200, 100))
    png(root, "phone.png", (100, 200))
    png(root, "pro/vscode.png", (300, 150))
    return root


def v1(image: str = "web.png", **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "img_filename": image,
        "instruction": "open the menu",
        "bbox": [10, 20, 30, 40],
        "data_type": "text",
        "data_source": "shop",
    }
    record.update(fields)
    return record


def pro(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "vscode_windows_0",
        "img_filename": "pro/vscode.png",
        "bbox": [100, 50, 130, 70],
        "img_size": [300, 150],
        "instruction": "close the editor tab",
        "instruction_cn": "关闭编辑器标签",
        "application": "vscode",
        "platform": "windows",
        "group": "Dev",
        "ui_type": "icon",
    }
    record.update(fields)
    return record


def problems(excinfo: pytest.ExceptionInfo[ConfigurationError]) -> list[str]:
    """The listed problem lines of a validation error."""
    return [line.strip() for line in str(excinfo.value).splitlines()[1:]]


# --- the formats ----------------------------------------------------------------------------


def test_screenspot_v1_boxes_are_xywh_and_platform_comes_from_the_file_name(
    tmp_path: Path, images: Path
) -> None:
    path = annotation(
        tmp_path,
        "screenspot_web.json",
        [v1(), v1(bbox=[0, 0, 200, 100], data_type="icon", data_source="forum")],
    )
    samples = load_samples([path], images)
    assert samples == [
        Sample(
            id="screenspot_web:0",
            annotation=path,
            index=0,
            image=(images / "web.png").absolute(),
            image_rel="web.png",
            image_size=(200, 100),
            instruction="open the menu",
            box=(10.0, 20.0, 40.0, 60.0),  # x, y, w, h = 10, 20, 30, 40
            platform="web",
            ui_type="text",
            source="shop",
        ),
        Sample(
            id="screenspot_web:1",
            annotation=path,
            index=1,
            image=(images / "web.png").absolute(),
            image_rel="web.png",
            image_size=(200, 100),
            instruction="open the menu",
            box=(0.0, 0.0, 200.0, 100.0),  # the whole image: edges included, no slack needed
            platform="web",
            ui_type="icon",
            source="forum",
        ),
    ]
    assert samples[0].image.is_absolute()


def test_screenspot_v2_file_name(tmp_path: Path, images: Path) -> None:
    path = annotation(tmp_path, "screenspot_mobile_v2.json", [v1("phone.png", bbox=[5, 6, 7, 8])])
    (sample,) = load_samples([path], images)
    assert (sample.id, sample.platform, sample.box) == (
        "screenspot_mobile_v2:0",
        "mobile",
        (5.0, 6.0, 12.0, 14.0),
    )
    assert detect_format([v1()], path) == "screenspot"


def test_screenspot_pro_boxes_are_xyxy_with_ids_and_categories(
    tmp_path: Path, images: Path
) -> None:
    path = annotation(tmp_path, "vscode_windows.json", [pro()])
    (sample,) = load_samples([path], images)
    assert sample == Sample(
        id="vscode_windows_0",
        annotation=path,
        index=0,
        image=(images / "pro/vscode.png").absolute(),
        image_rel="pro/vscode.png",
        image_size=(300, 150),
        instruction="close the editor tab",
        box=(100.0, 50.0, 130.0, 70.0),
        platform="windows",
        ui_type="icon",
        group="Dev",
        application="vscode",
        source=None,
    )


def test_lang_cn_uses_instruction_cn_where_present(tmp_path: Path, images: Path) -> None:
    no_cn = pro(id="b", instruction="save")
    del no_cn["instruction_cn"]
    path = annotation(tmp_path, "vscode_windows.json", [pro(id="a"), no_cn, pro(id="c")])
    cn = load_samples([path], images, lang="cn")
    assert [s.instruction for s in cn] == ["关闭编辑器标签", "save", "关闭编辑器标签"]
    en = load_samples([path], images, lang="en")
    assert [s.instruction for s in en] == ["close the editor tab", "save", "close the editor tab"]


def test_a_pro_record_without_id_gets_file_stem_and_index(tmp_path: Path, images: Path) -> None:
    record = pro()
    del record["id"]
    path = annotation(tmp_path, "vscode_windows.json", [pro(), record])
    assert [s.id for s in load_samples([path], images)] == ["vscode_windows_0", "vscode_windows:1"]


def test_normalised_mirror_scales_fractions_by_the_real_image_size(
    tmp_path: Path, images: Path
) -> None:
    records = [
        {
            "file_name": "web.png",
            "instruction": "search",
            "bbox": [0.1, 0.2, 0.5, 0.6],
            "data_type": "icon",
            "data_source": "android",
        },
        {
            "file_name": "phone.png",
            "instruction": "back",
            "bbox": [0.0, 0.0, 1.0, 1.0],
            "data_type": "text",
            "data_source": "macos",
        },
    ]
    path = annotation(tmp_path, "mirror.json", records)
    assert detect_format(records, path) == "normalized"
    first, second = load_samples([path], images)
    # 200x100: x * 200, y * 100; the platform from data_source (android: mobile, macos: desktop)
    assert first.box == pytest.approx((20.0, 20.0, 100.0, 60.0))
    assert (first.id, first.image_rel, first.platform, first.ui_type) == (
        "mirror:0",
        "web.png",
        "mobile",
        "icon",
    )
    assert second.box == (0.0, 0.0, 100.0, 200.0)
    assert second.platform == "desktop"


def test_a_declared_bbox_type_norm_decides_the_format(tmp_path: Path) -> None:
    # x2 == x1 would fail the values rule; the declaration says fractions.
    records = [v1(bbox=[0.5, 0.5, 0.5, 0.6], bbox_type="norm")]
    assert detect_format(records, tmp_path / "x.json") == "normalized"
    assert detect_format([v1(bbox_type="norm1")], tmp_path / "x.json") == "normalized"
    with pytest.raises(ConfigurationError, match=r"x\.json: unknown bbox_type \['real'\]"):
        detect_format([v1(bbox_type="real")], tmp_path / "x.json")


def test_one_pixel_box_in_a_pixel_file_keeps_the_file_xywh(tmp_path: Path) -> None:
    # every box must be fractions for the normalised rule: one real pixel box decides
    records = [v1(bbox=[0, 0, 1, 1]), v1(bbox=[10, 20, 30, 40])]
    assert detect_format(records, tmp_path / "screenspot_web.json") == "screenspot"
    # a Pro file is told by its img_size/ui_type fields, whatever its boxes
    assert detect_format([pro(bbox=[0, 0, 1, 1])], tmp_path / "p.json") == "screenspot-pro"


# --- refusals -------------------------------------------------------------------------------


def test_unknown_format_is_refused_in_one_line(tmp_path: Path, images: Path) -> None:
    path = annotation(tmp_path, "other.json", [{"image": "web.png", "target": [1, 2, 3, 4]}])
    with pytest.raises(ConfigurationError) as excinfo:
        load_samples([path], images)
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"annotation file {path} fits no known format")
    assert "its fields are image, target" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"img_filename": "a.png",', r"is not valid JSON \(line 1, column 27"),
        ('{"img_filename": "a.png"}', "is not a JSON list of records"),
        ("[]", "holds no records"),
    ],
)
def test_unreadable_files_are_one_line_naming_the_file(
    tmp_path: Path, images: Path, text: str, expected: str
) -> None:
    path = tmp_path / "screenspot_web.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=expected) as excinfo:
        load_samples([path], images)
    assert str(path) in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_missing_annotation_file_and_images_folder(tmp_path: Path, images: Path) -> None:
    with pytest.raises(ConfigurationError, match="nope.json does not exist"):
        load_samples([tmp_path / "nope.json"], images)
    path = annotation(tmp_path, "screenspot_web.json", [v1()])
    with pytest.raises(ConfigurationError, match="images folder .* does not exist"):
        load_samples([path], tmp_path / "no-images")


@pytest.mark.parametrize(
    ("name", "record", "problem"),
    [
        (
            "screenspot_web.json",
            v1(bbox=[190, 20, 20, 40]),
            "screenspot_web.json[1]: box (190, 20, 210, 60) lies outside the 200x100 image",
        ),
        (
            "screenspot_web.json",
            v1(bbox=[-1, 20, 20, 40]),
            "screenspot_web.json[1]: box (-1, 20, 19, 60) lies outside the 200x100 image",
        ),
        (
            "screenspot_web.json",
            v1(bbox=[10, 20, 20, 80.5]),
            "screenspot_web.json[1]: box (10, 20, 30, 100.5) lies outside the 200x100 image",
        ),
        (
            "screenspot_web.json",
            v1(bbox=[50, 20, -10, 40]),
            "screenspot_web.json[1]: degenerate box (50, 20, 40, 60): x2 < x1 or y2 < y1",
        ),
        (
            "screenspot_web.json",
            v1(bbox=[1, 2, 3]),
            "screenspot_web.json[1]: bbox is not four numbers: [1, 2, 3]",
        ),
        (
            "screenspot_web.json",
            v1(data_type="button"),
            "screenspot_web.json[1]: ui type 'button' is neither text nor icon",
        ),
        (
            "screenspot_web.json",
            {k: v for k, v in v1().items() if k not in ("data_type", "bbox")},
            "screenspot_web.json[1]: missing fields bbox, data_type",
        ),
        (
            "custom.json",
            v1(data_source="somewhere"),
            "custom.json[1]: cannot tell the platform",
        ),
        (
            "vscode_windows.json",
            pro(id="second", img_size=[1920, 1080]),
            "vscode_windows.json[1]: img_size [1920, 1080] differs from the image's real size "
            "300x150 (pro/vscode.png)",
        ),
        (
            "vscode_windows.json",
            pro(bbox=[100, 50, 130.5, 150], id="second"),
            None,  # touching the bottom edge exactly is inside: no problem
        ),
        (
            "vscode_windows.json",
            pro(bbox=[100, 50, 300.5, 70], id="second"),
            "vscode_windows.json[1]: box (100, 50, 300.5, 70) lies outside the 300x150 image",
        ),
        (
            "vscode_windows.json",
            pro(),
            "vscode_windows.json[1]: duplicate id 'vscode_windows_0' "
            "(first at vscode_windows.json[0])",
        ),
    ],
)
def test_each_validation_problem_names_the_file_and_index(
    tmp_path: Path, images: Path, name: str, record: dict[str, Any], problem: str | None
) -> None:
    good = pro() if name.startswith("vscode") else v1(platform="web")
    path = annotation(tmp_path, name, [good, record])
    if problem is None:
        assert len(load_samples([path], images)) == 2
        return
    with pytest.raises(ConfigurationError) as excinfo:
        load_samples([path], images)
    head, *lines = str(excinfo.value).splitlines()
    assert head.startswith(f"annotation file {path} (")
    assert head.endswith("1 problem:")
    assert len(lines) == 1
    assert lines[0].strip().startswith(problem)


def test_missing_and_unreadable_images(tmp_path: Path, images: Path) -> None:
    (images / "broken.png").write_text("not a png", encoding="utf-8")
    path = annotation(tmp_path, "screenspot_web.json", [v1("gone.png"), v1("broken.png")])
    with pytest.raises(ConfigurationError) as excinfo:
        load_samples([path], images)
    first, second = problems(excinfo)
    assert (
        first == f"screenspot_web.json[0]: image {(images / 'gone.png').absolute()} does not exist"
    )
    assert second.startswith(
        f"screenspot_web.json[1]: image {(images / 'broken.png').absolute()} cannot be read"
    )


def test_all_problems_of_a_file_are_counted_and_the_first_five_listed(
    tmp_path: Path, images: Path
) -> None:
    records = [
        v1(),
        v1(bbox=[190, 20, 20, 40]),  # 1 outside
        v1(bbox=[50, 20, -10, 40]),  # 2 degenerate
        v1("nope.png"),  # 3 missing image
        {"img_filename": "web.png", "instruction": "x", "bbox": [1, 2, 3, 4]},  # 4 no data_type
        v1(bbox="1,2,3,4"),  # 5 not numbers
        v1(data_type="widget"),  # 6 unknown type
        v1(bbox=[0, 0, 300, 10]),  # 7 outside
    ]
    path = annotation(tmp_path, "screenspot_web.json", records)
    with pytest.raises(ConfigurationError) as excinfo:
        load_samples([path], images)
    head = str(excinfo.value).splitlines()[0]
    assert head == f"annotation file {path} (screenspot): 7 problems:"
    lines = problems(excinfo)
    assert [line.split(":")[0] for line in lines[:5]] == [
        f"screenspot_web.json[{i}]" for i in range(1, 6)
    ]
    assert lines[5] == "... and 2 more"


def test_duplicate_ids_across_files(tmp_path: Path, images: Path) -> None:
    first = annotation(tmp_path, "vscode_windows.json", [pro()])
    second = annotation(tmp_path, "vscode_macos.json", [pro(id="other"), pro()])
    with pytest.raises(ConfigurationError) as excinfo:
        load_samples([first, second], images)
    assert str(second) in str(excinfo.value).splitlines()[0]
    assert problems(excinfo) == [
        "vscode_macos.json[1]: duplicate id 'vscode_windows_0' (first at vscode_windows.json[0])"
    ]


# --- paths and limits -----------------------------------------------------------------------


def test_a_folder_means_its_json_files_sorted(tmp_path: Path, images: Path) -> None:
    folder = tmp_path / "annotations"
    folder.mkdir()
    annotation(folder, "screenspot_web.json", [v1()])
    annotation(folder, "screenspot_desktop.json", [v1(), v1(data_type="icon")])
    (folder / "README.md").write_text("not an annotation", encoding="utf-8")
    samples = load_samples([folder], images)
    assert [s.id for s in samples] == [
        "screenspot_desktop:0",
        "screenspot_desktop:1",
        "screenspot_web:0",
    ]
    assert [s.platform for s in samples] == ["desktop", "desktop", "web"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigurationError, match="holds no \\*.json annotation files"):
        load_samples([empty], images)


def test_limit_keeps_the_first_samples_over_all_files(tmp_path: Path, images: Path) -> None:
    web = annotation(tmp_path, "screenspot_web.json", [v1(), v1(), v1("missing.png")])
    mobile = annotation(tmp_path, "screenspot_mobile.json", [v1("phone.png")])
    assert [s.id for s in load_samples([mobile, web], images, limit=2)] == [
        "screenspot_mobile:0",
        "screenspot_web:0",
    ]
    # records past the limit are not read, so a partial download can be tried
    assert len(load_samples([web], images, limit=2)) == 2
    assert load_samples([web], images, limit=0) == []
    with pytest.raises(ConfigurationError, match="missing.png does not exist"):
        load_samples([web], images, limit=3)
