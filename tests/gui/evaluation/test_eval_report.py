"""The evaluation report in headless Chromium: what the page shows for a results directory.

A results directory is written here by hand (PNG screenshots made with PIL, a manifest, a summary
and ``results.jsonl`` lines built from :class:`~agent.evaluation.outcomes.ResultRecord`), the page
is written by :func:`agent.evaluation.report.write_report` and opened from disk in Debian's
chromium through Playwright (no browser download). Expected counts and positions are worked out
here from the records with plain arithmetic.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from agent.errors import ConfigurationError
from agent.evaluation.metric import summarize
from agent.evaluation.outcomes import ResultRecord
from agent.evaluation.report import write_report
from agent.evaluation.results import manifest_for
from agent.trajectory import FrameRecord

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'
IMAGES = {  # name: (size, platform)
    "desk.png": (800, 600),
    "phone.png": (360, 720),
    "web pages/shot 1.png": (1000, 500),
}
FRAME = FrameRecord(
    width=812, height=588, source_width=800, source_height=600, min_pixels=3136,
    max_pixels=1003520, factor=28,
)  # fmt: skip


def rec(id_: str, image: str, box: tuple[float, float, float, float], **kw: Any) -> ResultRecord:
    defaults: dict[str, Any] = {
        "annotation": "sample.json",
        "index": int(re.sub(r"\D", "", id_)),
        "image": image,
        "image_size": IMAGES[image],
        "instruction": f"open the thing {id_}",
        "platform": "desktop",
        "ui_type": "text",
        "group": "Dev",
        "prompt": "grounding",
    }
    return ResultRecord(id=id_, box=box, **{**defaults, **kw})


RECORDS = [
    rec("d1", "desk.png", (100, 100, 300, 200), point=(150, 120), status="correct",
        raw="(150,120)", latency_s=0.5, frame=FRAME, application="vscode"),
    rec("d2", "desk.png", (500, 300, 700, 400), point=(400, 500), status="wrong", ui_type="icon",
        answer_box=(350, 450, 450, 550), raw="<|box_start|>(350,450),(450,550)<|box_end|>",
        latency_s=2.25, error="the point (400, 500) is outside the box", application="vscode"),
    rec("d3", "desk.png", (20, 20, 60, 60), status="parse_error", group="CAD", raw=HOSTILE,
        instruction="the <b>bold</b> settings button", error="ParseError: no point"),
    rec("d4", "web pages/shot 1.png", (600, 100, 800, 200), point=(810, 90), status="wrong",
        ui_type="icon", group="CAD", raw="(810,90)", latency_s=1.0),
    rec("m1", "phone.png", (40, 600, 320, 680), status="empty", platform="mobile", group="CAD"),
    rec("m2", "phone.png", (10, 10, 80, 50), status="infra_error", platform="mobile",
        ui_type="icon", group="CAD", error="BackendError: server down"),
    rec("m3", "phone.png", (100, 300, 260, 360), point=(260, 300), status="correct",
        platform="mobile", raw="(260,300)", latency_s=0.75, instruction="tap settings"),
    rec("m4", "phone.png", (300, 20, 350, 70), point=(30, 700), status="wrong", platform="mobile",
        ui_type="icon", raw="(30,700)", latency_s=3.0),
]  # fmt: skip
SETTINGS = {  # what ``gui-agent eval`` signs a run with
    "backend": "transformers",
    "model": "Qwen/Qwen2.5-VL-3B-Instruct",
    "style": "qwen25vl",
    "prompt": "grounding",
    "prompt_fingerprint": "9c0ffee",
    "min_pixels": 3136,
    "max_pixels": 1003520,
    "decoding": "greedy",
    "max_new_tokens": 128,
    "lang": "en",
}


def make_images(folder: Path) -> None:
    for name, (width, height) in IMAGES.items():
        image = Image.new("RGB", (width, height), (235, 238, 242))
        draw = ImageDraw.Draw(image)
        for r in RECORDS:
            if r.image == name:
                draw.rectangle(r.box, fill=(40, 90, 200))
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        image.save(folder / name)


def write_run(
    out: Path,
    images: Path,
    records: list[ResultRecord],
    *,
    tail: str = "",
    summary: bool = False,
) -> Path:
    out.mkdir(parents=True)
    lines = "".join(r.model_dump_json() + "\n" for r in records)
    (out / "results.jsonl").write_text(lines + tail, encoding="utf-8")
    annotation = out / "sample.json"
    annotation.write_text("[]", encoding="utf-8")
    manifest = manifest_for(SETTINGS, [annotation], images)
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    if summary:
        last = list({r.id: r for r in records}.values())  # the last line of each sample
        (out / "summary.json").write_text(json.dumps(summarize(last)), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data") / "images"
    make_images(folder)
    return folder


@pytest.fixture(scope="module")
def run(images: Path) -> Path:
    """The run: an infra_error asked again on resume (the later line wins) and a cut-off tail."""
    retried = RECORDS[6].model_copy(update={"status": "infra_error", "point": None})
    records = [*RECORDS[:6], retried, *RECORDS[6:]]
    out = write_run(
        images.parent / "runs" / "eval",
        images,
        records,
        tail='{"id": "m5", "annot',
        summary=True,
    )
    write_report(out)
    return out


Opener = Callable[[Path], Any]


@pytest.fixture
def opened(browser: Any) -> Iterator[Opener]:
    """``opened(report_html)`` -> a page, ready; at teardown it must have raised no errors."""
    pages: list[tuple[Any, list[str]]] = []

    def open_(path: Path) -> Any:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pages.append((page, errors))
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready=true]")
        return page

    yield open_
    for page, errors in pages:
        page.close()
        assert errors == []


def shown(page: Any) -> int:
    count = int(page.text_content("#shown-count"))
    assert page.locator("#samples > li.sample").count() == count
    return count


def choose(page: Any, select: str, value: str | None) -> None:
    """Pick ``value`` (None: all) in one of the category filters."""
    if value is None:
        page.select_option(select, value="")
        return
    option = page.eval_on_selector(
        f"{select} option[data-value={json.dumps(value)}]", "option => option.value"
    )
    page.select_option(select, value=option)


def test_every_sample_is_shown_with_the_header(opened: Opener, run: Path) -> None:
    page = opened(run / "report.html")
    assert shown(page) == len(RECORDS) == 8
    assert page.text_content("#total-count") == "8"
    assert page.text_content("#shown").strip() == "8 of 8 shown"
    assert page.locator("li.sample").count() == 8
    for status in ("correct", "wrong", "parse_error", "empty", "infra_error"):
        want = sum(r.status == status for r in RECORDS)
        assert page.locator(f'.sample[data-status="{status}"]').count() == want, status
    assert page.text_content("#title") == SETTINGS["model"]
    facts = page.text_content("#facts")
    assert "qwen25vl" in facts and "grounding" in facts and "transformers" in facts
    assert page.text_content('#facts [data-key="bounds"] dd') == "3136–1003520 px"
    rest = page.text_content("#signature-rest")
    assert "sample.json: " in rest and "prompt_fingerprint" in rest and "128" in rest
    headline = page.text_content("#headline")  # 2 correct of 7 scored (m2 is not scored)
    assert "Micro accuracy (per sample)28.6 % (95% CI " in headline and "2 of 7 scored" in headline
    # cells: desktop/text 1/2, desktop/icon 0/2, mobile/text 1/2, mobile/icon 0/1
    assert "Macro accuracy (mean of 4 platform × type cells)25.0 %" in headline
    assert "wrong 3, parse_error 1, empty 1, infra_error 1" in headline
    notices = page.text_content("#notices")
    assert "cut off" in notices and "1 earlier line(s)" in notices
    m3 = page.locator('.sample[data-id="m3"]')
    assert m3.get_attribute("data-status") == "correct"  # the later line won
    assert page.text_content('.sample[data-id="d3"] .instruction') == RECORDS[2].instruction
    d2 = page.text_content('.sample[data-id="d2"]')
    assert "141.4 px from the box" in d2 and "2.25 s" in d2 and "vscode" in d2
    assert "inside the box" in page.text_content('.sample[data-id="d1"]')
    assert "812x588" in page.text_content('.sample[data-id="d1"]')


def test_failures_come_first_and_the_order_can_change(opened: Opener, run: Path) -> None:
    page = opened(run / "report.html")
    ids = page.eval_on_selector_all("li.sample", "els => els.map(e => e.dataset.id)")
    assert ids == ["d2", "d4", "m4", "d3", "m1", "m2", "d1", "m3"]
    page.select_option("#sort", "file")
    ids = page.eval_on_selector_all("li.sample", "els => els.map(e => e.dataset.id)")
    assert ids == [r.id for r in RECORDS]
    page.select_option("#sort", "latency")
    assert page.eval_on_selector("li.sample", "e => e.dataset.id") == "m4"


def test_each_filter_changes_the_count(opened: Opener, run: Path) -> None:
    page = opened(run / "report.html")
    page.uncheck('input[name="status"][value="correct"]')
    assert shown(page) == sum(r.status != "correct" for r in RECORDS) == 6
    page.uncheck('input[name="status"][value="wrong"]')
    assert shown(page) == 3
    page.click("#reset")
    assert shown(page) == 8
    cases: list[tuple[str, str, int]] = [
        ("#filter-platform", "mobile", sum(r.platform == "mobile" for r in RECORDS)),
        ("#filter-group", "CAD", sum(r.group == "CAD" for r in RECORDS)),
        ("#filter-type", "icon", sum(r.ui_type == "icon" for r in RECORDS)),
        ("#filter-application", "vscode", 2),
        ("#filter-application", "(none)", 6),
    ]
    for select, value, want in cases:
        choose(page, select, value)
        assert shown(page) == want, (select, value)
        choose(page, select, None)
        assert shown(page) == 8
    assert [c[2] for c in cases[:3]] == [4, 4, 4]
    choose(page, "#filter-platform", "desktop")
    choose(page, "#filter-type", "icon")
    assert shown(page) == 2  # d2, d4
    page.uncheck('input[name="status"][value="wrong"]')
    assert shown(page) == 0
    assert page.is_visible("#empty")
    page.click("#reset")
    page.fill("#filter-search", "settings")
    assert shown(page) == 2  # d3 and m3 by instruction
    page.fill("#filter-search", "box_start")  # the raw answer is searched too
    assert page.eval_on_selector_all(
        "#samples > li.sample", "els => els.map(e => e.dataset.id)"
    ) == ["d2"]
    page.fill("#filter-search", "SERVER down")
    assert shown(page) == 1
    page.fill("#filter-search", "")
    assert shown(page) == 8
    assert "(4)" in page.text_content("#filter-platform")


def test_marks_are_drawn_where_the_records_say(opened: Opener, run: Path) -> None:
    page = opened(run / "report.html")
    with_point = [r for r in RECORDS if r.point is not None]
    assert len(with_point) == 5
    for r in with_point:
        assert r.point is not None
        card = page.locator(f'.sample[data-id="{r.id}"]')
        card.scroll_into_view_if_needed()
        img = card.locator("img.thumb").bounding_box()
        width, height = r.image_size
        sx, sy = img["width"] / width, img["height"] / height
        assert abs(sx - sy) < 0.01 and sx < 1  # a thumbnail, scaled evenly
        point = card.locator(".pred-point").bounding_box()
        px, py = point["x"] + point["width"] / 2, point["y"] + point["height"] / 2
        assert abs(px - (img["x"] + r.point[0] * sx)) <= 1.5, r.id
        assert abs(py - (img["y"] + r.point[1] * sy)) <= 1.5, r.id
        gt = card.locator(".gt-box").bounding_box()
        x1, y1, x2, y2 = r.box
        assert abs(gt["x"] - (img["x"] + x1 * sx)) <= 1.5 and abs(gt["width"] - (x2 - x1) * sx) <= 2
        assert (
            abs(gt["y"] - (img["y"] + y1 * sy)) <= 1.5 and abs(gt["height"] - (y2 - y1) * sy) <= 2
        )
        # the point relative to the box's centre (its stroke cancels out), scaled as the image
        gx, gy = gt["x"] + gt["width"] / 2, gt["y"] + gt["height"] / 2
        assert abs(px - gx - (r.point[0] - (x1 + x2) / 2) * sx) <= 1.5, r.id
        assert abs(py - gy - (r.point[1] - (y1 + y2) / 2) * sy) <= 1.5, r.id
        assert card.locator(".miss").count() == (r.status == "wrong")
    d2 = page.locator('.sample[data-id="d2"]')
    img = d2.locator("img.thumb").bounding_box()
    box = d2.locator(".pred-box").bounding_box()
    scale = img["width"] / 800
    assert abs(box["x"] - (img["x"] + 350 * scale)) <= 1.5
    assert abs(box["width"] - 100 * scale) <= 2
    for r in RECORDS:
        if r.point is None:
            assert page.locator(f'.sample[data-id="{r.id}"] .pred-point').count() == 0


def test_thumbnails_load_once_per_image_and_link_to_the_files(
    opened: Opener, run: Path, images: Path
) -> None:
    thumbs = sorted((run / "thumbs").iterdir())
    assert len(thumbs) == len(IMAGES) == 3 and all(t.suffix == ".jpg" for t in thumbs)
    for thumb in thumbs:
        with Image.open(thumb) as small:
            assert small.size[0] <= 384 and small.size[1] <= 288
    page = opened(run / "report.html")
    for r in RECORDS:
        card = page.locator(f'.sample[data-id="{r.id}"]')
        card.scroll_into_view_if_needed()
        img = card.locator("img.thumb")
        assert img.get_attribute("loading") == "lazy"
        img.evaluate("i => i.decode()")
        natural = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        assert 0 < natural[0] < r.image_size[0] and natural[1] > 0
        assert img.get_attribute("src").startswith("thumbs/")
        link = card.locator("a.full")
        assert link.evaluate("a => a.href") == (images / r.image).as_uri()
        assert link.get_attribute("href").startswith("../../images/")
    assert page.get_attribute('.sample[data-id="d4"] a.full', "href") == (
        "../../images/web%20pages/shot%201.png"
    )
    srcs = page.eval_on_selector_all("img.thumb", "els => new Set(els.map(e => e.src)).size")
    assert srcs == 3
    before = {t.name: t.stat().st_mtime_ns for t in thumbs}
    write_report(run)  # a second report reuses the thumbnails
    assert {t.name: t.stat().st_mtime_ns for t in (run / "thumbs").iterdir()} == before
    assert not list(run.glob("*.tmp")) and not list((run / "thumbs").glob("*.tmp"))


def test_a_hostile_answer_is_shown_as_text(opened: Opener, run: Path) -> None:
    page = opened(run / "report.html")
    raw = page.locator('.sample[data-id="d3"] pre.raw')
    assert raw.text_content() == HOSTILE
    assert page.locator(".sample pre.raw *").count() == 0
    assert page.locator("img[src=x], main script, .instruction b").count() == 0
    assert page.evaluate("window.__pwned") is None
    html = (run / "report.html").read_text(encoding="utf-8")
    data = re.search(r'id="report-data">(.*?)</script>', html, re.DOTALL)
    assert data is not None and "<" not in data.group(1)
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", html)


def test_full_images_without_thumbnails_and_a_missing_image(
    opened: Opener, images: Path, tmp_path: Path
) -> None:
    missing = RECORDS[0].model_copy(update={"id": "x9", "image": "gone.png"})
    out = write_run(tmp_path / "eval", images, [RECORDS[0], RECORDS[6], missing])
    write_report(out, thumbnails=False)
    assert not (out / "thumbs").exists()
    page = opened(out / "report.html")
    assert shown(page) == 3
    assert "No summary.json" in page.text_content("#notices")
    assert page.text_content("#headline").strip() == "Samples3"
    card = page.locator('.sample[data-id="d1"]')
    img = card.locator("img.thumb")
    img.evaluate("i => i.decode()")
    assert img.evaluate("i => i.naturalWidth") == 800  # the full image, scaled by the browser
    assert img.get_attribute("src") == card.locator("a.full").get_attribute("href")
    box = img.bounding_box()
    point = card.locator(".pred-point").bounding_box()
    assert abs(point["x"] + point["width"] / 2 - (box["x"] + 150 * box["width"] / 800)) <= 1.5
    gone = page.locator('.sample[data-id="x9"]')
    assert gone.locator("img").count() == 0 and gone.locator("a.full").count() == 0
    assert "missing: gone.png" in gone.text_content()
    assert gone.locator(".gt-box").count() == 1


def test_2000_samples_stay_usable(opened: Opener, images: Path, tmp_path: Path) -> None:
    records = [RECORDS[i % 8].model_copy(update={"id": f"s{i}"}) for i in range(2000)]
    out = write_run(tmp_path / "big", images, records, summary=True)
    started = time.perf_counter()
    page_path = write_report(out)
    written = time.perf_counter() - started
    assert len(list((out / "thumbs").iterdir())) == 3  # once per image, not per sample
    size = page_path.stat().st_size
    assert size < 2_000_000, size
    started = time.perf_counter()
    page = opened(page_path)
    ready = time.perf_counter() - started
    assert shown(page) == 2000
    page.uncheck('input[name="status"][value="correct"]')
    assert shown(page) == 1500
    page.fill("#filter-search", "s1999")
    assert shown(page) == 1  # s1999 is wrong (1999 % 8 == 7)
    lazy = page.eval_on_selector_all("img.thumb", "els => els.every(e => e.loading === 'lazy')")
    assert lazy
    print(f"2000 samples: report {written:.2f} s, {size / 1e6:.2f} MB, page ready {ready:.2f} s")


def test_bad_directories_are_configuration_errors(images: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no results.jsonl"):
        write_report(tmp_path)
    out = write_run(tmp_path / "bad", images, RECORDS[:2], tail='{"id": "m5"}\n')
    with pytest.raises(ConfigurationError, match=r"results\.jsonl:3: not a result record") as bad:
        write_report(out)
    assert "\n" not in str(bad.value)
    (out / "results.jsonl").write_text("[1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"results\.jsonl:1: ") as bad:
        write_report(out)
    assert "\n" not in str(bad.value)
    (out / "results.jsonl").write_text(RECORDS[0].model_dump_json() + "\n", encoding="utf-8")
    (out / "manifest.json").unlink()
    with pytest.raises(ConfigurationError, match="no manifest.json"):
        write_report(out)
    (out / "manifest.json").write_text('{"signature": {}}', encoding="utf-8")
    with pytest.raises(ConfigurationError, match='no "images" folder'):
        write_report(out)
    (out / "manifest.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not a JSON object"):
        write_report(out)
    assert not (out / "report.html").exists()


def test_osworld_g_polygons_and_refusals_are_drawn_as_such(
    opened: Opener, images: Path, tmp_path: Path
) -> None:
    """A polygon target is drawn as its polygon (scored point in polygon), a refusal target as
    nothing; a refusal answered with a point once broke the page's script (no report at all)."""
    triangle = (100.0, 100.0, 300.0, 100.0, 100.0, 200.0)
    records = [
        rec("p1", "desk.png", (100, 100, 300, 200), target="polygon", polygon=triangle,
            point=(280, 190), status="wrong", raw="(280,190)", latency_s=0.5, frame=FRAME,
            error="the point (280, 190) is outside the polygon"),
        rec("r1", "desk.png", (0, 0, 0, 0), target="refusal", point=(400, 300),
            status="wrong", raw="(400,300)", latency_s=0.5, frame=FRAME,
            error="a point for a refusal item"),
        rec("r2", "desk.png", (0, 0, 0, 0), target="refusal", status="correct",
            raw="I cannot find it", latency_s=0.5, frame=FRAME),
    ]  # fmt: skip
    out = write_run(tmp_path / "osworld-g", images, records, summary=True)
    write_report(out)
    page = opened(out / "report.html")
    assert shown(page) == 3
    polygon = page.locator('.sample[data-id="p1"] polygon.gt-polygon')
    assert polygon.count() == 1
    assert polygon.get_attribute("points") == "100,100 300,100 100,200"
    assert page.locator('.sample[data-id="p1"] .miss').count() == 0  # no "nearest box point"
    for refusal in ("r1", "r2"):
        assert page.locator(f'.sample[data-id="{refusal}"] .gt-box').count() == 0
    assert page.locator('.sample[data-id="r1"] .pred-point').count() == 1
    assert "refusal item" in page.text_content('.sample[data-id="r1"]')
