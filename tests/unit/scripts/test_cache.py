"""LocationCache: stored locations are reused only when the live screen validates them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.errors import ConfigurationError, RecordingError
from agent.geometry import Monitor
from agent.screen.matching import crop_patch
from agent.scripts.location_cache import CACHE_VERSION, LocationCache, decode_patch, encode_patch

MONITOR = Monitor(index=1, left=0, top=0, width=1920, height=1080, scale=1.0, is_primary=True)
FONT = ImageFont.load_default(size=16)
SAVE = (560.0, 300.0)
OK_FIRST = (400.0, 700.0)
OK_SECOND = (1400.0, 700.0)


def desktop(offset: tuple[int, int] = (0, 0)) -> Image.Image:
    """A toolbar (Save at SAVE) and two dialogs' OK buttons, all moved by ``offset``."""
    image = Image.new("RGB", (1920, 1080), (236, 236, 236))
    draw = ImageDraw.Draw(image)
    buttons = [("File", 200.0, 300.0), ("Edit", 320.0, 300.0), ("View", 440.0, 300.0)]
    buttons += [("Save", *SAVE), ("OK", *OK_FIRST), ("Cancel", 520.0, 700.0), ("OK", *OK_SECOND)]
    for label, x, y in buttons:
        x, y = x + offset[0], y + offset[1]
        draw.rounded_rectangle((x - 48, y - 16, x + 48, y + 16), 6, fill="white", outline="gray")
        draw.text((x, y), label, fill="black", font=FONT, anchor="mm")
    draw.ellipse((1380 + offset[0], 660 + offset[1], 1390 + offset[0], 670 + offset[1]), "red")
    return image


def store(cache: LocationCache, key: str = "Save", pixel: tuple[float, float] = SAVE) -> bool:
    point = (round(pixel[0]), round(pixel[1]))
    return cache.store(key, 0, desktop(), MONITOR, pixel, point, "model:test")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "caches" / "script.json"


def test_a_stored_location_is_a_hit_where_it_was(path: Path) -> None:
    cache = LocationCache(path)
    assert store(cache, pixel=(560.4, 299.6))
    found = cache.lookup("Save", 0, desktop(), MONITOR)
    assert found.hit and found.reason == "hit (score 1.00)"
    assert found.pixel == (560.4, 299.6)
    assert found.score == pytest.approx(1.0)
    assert (cache.hits, cache.misses) == (1, 0)


def test_a_hit_follows_content_that_moved(path: Path) -> None:
    cache = LocationCache(path)
    store(cache)
    found = cache.lookup("Save", 0, desktop(offset=(10, -4)), MONITOR)
    assert found.hit
    assert found.pixel == (SAVE[0] + 10, SAVE[1] - 4)


@pytest.mark.parametrize(
    ("monitor", "now"),
    [
        (replace(MONITOR, left=1920), "monitor 1 1920x1080+1920+0 scale 1"),
        (replace(MONITOR, scale=2.0), "monitor 1 1920x1080+0+0 scale 2"),
        (replace(MONITOR, width=1280, height=720), "monitor 1 1280x720+0+0 scale 1"),
    ],
)
def test_a_changed_monitor_misses(path: Path, monitor: Monitor, now: str) -> None:
    cache = LocationCache(path)
    store(cache)
    missed = cache.lookup("Save", 0, desktop(), monitor)
    assert (missed.hit, missed.pixel, missed.score) == (False, None, None)
    assert missed.reason == f"monitor changed: stored monitor 1 1920x1080+0+0 scale 1, now {now}"
    assert (cache.hits, cache.misses) == (0, 1)


def test_content_that_moved_far_misses(path: Path) -> None:
    cache = LocationCache(path)
    store(cache)
    missed = cache.lookup("Save", 0, desktop(offset=(0, 60)), MONITOR)
    assert not missed.hit and missed.pixel is None
    assert missed.reason.startswith("patch not found near (560, 300): best match ")
    assert missed.reason.endswith(" is under 0.95")
    assert missed.score is not None and missed.score < 0.9


def test_no_entry_misses(path: Path) -> None:
    cache = LocationCache(path)
    store(cache)
    assert cache.lookup("Open", 0, desktop(), MONITOR).reason == "no entry"
    assert cache.lookup("Save", 1, desktop(), MONITOR).reason == "no entry"
    assert cache.misses == 2


def test_read_only_never_writes(path: Path) -> None:
    store(LocationCache(path))
    before = path.read_bytes()
    cache = LocationCache(path, "read-only")
    assert cache.lookup("Save", 0, desktop(), MONITOR).hit
    assert not cache.lookup("Save", 0, desktop(offset=(0, 80)), MONITOR).hit
    assert not store(cache, "Open")
    assert not store(cache, "Save", (500.0, 300.0))
    assert len(cache) == 1
    assert path.read_bytes() == before
    assert sorted(path.parent.iterdir()) == [path]


def test_read_only_with_no_file_creates_none(path: Path) -> None:
    cache = LocationCache(path, "read-only")
    assert not store(cache)
    assert not path.parent.exists()


def test_off_never_reads_nor_writes(path: Path) -> None:
    store(LocationCache(path))
    before = path.read_bytes()
    cache = LocationCache(path, "off")
    assert len(cache) == 0
    assert cache.lookup("Save", 0, desktop(), MONITOR).reason == "cache off"
    assert not store(cache)
    assert (cache.hits, cache.misses) == (0, 0)
    assert path.read_bytes() == before
    path.write_text("not json")
    assert LocationCache(path, "off").lookup("Save", 0, desktop(), MONITOR).reason == "cache off"


def test_replacing_keeps_the_position_and_the_count(path: Path) -> None:
    cache = LocationCache(path)
    for key, pixel in [("File", (200.0, 300.0)), ("Save", SAVE), ("Edit", (320.0, 300.0))]:
        store(cache, key, pixel)
    store(cache, "Save", (440.0, 300.0))
    assert [entry.key for entry in cache.entries] == ["File", "Save", "Edit"]
    assert cache.entries[1].pixel == (440.0, 300.0)
    on_disk = json.loads(path.read_text())["entries"]
    assert [entry["key"] for entry in on_disk] == ["File", "Save", "Edit"]
    assert on_disk[1]["pixel"] == [440.0, 300.0]


def test_occurrence_distinguishes_uses_of_the_same_key(path: Path) -> None:
    cache = LocationCache(path)
    for occurrence, pixel in enumerate([OK_FIRST, OK_SECOND]):
        point = (round(pixel[0]), round(pixel[1]))
        cache.store("OK", occurrence, desktop(), MONITOR, pixel, point, "ocr")
    assert len(cache) == 2
    assert cache.lookup("OK", 0, desktop(), MONITOR).pixel == OK_FIRST
    assert cache.lookup("OK", 1, desktop(), MONITOR).pixel == OK_SECOND


def test_the_file_is_written_atomically_and_readably(path: Path) -> None:
    cache = LocationCache(path)
    store(cache)
    store(cache, "Edit", (320.0, 300.0))
    assert sorted(path.parent.iterdir()) == [path]
    text = path.read_text()
    assert text.startswith('{\n  "version": 1,\n  "entries": [\n    {\n      "key": "Save",')
    assert text.endswith("}\n")


def test_a_failed_write_raises_and_changes_nothing(path: Path) -> None:
    cache = LocationCache(path)
    path.mkdir(parents=True)
    with pytest.raises(RecordingError, match="cannot write location cache .*script.json"):
        store(cache)
    assert len(cache) == 0
    assert sorted(path.parent.iterdir()) == [path]


def test_a_fresh_cache_reads_the_file_back(path: Path) -> None:
    first = LocationCache(path)
    store(first)
    store(first, "File", (200.0, 300.0))
    second = LocationCache(path)
    assert second.entries == first.entries
    entry = second.entries[0]
    assert (entry.key, entry.occurrence, entry.point) == ("Save", 0, (560, 300))
    assert entry.source == "model:test"
    assert entry.monitor.monitor() == MONITOR
    assert second.lookup("Save", 0, desktop(offset=(-6, 3)), MONITOR).pixel == (554.0, 303.0)


def test_the_patch_round_trips_as_png() -> None:
    patch = crop_patch(desktop(), *SAVE)
    decoded = decode_patch(encode_patch(patch), patch.anchor)
    assert decoded.anchor == patch.anchor
    assert decoded.image.tobytes() == patch.image.tobytes()


def written(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def valid_entry(path: Path) -> dict[str, object]:
    cache = LocationCache(path.with_name("source.json"))
    store(cache)
    return cache.entries[0].model_dump(mode="json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read location cache .*script.json: "),
        ("[]", "location cache .*script.json has version None; this agent reads version 1"),
        ('{"version": 2, "entries": []}', "location cache .*script.json has version 2"),
        ('{"version": 0}', "location cache .*script.json has version 0"),
        ('{"version": 1, "entries": [{}]}', "invalid location cache .*script.json: entries.0.key"),
        ('{"version": 1, "extra": 1}', "invalid location cache .*script.json: extra: "),
    ],
)
def test_a_bad_file_is_a_configuration_error(path: Path, content: str, message: str) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(content)
    for mode in ("read-write", "read-only"):
        with pytest.raises(ConfigurationError, match=message) as raised:
            LocationCache(path, mode)
        assert "\n" not in str(raised.value)
    assert path.read_text() == content


def test_a_bad_patch_is_a_configuration_error(path: Path) -> None:
    entry = valid_entry(path)
    written(path, {"version": CACHE_VERSION, "entries": [{**entry, "patch_png": "bm90IGEgcG5n"}]})
    with pytest.raises(ConfigurationError, match="entries.0.patch_png: .*not a base64 PNG"):
        LocationCache(path)


def test_duplicate_entries_are_a_configuration_error(path: Path) -> None:
    entry = valid_entry(path)
    written(path, {"version": CACHE_VERSION, "entries": [entry, entry]})
    with pytest.raises(ConfigurationError, match="script.json: duplicate key and occurrence"):
        LocationCache(path)


def test_an_unreadable_path_is_a_configuration_error(path: Path) -> None:
    path.mkdir(parents=True)
    with pytest.raises(ConfigurationError, match="cannot read location cache .*script.json"):
        LocationCache(path)


def test_an_unknown_mode_is_a_configuration_error(path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown location cache mode 'write'"):
        LocationCache(path, "write")  # type: ignore[arg-type]
