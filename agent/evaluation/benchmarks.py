"""Annotation files of ScreenSpot-style benchmarks, read into one :class:`Sample` type.

Three formats, told apart by the file's fields and values (:func:`detect_format`), never guessed
silently:

``screenspot``
    ScreenSpot v1 (SeeClick) and v2 (OS-Atlas): ``img_filename, instruction, bbox, data_type``
    (``text``/``icon``), ``data_source``; ``bbox`` is **x, y, w, h** in image pixels.
``screenspot-pro``
    ScreenSpot-Pro: ``id, img_filename, bbox, img_size, instruction, instruction_cn,
    application, platform, group, ui_type``; ``bbox`` is **x1, y1, x2, y2** in image pixels and
    ``img_size`` (width, height) must equal the image file's real size.
``normalized``
    The Hugging Face mirrors exported to JSON (``HongxinLi/ScreenSpot_v2``; lmms-eval's
    ``rootsautomation/ScreenSpot`` tasks read ``file_name`` and such a ``bbox``): the ScreenSpot
    fields (the image named ``img_filename`` or ``file_name``) with ``bbox`` as **x1, y1, x2, y2
    in fractions 0-1** of the image, scaled here by the image file's real size.

``osworld-g``, ``ui-vision``, ``mmbench-gui``
    OSWorld-G, UI-Vision element grounding and MMBench-GUI L2, read by
    :mod:`agent.evaluation.suites` (polygon and refusal targets, normalised boxes): records with
    ``box_type`` and ``box_coordinates``, ``prompt_to_evaluate``, or ``grounding_type``.

The rule (per file): those three first, by the fields just named. Then a file whose records
carry ``img_size`` or ``ui_type`` is
``screenspot-pro``. Otherwise a file whose records carry ``data_type`` is ``normalized`` when its
records say ``"bbox_type": "norm"`` (or ``norm1``, ms-swift's name, or ``normalized``), or when
every record's four ``bbox`` numbers lie in [0, 1] with x2 > x1 and y2 > y1 (pixel boxes never
fit inside one pixel); else it is ``screenspot`` (xywh pixels). Anything else is a
:class:`~agent.errors.ConfigurationError`.

The platform of a ScreenSpot (or mirror) record comes from the file name
``screenspot_{mobile,desktop,web}[_v2].json``; failing that, from a ``platform`` field; failing
that, from its ``data_source`` as SeeClick grouped them (``ios``/``android``: mobile,
``windows``/``macos``: desktop, ``shop``/``forum``/``tool``/``gitlab``: web).

Every record is validated before anything is used: missing fields, a ``bbox`` that is not four
numbers, a degenerate box (x2 < x1 or y2 < y1; zero width is allowed), a box outside its image
(no slack: 0 <= x1, x2 <= width, same for y), a missing or unreadable image, a wrong
``img_size``, an unknown ``ui_type``, duplicate ids. The problems of a file are collected and
raised as one ConfigurationError that names the file and counts them, listing the first few as
``screenspot_web.json[17]: box (1900, 20, 2050, 60) lies outside the 1920x1080 image``.
Image sizes are read from the file header (PIL opens lazily; nothing is decoded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from agent.errors import ConfigurationError
from agent.evaluation.samples import Sample, Target
from agent.evaluation.samples import numbers as _numbers
from agent.evaluation.suites import CLASSIFICATION, read_suite

__all__ = ["AnnotationFormat", "Sample", "Target", "detect_format", "load_samples"]

AnnotationFormat = Literal[
    "screenspot", "screenspot-pro", "normalized", "osworld-g", "ui-vision", "mmbench-gui"
]
_UI_TYPES = ("text", "icon")
_SHOWN_ERRORS = 5
_PLATFORM_NAME = re.compile(r"^screenspot_(mobile|desktop|web)(?:_v2)?$")
_SOURCE_PLATFORM = {
    "ios": "mobile",
    "android": "mobile",
    "windows": "desktop",
    "macos": "desktop",
    "shop": "web",
    "forum": "web",
    "tool": "web",
    "gitlab": "web",
}
_NORM_BBOX_TYPES = ("norm", "norm1", "normalized")
_REQUIRED: dict[AnnotationFormat, tuple[str, ...]] = {
    "screenspot": ("img_filename", "instruction", "bbox", "data_type"),
    "screenspot-pro": (
        "img_filename",
        "instruction",
        "bbox",
        "img_size",
        "platform",
        "application",
        "ui_type",
    ),
    "normalized": ("instruction", "bbox", "data_type"),
}


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"annotation file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"annotation file {path} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"annotation file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg})"
        ) from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ConfigurationError(f"annotation file {path} is not a JSON list of records")
    return data


def _is_fraction_box(value: object) -> bool:
    box = _numbers(value, 4)
    return (
        box is not None
        and all(0.0 <= v <= 1.0 for v in box)
        and box[2] > box[0]
        and box[3] > box[1]
    )


def detect_format(records: list[dict[str, Any]], path: Path) -> AnnotationFormat:
    """The format of an annotation file's records (the rule is in the module docstring).

    Raises :class:`ConfigurationError`, one line naming ``path``, for a file that fits none."""
    if not records:
        raise ConfigurationError(f"annotation file {path} holds no records")
    fields = set().union(*(r.keys() for r in records))
    if "box_type" in fields and "box_coordinates" in fields:
        return "osworld-g"
    if "prompt_to_evaluate" in fields:
        return "ui-vision"
    if "grounding_type" in fields:
        return "mmbench-gui"
    if "img_size" in fields or "ui_type" in fields:
        return "screenspot-pro"
    if "data_type" in fields:
        bbox_types = {r.get("bbox_type") for r in records} - {None}
        if bbox_types:
            if not bbox_types <= set(_NORM_BBOX_TYPES):
                raise ConfigurationError(
                    f"annotation file {path}: unknown bbox_type {sorted(map(str, bbox_types))}; "
                    f"known: {', '.join(_NORM_BBOX_TYPES)} (fractions 0-1 of the image)"
                )
            return "normalized"
        if all(_is_fraction_box(r.get("bbox")) for r in records):
            return "normalized"
        return "screenspot"
    raise ConfigurationError(
        f"annotation file {path} fits no known format: ScreenSpot v1/v2 records have "
        "img_filename, instruction, bbox, data_type; ScreenSpot-Pro records also have img_size "
        f"and ui_type; its fields are {', '.join(sorted(fields)) or 'none'}"
    )


def _expand(paths: Sequence[Path | str]) -> list[Path]:
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(f for f in path.glob("*.json") if f.name != CLASSIFICATION)
            if not found:
                raise ConfigurationError(f"folder {path} holds no *.json annotation files")
            files.extend(found)
        else:
            files.append(path)
    return files


def _fmt(box: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in box) + ")"


class _FileReader:
    """Reads one annotation file into samples, collecting every problem it finds."""

    def __init__(
        self,
        path: Path,
        images: Path,
        lang: Literal["en", "cn"],
        sizes: dict[Path, tuple[int, int] | str],
        ids: dict[str, str],
    ) -> None:
        self.path = path
        self.images = images
        self.lang = lang
        self.sizes = sizes
        self.ids = ids
        self.errors: list[str] = []
        match = _PLATFORM_NAME.match(path.stem)
        self.name_platform = match.group(1) if match else None

    def error(self, index: int, message: str) -> None:
        self.errors.append(f"{self.path.name}[{index}]: {message}")

    def image_size(self, image: Path) -> tuple[int, int] | str:
        """The image's width and height from its header, or why it has none."""
        if image not in self.sizes:
            try:
                with Image.open(image) as im:
                    self.sizes[image] = (int(im.width), int(im.height))
            except FileNotFoundError:
                self.sizes[image] = f"image {image} does not exist"
            except (OSError, UnidentifiedImageError) as exc:
                self.sizes[image] = f"image {image} cannot be read: {exc}"
        return self.sizes[image]

    def text(self, record: dict[str, Any], index: int, key: str) -> str | None:
        value = record.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(index, f"{key} is not a string: {value!r}")
            return None
        return value

    def platform(self, record: dict[str, Any], index: int) -> str | None:
        if self.name_platform is not None:
            return self.name_platform
        given = record.get("platform")
        if isinstance(given, str) and given:
            return given
        source = record.get("data_source")
        if isinstance(source, str) and source.lower() in _SOURCE_PLATFORM:
            return _SOURCE_PLATFORM[source.lower()]
        self.error(
            index,
            f"cannot tell the platform: the file is not named screenspot_{{mobile,desktop,web}}"
            f"[_v2].json, the record has no platform and its data_source {source!r} is none of "
            f"{', '.join(_SOURCE_PLATFORM)}",
        )
        return None

    def read(
        self,
        records: list[dict[str, Any]],
        fmt: AnnotationFormat,
        limit: int | None,
        convert: Callable[[dict[str, Any], int], Sample | None] | None = None,
    ) -> list[Sample]:
        """The samples of ``records`` (each read by ``convert``, by default ScreenSpot's
        :meth:`record`); raises one ConfigurationError listing every problem."""
        samples: list[Sample] = []
        for index, record in enumerate(records):
            if limit is not None and len(samples) >= limit:
                break
            count = len(self.errors)
            if convert is None:
                sample = self.record(record, index, fmt)
            else:
                sample = convert(record, index)
            if sample is not None and len(self.errors) == count:
                samples.append(sample)
        if self.errors:
            shown = "\n  ".join(self.errors[:_SHOWN_ERRORS])
            more = len(self.errors) - _SHOWN_ERRORS
            tail = f"\n  ... and {more} more" if more > 0 else ""
            raise ConfigurationError(
                f"annotation file {self.path} ({fmt}): {len(self.errors)} problem"
                f"{'s' if len(self.errors) != 1 else ''}:\n  {shown}{tail}"
            )
        return samples

    def record(self, record: dict[str, Any], index: int, fmt: AnnotationFormat) -> Sample | None:
        required = list(_REQUIRED[fmt])
        if fmt == "normalized":
            required.append("file_name" if "img_filename" not in record else "img_filename")
        missing = [key for key in required if key not in record]
        if missing:
            self.error(
                index, f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
            )
            return None
        image_key = "img_filename" if "img_filename" in record else "file_name"
        rel = self.text(record, index, image_key)
        instruction = self.text(record, index, "instruction")
        ui_type = self.text(record, index, "ui_type" if fmt == "screenspot-pro" else "data_type")
        if ui_type is not None and ui_type not in _UI_TYPES:
            self.error(index, f"ui type {ui_type!r} is neither text nor icon")
        platform = self.text(record, index, "platform") if fmt == "screenspot-pro" else None
        if fmt != "screenspot-pro":
            platform = self.platform(record, index)
        raw_box = _numbers(record["bbox"], 4)
        if raw_box is None:
            self.error(index, f"bbox is not four numbers: {record['bbox']!r}")
        if rel is None or instruction is None or ui_type is None or platform is None:
            return None
        image = (self.images / rel).absolute()
        size = self.image_size(image)
        if isinstance(size, str):
            self.error(index, size)
            return None
        width, height = size
        if fmt == "screenspot-pro":
            declared = _numbers(record["img_size"], 2)
            if declared is None or declared != [float(width), float(height)]:
                self.error(
                    index,
                    f"img_size {record['img_size']!r} differs from the image's real size "
                    f"{width}x{height} ({rel})",
                )
        if raw_box is None:
            return None
        if fmt == "screenspot":
            x, y, w, h = raw_box
            box = (x, y, x + w, y + h)
        elif fmt == "normalized":
            box = (raw_box[0] * width, raw_box[1] * height, raw_box[2] * width, raw_box[3] * height)
        else:
            box = (raw_box[0], raw_box[1], raw_box[2], raw_box[3])
        if box[2] < box[0] or box[3] < box[1]:
            self.error(index, f"degenerate box {_fmt(box)}: x2 < x1 or y2 < y1")
        elif box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
            self.error(index, f"box {_fmt(box)} lies outside the {width}x{height} image")
        sample_id = record.get("id")
        if sample_id is None or sample_id == "":
            sample_id = f"{self.path.stem}:{index}"
        sample_id = str(sample_id)
        where = f"{self.path.name}[{index}]"
        if sample_id in self.ids:
            self.error(index, f"duplicate id {sample_id!r} (first at {self.ids[sample_id]})")
        else:
            self.ids[sample_id] = where
        if self.lang == "cn":
            cn = self.text(record, index, "instruction_cn")
            if cn:
                instruction = cn
        return Sample(
            id=sample_id,
            annotation=self.path,
            index=index,
            image=image,
            image_rel=rel,
            image_size=(width, height),
            instruction=instruction,
            box=box,
            platform=platform,
            ui_type=ui_type,
            group=self.text(record, index, "group"),
            application=self.text(record, index, "application"),
            source=self.text(record, index, "data_source"),
        )


def load_samples(
    paths: Sequence[Path | str],
    images: Path | str,
    *,
    lang: Literal["en", "cn"] = "en",
    limit: int | None = None,
) -> list[Sample]:
    """The samples of ``paths`` (annotation files, or folders: all their ``*.json`` but
    OSWorld-G's ``classification_result.json``, sorted), in order, with images under ``images``.

    ``lang="cn"`` uses a record's ``instruction_cn`` where it has a non-empty one. ``limit``
    keeps the first ``limit`` samples over all files; records and files past it are not read
    (nor validated). Ids must be unique over all files. Raises :class:`ConfigurationError`
    naming the file (and the record's index) for anything wrong."""
    if limit is not None and limit < 0:
        raise ConfigurationError(f"limit must be >= 0, not {limit}")
    root = Path(images)
    if not root.is_dir():
        raise ConfigurationError(f"images folder {root} does not exist or is not a folder")
    sizes: dict[Path, tuple[int, int] | str] = {}
    ids: dict[str, str] = {}
    samples: list[Sample] = []
    for path in _expand(paths):
        left = None if limit is None else limit - len(samples)
        if left is not None and left <= 0:
            break
        records = _read_json(path)
        fmt = detect_format(records, path)
        reader = _FileReader(path, root, lang, sizes, ids)
        if fmt in ("osworld-g", "ui-vision", "mmbench-gui"):
            samples.extend(read_suite(reader, records, fmt, left))
        else:
            samples.extend(reader.read(records, fmt, left))
    return samples
