"""The OCR grounder with the real RapidOCR engine, on a rendered 1280x800 preferences form.

The form is drawn with Pillow, so where each text is is known exactly (``ImageDraw.textbbox``);
it is drawn once per font (Pillow's own scalable font, and DejaVu Sans where it is installed)
and read once per font: one grounder is shared, and it keeps the last reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.errors import ConfigurationError, NotFound
from agent.geometry import ModelFrame, round_half_away
from agent.grounding.ocr import OCRGrounder

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TOLERANCE_PX = 3
SUB_BOX_TOLERANCE_PX = 8  # a word inside a line is placed by its share of the characters
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Screen:
    image: Image.Image
    boxes: dict[str, tuple[int, int, int, int]]
    """where each text was drawn: left, top, right, bottom"""


def pillow_font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def dejavu_font(size: int) -> Font:
    if not DEJAVU.exists():
        pytest.skip(f"{DEJAVU} is not installed")
    return ImageFont.truetype(str(DEJAVU), size)


def render(make_font: Callable[[int], Font]) -> Screen:
    """A preferences window: title bar, two labelled fields, Save and Cancel, a status line."""
    image = Image.new("RGB", (1280, 800), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    boxes: dict[str, tuple[int, int, int, int]] = {}
    font, small = make_font(16), make_font(14)

    def text(
        xy: tuple[int, int], content: str, fill: object = (20, 20, 20), f: Font = font
    ) -> None:
        draw.text(xy, content, fill=fill, font=f)
        left, top, right, bottom = draw.textbbox(xy, content, font=f)
        boxes[content] = (int(left), int(top), int(right), int(bottom))

    draw.rectangle((0, 0, 1280, 40), fill=(50, 60, 80))
    text((20, 10), "Preferences", fill="white")
    draw.rectangle((300, 120, 980, 560), fill="white", outline=(180, 180, 180))
    for y, label, value in (
        (170, "Display name", "Ada Lovelace"),
        (240, "Email", "ada@example.org"),
    ):
        text((340, y), label)
        draw.rectangle((520, y - 10, 900, y + 26), fill="white", outline=(150, 150, 150))
        text((530, y - 2), value)
    draw.rounded_rectangle((700, 480, 800, 520), 6, fill=(40, 110, 220))
    text((728, 489), "Save", fill="white")
    draw.rounded_rectangle((820, 480, 940, 520), 6, fill=(225, 225, 225), outline=(160, 160, 160))
    text((846, 489), "Cancel")
    text((340, 600), "All changes saved", fill=(90, 90, 90), f=small)
    prefix = draw.textbbox((340, 600), "All changes ", font=small)
    boxes["saved"] = (int(prefix[2]), *boxes["All changes saved"][1:])
    return Screen(image, boxes)


@pytest.fixture(scope="module")
def grounder() -> OCRGrounder:
    return OCRGrounder()


@pytest.fixture(scope="module", params=[pillow_font, dejavu_font], ids=["pillow", "dejavu"])
def screen(request: pytest.FixtureRequest) -> Screen:
    return render(request.param)


def centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


@pytest.mark.parametrize(
    ("description", "drawn"),
    [
        ("Display name", "Display name"),
        ("Email", "Email"),
        ("Save", "Save"),
        ("Cancel", "Cancel"),
        ("All changes saved", "All changes saved"),
        ("the Save button", "Save"),
        ('the "Cancel" button', "Cancel"),
        ("the Display name field", "Display name"),
    ],
)
def test_locate_points_at_the_centre_of_the_text(
    grounder: OCRGrounder, screen: Screen, description: str, drawn: str
) -> None:
    located = grounder.locate(screen.image, description)
    left, top, right, bottom = screen.boxes[drawn]
    x, y = located.point.xy()
    assert left <= x <= right and top <= y <= bottom, located.raw_output
    cx, cy = centre(screen.boxes[drawn])
    assert abs(x - cx) <= TOLERANCE_PX and abs(y - cy) <= TOLERANCE_PX, located.raw_output
    assert located.raw_output.startswith("matched ")
    assert located.model_calls == 0 and located.latency_s > 0


def test_a_word_inside_a_line_gets_its_part_of_the_line(
    grounder: OCRGrounder, screen: Screen
) -> None:
    located = grounder.locate(screen.image, "saved")
    assert located.text == "All changes saved"
    assert located.raw_output.startswith('matched "saved" in "All changes saved"')
    (line,) = [line for line in grounder.read(screen.image) if line.text == located.text]
    box = located.box_pixels()
    assert box is not None and line.box[0] < box[0] < box[2] <= line.box[2]
    left, top, right, bottom = screen.boxes["saved"]
    x, y = located.point.xy()
    assert left <= x <= right and top <= y <= bottom, located.raw_output
    assert abs(x - centre(screen.boxes["saved"])[0]) <= SUB_BOX_TOLERANCE_PX


def test_absent_text_raises_not_found_listing_what_was_read(
    grounder: OCRGrounder, screen: Screen
) -> None:
    with pytest.raises(NotFound) as caught:
        grounder.locate(screen.image, "the Delete account button")
    message = str(caught.value)
    assert message.startswith('no text matching "Delete account" on the screen; read: "')
    assert "Cancel" in message and "\n" not in message and len(message) <= 300
    assert not grounder.visible(screen.image, "Delete account")
    assert grounder.visible(screen.image, "Cancel")


def test_the_frame_is_the_capture_itself(grounder: OCRGrounder, screen: Screen) -> None:
    assert grounder.frame_for(1280, 800) == ModelFrame.identity(1280, 800)
    located = grounder.locate(screen.image, "Email")
    assert located.frame == ModelFrame.identity(1280, 800)
    x, y = located.point.xy()
    assert located.pixel() == (round_half_away(x), round_half_away(y))


def test_seen_says_what_it_matched(grounder: OCRGrounder, screen: Screen) -> None:
    sighting = grounder.seen(screen.image, "the Save button")
    assert sighting.visible and sighting.located is not None
    assert sighting.detail.startswith('matched "Save"')
    missing = grounder.seen(screen.image, "Delete account")
    assert not missing.visible and missing.detail.startswith("no text matching")


def test_reads_the_screen_in_reading_order(grounder: OCRGrounder, screen: Screen) -> None:
    assert grounder.lines_text(screen.image).replace(" ", "").splitlines() == [
        "Preferences",
        "Displayname",
        "AdaLovelace",
        "Email",
        "ada@example.org",
        "Save",
        "Cancel",
        "Allchangessaved",
    ]


def test_ask_is_refused(grounder: OCRGrounder, screen: Screen) -> None:
    with pytest.raises(ConfigurationError, match="cannot answer questions"):
        grounder.ask(screen.image, "What is the email address?")
