"""One grounding question of any benchmark (:class:`Sample`), and what its loaders share.

:mod:`agent.evaluation.benchmarks` reads the ScreenSpot formats and :mod:`agent.evaluation.suites`
OSWorld-G, UI-Vision and MMBench-GUI L2 into this one type; :class:`SampleReader` is the
per-file reader they share (problems collected as ``file[index]: ...`` and raised together).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = ["Sample", "SampleReader", "Target", "numbers"]

Target = Literal["box", "polygon", "refusal"]
"""What a sample asks for: a point in ``box``, a point in ``polygon``, or no point at all."""


@dataclass(frozen=True)
class Sample:
    """One grounding question: an image, an instruction and the target box in image pixels."""

    id: str
    """Pro's ``id`` when present, else ``f"{annotation file stem}:{index}"``."""
    annotation: Path
    """The annotation file."""
    index: int
    """Position in that file."""
    image: Path
    """Absolute path of the image file."""
    image_rel: str
    """The image path as the annotation names it (relative to the images folder)."""
    image_size: tuple[int, int]
    """Width, height of the image file, in pixels."""
    instruction: str
    box: tuple[float, float, float, float]
    """x1, y1, x2, y2 in image pixels, bounds inclusive."""
    platform: str
    ui_type: str
    """``text`` or ``icon``; OSWorld-G's ``box_type``, UI-Vision's ``element_type``."""
    group: str | None = None
    application: str | None = None
    source: str | None = None
    target: Target = "box"
    """``polygon``: the point must lie in :attr:`polygon` (``box`` is its bounding box);
    ``refusal``: the right answer declines (``box`` is empty, at the origin)."""
    polygon: tuple[float, ...] | None = None
    """Flat x1, y1, x2, y2, ... in image pixels, for a ``polygon`` target."""
    benchmark: str | None = None
    """``osworld-g``, ``ui-vision`` or ``mmbench-gui`` (their own breakdowns); None: ScreenSpot."""
    split: str | None = None
    """The annotation file's benchmark split: OSWorld-G's file stem, UI-Vision's
    basic/functional/spatial, MMBench-GUI's grounding_type basic/advanced."""
    categories: tuple[str, ...] | None = None
    """OSWorld-G's classes from ``classification_result.json`` (``unclassified`` when it does
    not name the item); None without that file."""


def numbers(value: object, count: int) -> list[float] | None:
    """``value`` as ``count`` finite numbers, or None."""
    if not isinstance(value, (list, tuple)) or len(value) != count:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return None
    numbers = [float(v) for v in value]
    return numbers if all(math.isfinite(v) for v in numbers) else None


class SampleReader(Protocol):
    """Reads one annotation file, collecting every problem (:mod:`agent.evaluation.benchmarks`)."""

    path: Path
    images: Path
    ids: dict[str, str]

    def error(self, index: int, message: str) -> None: ...

    def text(self, record: dict[str, Any], index: int, key: str) -> str | None: ...

    def image_size(self, image: Path) -> tuple[int, int] | str: ...

    def read(
        self,
        records: list[dict[str, Any]],
        fmt: Any,
        limit: int | None,
        convert: Callable[[dict[str, Any], int], Sample | None] | None = None,
    ) -> list[Sample]: ...
