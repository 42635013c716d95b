"""The location cache: where a script's targets were found, validated before it is reused.

A script such as ``desktop.click("Save")`` normally asks the model where "Save" is. The cache
remembers the answer in one JSON file per script or task (committed by its users, like a
snapshot): for each target, named by its description as written in the script (``key``) and
which use of that description it is (``occurrence``), the point acted on, the same point in
capture pixels, the monitor it was captured on, and a small image patch around it
(:func:`agent.screen.matching.crop_patch`, stored as base64 PNG).

A lookup never trusts the stored point alone; it fails closed. The live monitor's geometry and
scale must equal the stored ones, and :func:`agent.screen.matching.find_patch` must find the patch,
with one clear peak, near the stored pixel on the live capture. A hit returns where the patch is now
(the stored pixel moved by the patch's displacement); anything else is a miss with a one-line
reason, and the caller asks the model.

Modes: ``read-write`` looks up and stores; ``read-only`` looks up but never writes (for CI:
the file's bytes never change); ``off`` neither reads nor writes. A corrupt, unreadable or
newer file is a :class:`~agent.errors.ConfigurationError`, never ignored nor overwritten.
Writes are atomic: a temporary file in the same directory, then :func:`os.replace`.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import ConfigurationError, RecordingError
from agent.geometry import Monitor
from agent.screen.matching import Patch, crop_patch, find_patch
from agent.trajectory import MonitorRecord, now_iso

__all__ = [
    "CACHE_VERSION",
    "CacheEntry",
    "CacheFile",
    "CacheLookup",
    "CacheMode",
    "LocationCache",
    "decode_patch",
    "encode_patch",
]

CacheMode = Literal["read-write", "read-only", "off"]
CACHE_VERSION = 1

_GEOMETRY = ("left", "top", "width", "height", "scale")


def encode_patch(patch: Patch) -> str:
    """The patch's image as base64 PNG text (RGB)."""
    encoded = io.BytesIO()
    patch.image.convert("RGB").save(encoded, format="PNG")
    return base64.b64encode(encoded.getvalue()).decode("ascii")


def decode_patch(patch_png: str, anchor: tuple[int, int]) -> Patch:
    """The patch stored as ``patch_png`` (base64 PNG); ValueError if it is not one."""
    try:
        image = Image.open(io.BytesIO(base64.b64decode(patch_png, validate=True)))
        image.load()
    except (binascii.Error, OSError) as exc:
        raise ValueError(f"not a base64 PNG: {exc}") from exc
    if image.format != "PNG":
        raise ValueError(f"not a base64 PNG: a {image.format} image")
    return Patch(image, anchor)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CacheEntry(_Record):
    """Where one use of a target was found, and what the screen looked like around it."""

    key: str = Field(description="the target's description as written in the script")
    occurrence: int = Field(ge=0, description="0 for the first use of the key, 1 for the next")
    point: tuple[int, int] = Field(description="the screen point acted on (global coordinates)")
    pixel: tuple[float, float] = Field(description="the same point in capture pixels")
    monitor: MonitorRecord
    patch_png: str = Field(description="base64 PNG of the patch around the pixel")
    anchor: tuple[int, int] = Field(description="where the pixel lies inside the patch")
    source: str = Field(description='who found it first, e.g. "ocr" or "model:NAME"')
    updated_at: str

    @field_validator("patch_png")
    @classmethod
    def _is_png(cls, value: str) -> str:
        decode_patch(value, (0, 0))
        return value

    def patch(self) -> Patch:
        return decode_patch(self.patch_png, self.anchor)


class CacheFile(_Record):
    version: int = CACHE_VERSION
    entries: list[CacheEntry] = []


@dataclass(frozen=True)
class CacheLookup:
    """A lookup's answer: on a hit, where to act (capture pixels); else why it missed."""

    hit: bool
    pixel: tuple[float, float] | None
    reason: str
    score: float | None = None


class LocationCache:
    """The entries of one cache file, looked up and stored according to ``mode``."""

    def __init__(self, path: Path | str, mode: CacheMode = "read-write") -> None:
        if mode not in get_args(CacheMode):
            raise ConfigurationError(
                f"unknown location cache mode {mode!r}; use one of {', '.join(get_args(CacheMode))}"
            )
        self.path = Path(path)
        self.mode: CacheMode = mode
        self.hits = 0
        self.misses = 0
        self._entries = _load(self.path) if mode != "off" else {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[CacheEntry]:
        return list(self._entries.values())

    def lookup(
        self, key: str, occurrence: int, image: Image.Image, monitor: Monitor
    ) -> CacheLookup:
        """Where the ``occurrence``-th use of ``key`` is on ``image``, the live capture of
        ``monitor`` (physical pixels), if the stored entry still holds there."""
        if self.mode == "off":
            return CacheLookup(False, None, "cache off")
        answer = self._check(self._entries.get((key, occurrence)), image, monitor)
        if answer.hit:
            self.hits += 1
        else:
            self.misses += 1
        return answer

    def store(
        self,
        key: str,
        occurrence: int,
        image: Image.Image,
        monitor: Monitor,
        pixel: tuple[float, float],
        point: tuple[int, int],
        source: str,
    ) -> bool:
        """Remember that the ``occurrence``-th use of ``key`` was found at ``pixel`` of
        ``image`` (``point`` on screen) and write the file; False, touching nothing, unless the
        mode is read-write. An entry with the same key and occurrence is replaced in place."""
        if self.mode != "read-write":
            return False
        patch = crop_patch(image, *pixel)
        entry = CacheEntry(
            key=key,
            occurrence=occurrence,
            point=point,
            pixel=pixel,
            monitor=MonitorRecord.of(monitor),
            patch_png=encode_patch(patch),
            anchor=patch.anchor,
            source=source,
            updated_at=now_iso(),
        )
        entries = {**self._entries, (key, occurrence): entry}
        _write(self.path, entries)
        self._entries = entries
        return True

    @staticmethod
    def _check(entry: CacheEntry | None, image: Image.Image, monitor: Monitor) -> CacheLookup:
        if entry is None:
            return CacheLookup(False, None, "no entry")
        stored = entry.monitor.monitor()
        if any(getattr(stored, name) != getattr(monitor, name) for name in _GEOMETRY):
            reason = f"monitor changed: stored {stored.describe()}, now {monitor.describe()}"
            return CacheLookup(False, None, reason)
        x, y = entry.pixel
        match = find_patch(image, entry.patch(), (x, y))
        if not match.found or match.x is None or match.y is None:
            reason = f"patch not found near ({x:g}, {y:g}): {match.reason}"
            return CacheLookup(False, None, reason, match.score)
        pixel = (x + (match.x - round(x)), y + (match.y - round(y)))
        return CacheLookup(True, pixel, f"hit (score {match.score:.2f})", match.score)


def _load(path: Path) -> dict[tuple[str, int], CacheEntry]:
    """The entries of the cache file at ``path``; none if it does not exist."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read location cache {path}: {exc}") from exc
    version = data.get("version") if isinstance(data, dict) else None
    if version != CACHE_VERSION:
        raise ConfigurationError(
            f"location cache {path} has version {version!r}; this agent reads version"
            f" {CACHE_VERSION}"
        )
    try:
        entries = CacheFile.model_validate(data).entries
    except ValidationError as exc:
        raise ConfigurationError(f"invalid location cache {path}: {_first_error(exc)}") from exc
    by_key = {(entry.key, entry.occurrence): entry for entry in entries}
    if len(by_key) != len(entries):
        raise ConfigurationError(f"invalid location cache {path}: duplicate key and occurrence")
    return by_key


def _first_error(exc: ValidationError) -> str:
    """One line for a validation error: its first problem and how many there are."""
    errors = exc.errors()
    where = ".".join(str(part) for part in errors[0]["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {errors[0]['msg']}{more}"


def _write(path: Path, entries: dict[tuple[str, int], CacheEntry]) -> None:
    """Write the cache file atomically: a temporary file beside it, then a rename."""
    text = CacheFile(entries=list(entries.values())).model_dump_json(indent=2) + "\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as exc:
        raise RecordingError(f"cannot write location cache {path}: {exc}") from exc
