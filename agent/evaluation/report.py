"""The visual report of an evaluation: one static HTML page showing every sample.

:func:`write_report` reads an evaluation directory (``results.jsonl``, ``manifest.json`` and, when
the run finished or was rescored, ``summary.json``) and writes ``report.html`` beside them. The
page follows the trajectory viewer (:mod:`agent.runs.viewer`): no server and no network, the data
embedded once as JSON (every ``<`` written as ``\\u003c``), its one script allowed by hash in a
Content-Security-Policy, every text (instructions, model answers) rendered with ``textContent``.

* **Thumbnails** are small JPEG files under ``thumbs/``, named by a hash of the image file (its
  resolved path, byte size and mtime) and the thumbnail size: each is made once per image, however
  many samples share it, and a later report of the same images reuses it. Each links to the full
  image, referenced by its path relative to ``report.html``. ``thumbnails=False`` shows the full
  images instead (the browser scales them).
* **Marks** are an SVG overlay whose viewBox is the ORIGINAL image size, the pixels the records
  are in: the ground-truth box (an OSWorld-G polygon target as its polygon, a refusal target
  with no mark: nothing is there), the predicted point (and box), and for a miss a line from the
  point to the nearest point of the box. The thumbnail is only the background, so the marks are
  exact at any display size.
* **Filters** by status, platform, group, type and application and a text search, with a live
  "N of M shown"; failures are listed first. Images load lazily, so 2,000 samples stay usable.

A resumed run may append a second line for a sample (an ``infra_error`` asked again): the last
line of a sample wins, as in the metric.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError

from agent.errors import ConfigurationError
from agent.evaluation.metric import distance_to_box
from agent.evaluation.outcomes import STATUSES, ResultRecord
from agent.page import write_page

__all__ = ["write_report"]

PAGE = "report.html"
RESULTS = "results.jsonl"
MANIFEST = "manifest.json"
SUMMARY = "summary.json"
THUMBS = "thumbs"
THUMB_BOX = (384, 288)  # a thumbnail fits in this box (display pixels)
_TEMPLATE = "report_page.html"
_PLACEHOLDER = "__REPORT_JSON__"
_MAIN_KEYS = ("model", "backend", "style", "prompt", "bounds", "decoding")  # shown first

Json = dict[str, Any]


def write_report(directory: Path | str, *, thumbnails: bool = True) -> Path:
    """Write ``directory/report.html``, the visual report of the evaluation there, and return its
    path. Raises :class:`~agent.errors.ConfigurationError` for a missing or unreadable
    ``results.jsonl`` or ``manifest.json`` (naming the bad line) or an unwritable page."""
    directory = Path(directory)
    records, truncated, superseded = _read_results(directory / RESULTS)
    manifest = _read_object(directory / MANIFEST, required=True)
    assert manifest is not None
    summary = _read_object(directory / SUMMARY, required=False)
    images = manifest.get("images")
    if not isinstance(images, str) or not images:
        raise ConfigurationError(f'{directory / MANIFEST}: no "images" folder named')
    image_dir = Path(images) if Path(images).is_absolute() else directory / images
    sources = [image_dir / r.image for r in records]
    if thumbnails:
        made = _Thumbnails(directory / THUMBS).make(sources)
        shots = [made[s] or _fit(r.image_size) for r, s in zip(records, sources, strict=True)]
    else:  # the full images, scaled by the browser
        shots = [
            _fit(r.image_size, _link(s, directory) if s.is_file() else None)
            for r, s in zip(records, sources, strict=True)
        ]
    samples = [
        _sample(n, r, src, directory, shot)
        for n, (r, src, shot) in enumerate(zip(records, sources, shots, strict=True))
    ]
    data = {
        "title": str(_signature(manifest).get("model") or directory.name),
        "directory": str(directory.resolve()),
        "signature": _facts(_signature(manifest)),
        "headline": _headline(summary),
        "has_summary": summary is not None,
        "counts": dict(Counter(r.status for r in records)),
        "statuses": list(STATUSES),
        "truncated": truncated,
        "superseded": superseded,
        "thumbnails": thumbnails,
        "samples": samples,
    }
    return write_page(
        directory / PAGE, ("agent.evaluation", _TEMPLATE), _PLACEHOLDER, data, "report"
    )


def _read_results(path: Path) -> tuple[list[ResultRecord], bool, int]:
    """The records (the last line of each sample, in the order samples first appear), whether a
    cut-off last line was ignored, and how many lines a later one for the same sample replaced."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{path.parent} is not an evaluation: no {RESULTS}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    lines = text.split("\n")
    truncated = bool(lines[-1].strip())  # no newline after it: cut off while being written
    by_id: dict[str, ResultRecord] = {}
    count = 0
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            record = ResultRecord.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise ConfigurationError(
                f"{path}:{number}: not a result record: {where}: {first['msg']}{more}"
            ) from None
        count += 1
        by_id[record.id] = record
    return list(by_id.values()), truncated, count - len(by_id)


def _read_object(path: Path, *, required: bool) -> Json | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ConfigurationError(
                f"{path.parent} is not an evaluation: no {path.name}"
            ) from None
        return None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path}: not readable JSON: {exc}".splitlines()[0]) from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"{path}: not a JSON object")
    return value


@dataclass(frozen=True)
class _Shot:
    """What the page shows behind the marks: a file (or none) and its display size."""

    src: str | None
    width: int
    height: int


def _fit(size: tuple[int, int], src: str | None = None) -> _Shot:
    """An image of ``size`` shown inside :data:`THUMB_BOX` (``src`` None: no picture)."""
    width, height = size
    scale = min(THUMB_BOX[0] / max(width, 1), THUMB_BOX[1] / max(height, 1), 1.0)
    return _Shot(src, max(1, round(width * scale)), max(1, round(height * scale)))


class _Thumbnails:
    """Thumbnail files, one per image, named by the image file and the thumbnail size."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def make(self, sources: Iterable[Path]) -> dict[Path, _Shot | None]:
        """A thumbnail of each distinct source (None: unreadable), made in parallel."""
        unique = list(dict.fromkeys(sources))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot write thumbnails to {self.folder}: {exc}") from exc
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            return dict(zip(unique, pool.map(self._one, unique), strict=True))

    def _one(self, source: Path) -> _Shot | None:
        try:
            stat = source.stat()
        except OSError:
            return None
        key = f"{source.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{THUMB_BOX}"
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + ".jpg"
        target = self.folder / name
        try:
            if not target.exists():
                tmp = target.with_name(f"{name}.{os.getpid()}.{threading.get_ident()}.tmp")
                with Image.open(source) as image:
                    image.draft("RGB", THUMB_BOX)  # JPEG sources decode at a reduced size
                    small = image if image.mode == "RGB" else image.convert("RGB")
                    small.thumbnail(THUMB_BOX)
                    small.save(tmp, "JPEG", quality=82)
                os.replace(tmp, target)
            with Image.open(target) as thumb:
                width, height = thumb.size
        except (OSError, UnidentifiedImageError, ValueError):
            return None
        return _Shot(f"{THUMBS}/{name}", width, height)


def _link(path: Path, start: Path) -> str:
    """``path`` as a URL relative to ``start`` (a file URL across drives)."""
    try:
        relative = os.path.relpath(path.resolve(), start.resolve())
    except ValueError:
        return path.resolve().as_uri()
    return quote(relative.replace(os.sep, "/"))


def _sample(order: int, record: ResultRecord, source: Path, directory: Path, shot: _Shot) -> Json:
    exists = source.is_file()
    frame = record.frame
    return {
        "order": order,
        "id": record.id,
        "annotation": record.annotation,
        "index": record.index,
        "instruction": record.instruction,
        "status": record.status,
        "platform": record.platform,
        "type": record.ui_type,
        "group": record.group,
        "application": record.application,
        "source": record.source,
        "prompt": record.prompt,
        "image": record.image,
        "href": _link(source, directory) if exists else None,
        "thumb": shot.src,
        "display": [shot.width, shot.height],
        "size": list(record.image_size),
        "box": list(record.box),
        "target": record.target,
        "polygon": list(record.polygon) if record.polygon is not None else None,
        "point": list(record.point) if record.point is not None else None,
        "answer_box": list(record.answer_box) if record.answer_box is not None else None,
        "distance": round(distance_to_box(record.point, record.box), 1)
        if record.point and record.target != "refusal"
        else None,
        "raw": record.raw,
        "error": record.error,
        "latency": record.latency_s,
        "tokens": [record.prompt_tokens, record.completion_tokens],
        "frame": f"{frame.width}x{frame.height}" if frame is not None else None,
    }


def _signature(manifest: Json) -> Json:
    signature = manifest.get("signature")
    if isinstance(signature, dict):
        return signature
    return {k: v for k, v in manifest.items() if k not in ("images", "signature")}


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return json.dumps(value)


def _facts(signature: Json) -> list[list[Any]]:
    """``[key, text, main]`` rows: model, backend, style, prompt, the pixel bounds and the
    decoding first (``main``), then the rest of the signature (the datasets' hashes, ...)."""
    rest = dict(signature)
    rows: list[list[Any]] = []
    for key in _MAIN_KEYS:
        if key == "bounds" and "bounds" not in rest and {"min_pixels", "max_pixels"} & set(rest):
            low, high = rest.pop("min_pixels", None), rest.pop("max_pixels", None)
            if low is not None or high is not None:
                rows.append(["bounds", f"{_text(low)}–{_text(high)} px", True])
        elif key in rest:
            rows.append([key, _text(rest.pop(key)), True])
    return rows + [[k, _text(v), False] for k, v in rest.items()]


def _percent(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value * 100:.1f} %"


def _own_keys(summary: Json) -> list[list[str]]:
    """``[label, text]`` rows of the headline numbers other benchmarks publish, under their own
    key names (:mod:`agent.evaluation.leaderboards`)."""
    rows: list[list[str]] = []
    boards = summary.get("osworld_g")
    for name, board in boards.items() if isinstance(boards, dict) else ():
        if isinstance(board, dict) and (value := _percent(board.get("Overall_Accuracy"))):
            rows.append([f"{name} Overall_Accuracy", value])
    for key, label, field in (
        ("ui_vision", "UI-Vision Final Avg", "Final Avg"),
        ("mmbench_gui_l2", "MMBench-GUI L2 Average accuracy", "Average accuracy"),
    ):
        board = summary.get(key)
        if isinstance(board, dict) and (value := _percent(board.get(field))):
            rows.append([label, value])
    return rows


def _headline(summary: Json | None) -> list[list[str]]:
    """``[label, text, kind]`` rows of the headline of ``summary.json`` (as written by
    :func:`agent.evaluation.metric.summarize`): micro and macro accuracy, labelled, the other
    benchmarks' own headline numbers, and the counts by status."""
    if summary is None:
        return []
    rows = []
    found = summary.get("accuracy")
    accuracy: Json = found if isinstance(found, dict) else {}
    if (micro := _percent(accuracy.get("micro"))) is not None:
        extra = []
        interval = accuracy.get("micro_ci95")
        if isinstance(interval, list) and len(interval) == 2:
            extra.append(f"95% CI {_percent(interval[0])}–{_percent(interval[1])}")
        if isinstance(summary.get("correct"), int) and isinstance(summary.get("scored"), int):
            extra.append(f"{summary['correct']:,} of {summary['scored']:,} scored")
        rows.append(
            ["Micro accuracy (per sample)", micro + (f" ({'; '.join(extra)})" if extra else "")]
        )
    if (macro := _percent(accuracy.get("macro"))) is not None:
        cells = accuracy.get("macro_cells")
        of = f"{cells} platform × type cells" if isinstance(cells, int) else "platform × type cells"
        rows.append([f"Macro accuracy (mean of {of})", macro])
    rows += _own_keys(summary)
    rows = [[label, text, "accuracy"] for label, text in rows]
    counts = summary.get("statuses")
    if isinstance(counts, dict) and all(isinstance(v, int) for v in counts.values()):
        text = ", ".join(f"{k} {v:,}" for k, v in counts.items())
        rows.append(["By status", text, "counts"])
    return rows
