"""Annotation files of OSWorld-G, UI-Vision and MMBench-GUI L2, read into :class:`Sample`.

:mod:`agent.evaluation.benchmarks` detects these formats per file and hands their records here;
problems are collected by its reader, naming ``file[index]``, and raised together.

``osworld-g`` (``OSWorld-G.json``, ``OSWorld-G_refined.json``)
    ``id, image_path, image_size [w, h], instruction, box_type, box_coordinates, GUI_types``.
    ``bbox``: ``[x, y, w, h]`` pixels; ``polygon``: flat ``[x1, y1, x2, y2, ...]`` pixels (the
    sample's ``box`` is its bounding box); ``refusal``: nothing to find (the right answer
    declines). An optional ``classification_result.json`` beside the file gives each item's
    classes, either ``{class: [id, ...]}`` or ``{id: [class, ...]}``; items it does not name
    are ``unclassified``.
``ui-vision`` (``element_grounding_{basic,functional,spatial}.json``)
    ``image_path, image_size, prompt_to_evaluate, bbox, element_type, platform``; ``bbox`` is
    x1, y1, x2, y2 pixels, its corners swapped when reversed (as ``eval_uivision.py`` does).
``mmbench-gui`` (``L2_annotations.json``, images under ``offline_images/<platform>/``)
    ``image_path, instruction, bbox, grounding_type (basic|advanced), data_type (text|icon),
    platform``; ``bbox`` x1, y1, x2, y2 as fractions 0-1 of the image, or pixels when a number
    exceeds 1. The image is looked up as ``image_path``, then ``<platform>/<image_path>``.

Ids are ``"{file stem}:{id}"`` (OSWorld-G and its refined file share their ids).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.errors import ConfigurationError
from agent.evaluation.samples import Sample, SampleReader
from agent.evaluation.samples import numbers as _numbers
from agent.evaluation.shapes import polygon_bounds

__all__ = ["CLASSIFICATION", "UNCLASSIFIED", "read_suite"]

CLASSIFICATION = "classification_result.json"
UNCLASSIFIED = "unclassified"
_BOX_TYPES = ("bbox", "polygon", "refusal")
_GROUNDING_TYPES = ("basic", "advanced")
_REQUIRED: dict[str, tuple[str, ...]] = {
    "osworld-g": ("image_path", "instruction", "box_type", "box_coordinates"),
    "ui-vision": ("image_path", "prompt_to_evaluate", "bbox"),
    "mmbench-gui": ("image_path", "instruction", "bbox", "grounding_type", "data_type", "platform"),
}


def read_suite(
    reader: SampleReader,
    records: list[dict[str, Any]],
    fmt: str,
    limit: int | None,
) -> list[Sample]:
    """The samples of one OSWorld-G, UI-Vision or MMBench-GUI L2 file."""
    classes = _classification(reader.path) if fmt == "osworld-g" else None
    suite = _Suite(reader, fmt, classes, records)
    return reader.read(records, fmt, limit, suite.sample)


def _classification(path: Path) -> dict[str, list[str]] | None:
    """``classification_result.json`` beside ``path`` as ``{class: [id, ...]}``, or None."""
    source = path.with_name(CLASSIFICATION)
    if not source.is_file():
        return None
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{source} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source} is not a JSON object of classes")
    table: dict[str, list[str]] = {}
    for key, value in data.items():
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, (str, int)) for v in items):
            raise ConfigurationError(f"{source}: {key!r} is not a list of names")
        table[str(key)] = [str(v) for v in items]
    return table


class _Suite:
    def __init__(
        self,
        reader: SampleReader,
        fmt: str,
        classes: dict[str, list[str]] | None,
        records: Sequence[dict[str, Any]],
    ) -> None:
        self.reader = reader
        self.fmt = fmt
        self.by_id: dict[str, tuple[str, ...]] | None = None
        if classes is not None:
            ids = {str(r.get("id")) for r in records}
            by_id: dict[str, list[str]] = {}
            if set(classes) & ids:  # {id: [class, ...]}
                by_id = {k: list(v) for k, v in classes.items()}
            else:  # {class: [id, ...]}
                for name, members in classes.items():
                    for member in members:
                        by_id.setdefault(member, []).append(name)
            self.by_id = {k: tuple(dict.fromkeys(v)) for k, v in by_id.items()}
        stem = reader.path.stem
        self.split = stem.removeprefix("element_grounding_") if fmt == "ui-vision" else stem

    def sample(self, record: dict[str, Any], index: int) -> Sample | None:
        reader = self.reader
        missing = [key for key in _REQUIRED[self.fmt] if key not in record]
        if missing:
            reader.error(index, f"missing field{'s' if len(missing) > 1 else ''} "
                                f"{', '.join(missing)}")  # fmt: skip
            return None
        rel = reader.text(record, index, "image_path")
        key = "prompt_to_evaluate" if self.fmt == "ui-vision" else "instruction"
        instruction = reader.text(record, index, key)
        if rel is None or instruction is None:
            return None
        platform = reader.text(record, index, "platform")
        candidates = [rel] + (
            [f"{platform}/{rel}"] if self.fmt == "mmbench-gui" and platform else []
        )
        found = self._image(index, candidates)
        if found is None:
            return None
        rel, image, (width, height) = found
        if "image_size" in record:
            declared = _numbers(record["image_size"], 2)
            if declared is None or declared != [float(width), float(height)]:
                reader.error(index, f"image_size {record['image_size']!r} differs from the "
                                    f"image's real size {width}x{height} ({rel})")  # fmt: skip
        raw_id = record.get("id", record.get("index"))
        own = str(raw_id) if raw_id not in (None, "") else str(index)
        sample_id = f"{reader.path.stem}:{own}"
        if sample_id in reader.ids:
            reader.error(index, f"duplicate id {sample_id!r} (first at {reader.ids[sample_id]})")
        else:
            reader.ids[sample_id] = f"{reader.path.name}[{index}]"
        common: dict[str, Any] = {
            "id": sample_id,
            "annotation": reader.path,
            "index": index,
            "image": image,
            "image_rel": rel,
            "image_size": (width, height),
            "instruction": instruction,
            "benchmark": self.fmt,
        }
        if self.fmt == "osworld-g":
            return self._osworld(record, index, common, own)
        if self.fmt == "ui-vision":
            return self._uivision(record, index, common, platform)
        return self._mmbench(record, index, common, platform)

    def _image(self, index: int, candidates: list[str]) -> tuple[str, Path, tuple[int, int]] | None:
        first: str | None = None
        for rel in candidates:
            image = (self.reader.images / rel).absolute()
            size = self.reader.image_size(image)
            if not isinstance(size, str):
                return rel, image, size
            first = first or size
        self.reader.error(index, first or "no image")
        return None

    def _check(
        self, index: int, box: tuple[float, float, float, float], size: tuple[int, int]
    ) -> None:
        width, height = size
        text = "(" + ", ".join(f"{v:g}" for v in box) + ")"
        if box[2] < box[0] or box[3] < box[1]:
            self.reader.error(index, f"degenerate box {text}: x2 < x1 or y2 < y1")
        elif box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
            self.reader.error(index, f"box {text} lies outside the {width}x{height} image")

    def _osworld(
        self, record: dict[str, Any], index: int, common: dict[str, Any], own: str
    ) -> Sample | None:
        kind = record["box_type"]
        if kind not in _BOX_TYPES:
            self.reader.error(index, f"box_type {kind!r} is none of {', '.join(_BOX_TYPES)}")
            return None
        coords = record["box_coordinates"]
        polygon: tuple[float, ...] | None = None
        box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        if kind == "bbox":
            xywh = _numbers(coords, 4)
            if xywh is None:
                self.reader.error(index, f"bbox box_coordinates is not four numbers: {coords!r}")
                return None
            box = (xywh[0], xywh[1], xywh[0] + xywh[2], xywh[1] + xywh[3])
        elif kind == "polygon":
            count = len(coords) if isinstance(coords, list) else 0
            flat = _numbers(coords, count) if count >= 6 and count % 2 == 0 else None
            if flat is None:
                self.reader.error(index, "polygon box_coordinates is not an even list of at "
                                         f"least 6 numbers: {coords!r}")  # fmt: skip
                return None
            polygon = tuple(flat)
            box = polygon_bounds(polygon)
        if kind != "refusal":
            self._check(index, box, common["image_size"])
        types = record.get("GUI_types")
        categories = None
        if self.by_id is not None:
            categories = self.by_id.get(own) or (UNCLASSIFIED,)
        return Sample(
            **common,
            box=box,
            platform="linux",
            ui_type=kind,
            target="box" if kind == "bbox" else kind,
            polygon=polygon,
            split=self.split,
            categories=categories,
            source=", ".join(map(str, types)) if isinstance(types, list) and types else None,
        )

    def _uivision(
        self, record: dict[str, Any], index: int, common: dict[str, Any], platform: str | None
    ) -> Sample | None:
        raw = _numbers(record["bbox"], 4)
        if raw is None:
            self.reader.error(index, f"bbox is not four numbers: {record['bbox']!r}")
            return None
        x1, y1, x2, y2 = raw
        box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        self._check(index, box, common["image_size"])
        element = record.get("element_type")
        return Sample(
            **common,
            box=box,
            platform=platform or "unknown",
            ui_type=str(element) if element else "element",
            split=self.split,
        )

    def _mmbench(
        self, record: dict[str, Any], index: int, common: dict[str, Any], platform: str | None
    ) -> Sample | None:
        raw = _numbers(record["bbox"], 4)
        grounding = record["grounding_type"]
        data_type = record["data_type"]
        if grounding not in _GROUNDING_TYPES:
            self.reader.error(index, f"grounding_type {grounding!r} is neither basic nor advanced")
        if data_type not in ("text", "icon"):
            self.reader.error(index, f"data_type {data_type!r} is neither text nor icon")
        if raw is None:
            self.reader.error(index, f"bbox is not four numbers: {record['bbox']!r}")
        if raw is None or platform is None:
            return None
        width, height = common["image_size"]
        if all(0.0 <= v <= 1.0 for v in raw):
            raw = [raw[0] * width, raw[1] * height, raw[2] * width, raw[3] * height]
        box = (raw[0], raw[1], raw[2], raw[3])
        self._check(index, box, (width, height))
        return Sample(
            **common,
            box=box,
            platform=platform,
            ui_type=str(data_type),
            split=str(grounding),
        )
