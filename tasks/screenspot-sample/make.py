"""Regenerate the ScreenSpot-style sample set: ``python tasks/screenspot-sample/make.py``.

Every screenshot is of a real GUI rendered on this machine, and every box comes from the GUI
toolkit that drew the target, never from a grounder:

* the pages in ``pages/`` in headless Chromium (Playwright driving Debian's ``/usr/bin/chromium``,
  no browser download), each at two device scale factors; a box is the element's
  ``bounding_box()`` (CSS pixels) times the scale factor, rounded outwards to whole pixels;
* ``tk_window.py`` on a private Xvfb (scale 1: 1280x800; scale 2: the same window drawn twice as
  large on 2560x1600, as on a HiDPI desktop), captured with :class:`agent.screen.capture.Screen`
  once the screen has settled; a box is what Tk reports (``winfo_rootx/rooty/width/height``).

It writes ``images/*.png``, the ScreenSpot v1 files ``screenspot_{web,desktop,mobile}.json``
(``bbox`` = x, y, w, h), the ScreenSpot-Pro files ``<application>_<platform>.json`` (``bbox`` =
x1, y1, x2, y2, with ``img_size``) describing the same samples, the same targets in the formats
of OSWorld-G, UI-Vision and MMBench-GUI L2 (:func:`suite_records`; ``make.py --suites`` writes
only those, from the committed files, without rendering), and the counts table in
``README.md``. Content is fixed, nothing is random and nothing touches the network. Needs
playwright (the ``dev`` extra), chromium, Xvfb and python3-tk.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agent.screen.capture import Screen, SettledScreen  # noqa: E402
from agent.screen.xvfb import VirtualDisplay, wait_until  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = [
    "SHOTS",
    "Sample",
    "Shot",
    "Target",
    "build",
    "counts_table",
    "suite_records",
    "write_suites",
    "load_samples",
    "pixel_box",
    "pro_files",
    "pro_records",
    "render_tk",
    "render_web",
    "v1_records",
]

CHROMIUM = "/usr/bin/chromium"
#: launch flags that keep Chromium offline and quiet (FACTS §4)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IMAGES = "images"
MAX_BYTES = 20 * 1024 * 1024
README_BEGIN = "<!-- counts:begin (written by make.py) -->"
README_END = "<!-- counts:end -->"
PRO_PLATFORM = "linux"

Platform = Literal["web", "mobile", "desktop"]
UiType = Literal["text", "icon"]
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Target:
    """One thing to click: how to find it (a CSS selector, or a name ``tk_window.py`` reports)
    and what a user would say."""

    locator: str
    instruction: str
    instruction_cn: str
    ui_type: UiType


@dataclass(frozen=True)
class Shot:
    """One screen, rendered at each of ``scales``."""

    name: str
    platform: Platform
    data_source: str
    application: str
    group: str
    viewport: tuple[int, int]
    """CSS pixels (web) or screen pixels at scale 1 (Tk)."""
    scales: tuple[int, ...]
    targets: tuple[Target, ...]
    page: str | None = None
    """The HTML file under ``pages/``; None for the Tk window."""

    def image_name(self, scale: int) -> str:
        return f"{self.platform}_{self.name}_x{scale}.png"


@dataclass(frozen=True)
class Sample:
    """One annotated target in one screenshot; ``box`` is x1, y1, x2, y2 in image pixels."""

    shot: Shot
    target: Target
    scale: int
    image: str
    size: tuple[int, int]
    box: Box


T = Target


def web_page(name: str, targets: tuple[Target, ...]) -> Shot:
    """A desktop-sized page ``pages/NAME.html`` of the browser application."""
    return Shot(
        name=name,
        platform="web",
        data_source="chromium",
        application="sample-browser",
        group="Office",
        viewport=(1280, 800),
        scales=(1, 2),
        targets=targets,
        page=f"{name}.html",
    )


SHOTS: tuple[Shot, ...] = (
    web_page(
        "login",
        (
            T("#sign-in", "Sign in", "登录", "text"),
            T("#forgot", "Forgot password?", "忘记密码？", "text"),
            T("#email", "enter the email address", "输入电子邮件地址", "text"),
            T("#show-password", "show the password", "显示密码", "icon"),
            T("#language", "change the language", "更改语言", "icon"),
        ),
    ),
    web_page(
        "settings",
        (
            T("#gear", "click the settings gear icon", "点击设置齿轮图标", "icon"),
            T("#trash", "open the trash", "打开回收站", "icon"),
            T("#notifications", "view notifications", "查看通知", "icon"),
            T("#dark-mode", "turn on dark mode", "开启深色模式", "icon"),
            T("#nav-privacy", "open the Privacy settings", "打开隐私设置", "text"),
            T("#save", "Save changes", "保存更改", "text"),
        ),
    ),
    web_page(
        "invoices",
        (
            T("#export", "Export CSV", "导出 CSV", "text"),
            T("#new-invoice", "create a new invoice", "新建发票", "text"),
            T("#INV-1042 .delete", "delete invoice INV-1042", "删除发票 INV-1042", "icon"),
            T(
                "#INV-1040 .download",
                "download the PDF of the Globex invoice",
                "下载 Globex 发票的 PDF",
                "icon",
            ),
            T("#next", "go to the next page", "转到下一页", "icon"),
        ),
    ),
    Shot(
        name="messages",
        page="messages.html",
        platform="mobile",
        data_source="chromium-mobile",
        viewport=(390, 844),
        scales=(2, 3),  # phone screenshots: 780x1688 and 1170x2532
        application="sample-browser",
        group="Office",
        targets=(
            T("#back", "go back", "返回", "icon"),
            T("#search", "search messages", "搜索消息", "icon"),
            T("#more", "more options", "更多选项", "icon"),
            T("#compose", "write a new message", "写新消息", "icon"),
            T("#chat-maria", "open the chat with Maria Lopez", "打开与 Maria Lopez 的聊天", "text"),
            T("#tab-contacts", "Contacts", "联系人", "text"),
        ),
    ),
    Shot(
        name="editor",
        platform="desktop",
        data_source="linux",
        application="sample-tk",
        group="Dev",
        viewport=(1280, 800),
        scales=(1, 2),
        targets=(
            T("menu_file", "open the File menu", "打开“文件”菜单", "text"),
            T("tree_utils.py", "open utils.py", "打开 utils.py", "text"),
            T("commit", "commit the changes", "提交更改", "text"),
            T("panel_terminal", "switch to the terminal", "切换到终端", "text"),
            T("run", "run the program", "运行程序", "icon"),
            T("save", "save the file", "保存文件", "icon"),
            T("settings", "open settings", "打开设置", "icon"),
            T("close_tab_main", "close the main.py tab", "关闭 main.py 标签页", "icon"),
        ),
    ),
)
del T


def pixel_box(x: float, y: float, w: float, h: float, scale: float, size: tuple[int, int]) -> Box:
    """A box in CSS/screen units to whole image pixels: times ``scale``, rounded outwards (so it
    still contains the whole target), and refused if it leaves the image."""
    eps = 1e-6  # 10.000000001 * 2 is still pixel 20
    x1, y1 = math.floor(x * scale + eps), math.floor(y * scale + eps)
    x2, y2 = math.ceil((x + w) * scale - eps), math.ceil((y + h) * scale - eps)
    if not (0 <= x1 < x2 <= size[0] and 0 <= y1 < y2 <= size[1]):
        raise ValueError(f"box {(x1, y1, x2, y2)} is not inside the {size[0]}x{size[1]} image")
    return x1, y1, x2, y2


def save_png(image: Image.Image, path: Path) -> tuple[int, int]:
    """Save as an optimised RGB PNG (deterministic bytes for the same pixels); returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(path, format="PNG", optimize=True)
    return image.size


# --- web pages in Chromium -------------------------------------------------------------------


def render_web(shot: Shot, images: Path, scales: Sequence[int] | None = None) -> list[Sample]:
    """Render ``shot.page`` in headless Chromium at each scale into ``images``; the samples
    carry the boxes measured in the DOM."""
    from playwright.sync_api import sync_playwright

    if shot.page is None:
        raise ValueError(f"{shot.name} is not a web page")
    samples: list[Sample] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for scale in scales or shot.scales:
                samples += _render_page(browser, shot, scale, images)
        finally:
            browser.close()
    return samples


def _render_page(browser: Browser, shot: Shot, scale: int, images: Path) -> list[Sample]:
    """One page at one device scale factor, in a fresh browser context."""
    mobile = shot.platform == "mobile"
    context = browser.new_context(
        viewport={"width": shot.viewport[0], "height": shot.viewport[1]},
        device_scale_factor=scale,
        is_mobile=mobile,
        has_touch=mobile,
        locale="en-GB",
        color_scheme="light",
        reduced_motion="reduce",
    )
    try:
        page = context.new_page()
        page.goto((HERE / "pages" / str(shot.page)).as_uri(), wait_until="load")
        page.evaluate("document.fonts.ready.then(() => true)")
        png = page.screenshot(type="png", animations="disabled", caret="hide")
        image = Image.open(io.BytesIO(png))
        expected = (shot.viewport[0] * scale, shot.viewport[1] * scale)
        if image.size != expected:
            raise RuntimeError(f"{shot.name} x{scale}: screenshot {image.size}, not {expected}")
        name = shot.image_name(scale)
        size = save_png(image, images / name)
        samples: list[Sample] = []
        for target in shot.targets:
            found = page.locator(target.locator)
            if found.count() != 1:
                raise RuntimeError(
                    f"{shot.page}: {target.locator!r} matches {found.count()} elements, not 1"
                )
            css = found.bounding_box()
            if css is None:
                raise RuntimeError(f"{shot.page}: {target.locator!r} is not shown")
            box = pixel_box(css["x"], css["y"], css["width"], css["height"], scale, size)
            samples.append(Sample(shot, target, scale, name, size, box))
        return samples
    finally:
        context.close()


# --- the Tk window on Xvfb -------------------------------------------------------------------


def _read_boxes(path: Path) -> dict[str, Any]:
    """What ``tk_window.py`` reported, or {} while it has not yet."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data


def render_tk(shot: Shot, images: Path, scales: Sequence[int] | None = None) -> list[Sample]:
    """Run ``tk_window.py`` on a private Xvfb at each scale and capture the whole screen."""
    samples: list[Sample] = []
    for scale in scales or shot.scales:
        width, height = shot.viewport[0] * scale, shot.viewport[1] * scale
        with tempfile.TemporaryDirectory() as tmp, VirtualDisplay(width, height) as display:
            out = Path(tmp) / "boxes.json"
            command = [
                sys.executable,
                str(HERE / "tk_window.py"),
                "--out",
                str(out),
                "--scale",
                str(scale),
            ]
            proc = subprocess.Popen(command, env=display.env, cwd=tmp)
            try:
                reported = wait_until(
                    partial(_read_boxes, out),
                    timeout=30,
                    interval=0.05,
                    what="tk_window.py to report its boxes",
                )
                with Screen(display=display.name) as screen:
                    settled = SettledScreen(screen, timeout_s=10, poll_s=0.2)
                    shot_image = settled.capture().image
                    if not settled.settled:
                        raise RuntimeError(f"the Tk window kept changing: {settled.describe()}")
                if proc.poll() is not None:
                    raise RuntimeError(f"tk_window.py exited with code {proc.returncode}")
            finally:
                proc.terminate()
                proc.wait(timeout=10)
        if reported["window"] != [0, 0, width, height]:
            raise RuntimeError(f"the Tk window is at {reported['window']}, not the whole screen")
        name = shot.image_name(scale)
        size = save_png(shot_image, images / name)
        for target in shot.targets:
            x, y, w, h = reported["boxes"][target.locator]
            box = pixel_box(x, y, w, h, 1, size)  # Tk reports screen pixels = image pixels
            samples.append(Sample(shot, target, scale, name, size, box))
    return samples


# --- annotation files ------------------------------------------------------------------------


def v1_records(samples: Iterable[Sample]) -> dict[str, list[dict[str, Any]]]:
    """ScreenSpot v1 files (SeeClick): ``screenspot_<platform>.json``, bbox = x, y, w, h."""
    files: dict[str, list[dict[str, Any]]] = {}
    for s in samples:
        x1, y1, x2, y2 = s.box
        files.setdefault(f"screenspot_{s.shot.platform}.json", []).append(
            {
                "img_filename": s.image,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "instruction": s.target.instruction,
                "data_type": s.target.ui_type,
                "data_source": s.shot.data_source,
            }
        )
    return files


def pro_records(
    samples: Iterable[Sample], platform: str = PRO_PLATFORM
) -> dict[str, list[dict[str, Any]]]:
    """ScreenSpot-Pro files: ``<application>_<platform>.json``, bbox = x1, y1, x2, y2."""
    files: dict[str, list[dict[str, Any]]] = {}
    for s in samples:
        stem = f"{s.shot.application}_{platform}"
        records = files.setdefault(f"{stem}.json", [])
        records.append(
            {
                "id": f"{stem}_{len(records)}",
                "img_filename": s.image,
                "bbox": list(s.box),
                "img_size": list(s.size),
                "instruction": s.target.instruction,
                "instruction_cn": s.target.instruction_cn,
                "application": s.shot.application,
                "platform": platform,
                "group": s.shot.group,
                "ui_type": s.target.ui_type,
            }
        )
    return files


# what the OSWorld-G file asks for that is on none of these screens: right only when declined
REFUSALS = (
    ("web_login_x1.png", "Open the shopping cart"),
    ("web_invoices_x1.png", "Play the tutorial video"),
    ("mobile_messages_x2.png", "Show the weather forecast"),
    ("desktop_editor_x1.png", "Open the chess board"),
)
# MMBench-GUI L2's platform names: the phone screens are web pages (Chromium's mobile emulation)
MMBENCH_PLATFORMS = {"web": "os_web", "mobile": "os_web", "desktop": "os_linux"}
UI_VISION_SPLITS = ("basic", "functional", "spatial")


def suite_records(samples: Sequence[Sample]) -> dict[str, Any]:
    """The same targets in the formats of OSWorld-G, UI-Vision and MMBench-GUI L2 (FACTS §10),
    one folder each: ``osworld-g/OSWorld-G.json`` (every third target a polygon: its box's four
    corners, clockwise; the rest ``bbox`` x, y, w, h; and :data:`REFUSALS`) with
    ``classification_result.json`` (text targets ``text_matching``, icons
    ``element_recognition``, refusals ``refusal``);
    ``ui-vision/element_grounding_{basic,functional,spatial}.json`` (the targets dealt round the
    three files in turn; x1, y1, x2, y2 pixels); ``mmbench-gui/L2_annotations.json`` (boxes as
    fractions of the image; ``basic`` at the first scale of a screen, ``advanced`` at the
    second)."""
    osworld: list[dict[str, Any]] = []
    classes: dict[str, list[str]] = {"text_matching": [], "element_recognition": [], "refusal": []}
    splits: dict[str, list[dict[str, Any]]] = {name: [] for name in UI_VISION_SPLITS}
    mmbench: list[dict[str, Any]] = []
    for n, s in enumerate(samples):
        x1, y1, x2, y2 = s.box
        item = {"id": f"sample-{n:03d}", "image_path": s.image, "image_size": list(s.size),
                "instruction": s.target.instruction}  # fmt: skip
        if n % 3 == 2:
            item |= {"box_type": "polygon", "box_coordinates": [x1, y1, x2, y1, x2, y2, x1, y2]}
        else:
            item |= {"box_type": "bbox", "box_coordinates": [x1, y1, x2 - x1, y2 - y1]}
        osworld.append(item | {"GUI_types": ["Text" if s.target.ui_type == "text" else "Icon"]})
        classes["text_matching" if s.target.ui_type == "text" else "element_recognition"].append(
            item["id"]
        )
        splits[UI_VISION_SPLITS[n % 3]].append(
            {
                "image_path": s.image,
                "image_size": list(s.size),
                "prompt_to_evaluate": s.target.instruction,
                "bbox": list(s.box),
                "element_type": s.target.ui_type,
                "platform": s.shot.data_source,
            }  # fmt: skip
        )
        w, h = s.size
        mmbench.append(
            {
                "index": n,
                "image_path": s.image,
                "instruction": s.target.instruction,
                "bbox": [x1 / w, y1 / h, x2 / w, y2 / h],
                "grounding_type": "basic" if s.scale == s.shot.scales[0] else "advanced",
                "data_type": s.target.ui_type,
                "platform": MMBENCH_PLATFORMS[s.shot.platform],
                "app_name": s.shot.application,
            }  # fmt: skip
        )
    sizes = {s.image: list(s.size) for s in samples}
    for n, (image, instruction) in enumerate(REFUSALS):
        osworld.append(
            {
                "id": f"refusal-{n}",
                "image_path": image,
                "image_size": sizes[image],
                "instruction": instruction,
                "box_type": "refusal",
                "box_coordinates": [],
                "GUI_types": [],
            }  # fmt: skip
        )
        classes["refusal"].append(f"refusal-{n}")
    files: dict[str, Any] = {
        "osworld-g/OSWorld-G.json": osworld,
        "osworld-g/classification_result.json": classes,
    }
    files |= {f"ui-vision/element_grounding_{k}.json": v for k, v in splits.items()}
    files["mmbench-gui/L2_annotations.json"] = mmbench
    return files


def write_suites(samples: Sequence[Sample], folder: Path = HERE) -> None:
    """:func:`suite_records` into one folder per benchmark under ``folder`` (their images are
    ``images/``: ``gui-agent eval FOLDER/osworld-g --images FOLDER/images``)."""
    for name, content in suite_records(samples).items():
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        if isinstance(content, list):
            write_json(path, content)
        else:
            path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", "utf-8")


def pro_files() -> list[str]:
    """The ScreenSpot-Pro file names, one per application."""
    apps = dict.fromkeys(shot.application for shot in SHOTS)
    return [f"{app}_{PRO_PLATFORM}.json" for app in apps]


def load_samples(folder: Path = HERE) -> list[Sample]:
    """The committed set read back from its ScreenSpot-Pro files, matched to ``SHOTS`` by image
    and instruction (what the checks compare a new rendering with)."""
    known = {
        (shot.image_name(scale), target.instruction): (shot, target, scale)
        for shot in SHOTS
        for scale in shot.scales
        for target in shot.targets
    }
    samples: list[Sample] = []
    for name in pro_files():
        for record in json.loads((folder / name).read_text(encoding="utf-8")):
            shot, target, scale = known[(record["img_filename"], record["instruction"])]
            x1, y1, x2, y2 = (int(v) for v in record["bbox"])
            width, height = (int(v) for v in record["img_size"])
            samples.append(
                Sample(
                    shot, target, scale, record["img_filename"], (width, height), (x1, y1, x2, y2)
                )
            )
    return samples


def write_json(path: Path, records: list[dict[str, Any]]) -> None:
    """One record per line inside a JSON list: readable diffs, stable bytes."""
    lines = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in records)
    path.write_text(f"[\n{lines}\n]\n", encoding="utf-8")


def counts_table(samples: Sequence[Sample]) -> str:
    """The Markdown table of samples per platform x type x scale (what README.md shows)."""
    cells = Counter((s.shot.platform, s.target.ui_type, s.scale) for s in samples)
    rows = ["| platform | scale | image size | text | icon | total |", "|---|---|---|---|---|---|"]
    for platform in ("web", "mobile", "desktop"):
        for scale in sorted({sc for p, _, sc in cells if p == platform}):
            w, h = next(s.size for s in samples if (s.shot.platform, s.scale) == (platform, scale))
            text, icon = cells[(platform, "text", scale)], cells[(platform, "icon", scale)]
            rows.append(f"| {platform} | x{scale} | {w}x{h} | {text} | {icon} | {text + icon} |")
    text = sum(1 for s in samples if s.target.ui_type == "text")
    icon = len(samples) - text
    rows.append(
        f"| **all** | | {len({s.image for s in samples})} images | {text} | {icon} "
        f"| {len(samples)} |"
    )
    return "\n".join(rows)


def update_readme(samples: Sequence[Sample], readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise RuntimeError(f"{readme} has no {README_BEGIN!r} ... {README_END!r} block")
    block = f"{README_BEGIN}\n{counts_table(samples)}\n"
    readme.write_text(text[:start] + block + text[end:], encoding="utf-8")


def folder_bytes(folder: Path) -> int:
    return sum(
        p.stat().st_size for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def build(folder: Path = HERE) -> list[Sample]:
    """Render everything into ``folder`` (images, annotation files, README table)."""
    images = folder / IMAGES
    images.mkdir(parents=True, exist_ok=True)
    for old in images.glob("*.png"):
        old.unlink()
    samples: list[Sample] = []
    for shot in SHOTS:
        samples += render_web(shot, images) if shot.page else render_tk(shot, images)
    for files in (v1_records(samples), pro_records(samples)):
        for name, records in files.items():
            write_json(folder / name, records)
    write_suites(samples, folder)
    update_readme(samples, folder / "README.md")
    total = folder_bytes(folder)
    if total > MAX_BYTES:
        raise RuntimeError(f"the sample set is {total / 1e6:.1f} MB, over the 20 MB budget")
    return samples


def main() -> None:
    if sys.argv[1:] == ["--suites"]:  # the other benchmarks' files only, from the committed set
        write_suites(load_samples())
        return
    samples = build()
    print(counts_table(samples))
    print(f"{folder_bytes(HERE) / 1e6:.2f} MB in {HERE}")


if __name__ == "__main__":
    main()
