"""Names for what a person pointed at (agent/runs/target_naming.py), with the OCR and the model
stood in for: the text under the point wins, else the nearest, a row counting nearer than a
column; offsets from the text; a model's words."""

from __future__ import annotations

from PIL import Image

from agent.grounding.base import Answer
from agent.grounding.ocr import OCRGrounder, TextLine
from agent.runs.target_naming import NEAR_PX, READ_BOX, ModelNamer, TextNamer

SCREEN = Image.new("RGB", (1280, 800), "white")


class Reader(OCRGrounder):
    """Reads fixed lines (screen pixels) off whatever crop it is given, as the crop's pixels."""

    def __init__(self, lines: list[TextLine]) -> None:
        super().__init__()
        self.lines = lines
        self.crops: list[tuple[int, int]] = []

    def read(self, image: Image.Image) -> list[TextLine]:
        self.crops.append(image.size)
        return self.lines  # the tests place the point so that the crop starts at (0, 0)


def line(text: str, box: tuple[float, float, float, float]) -> TextLine:
    return TextLine(text, box, 0.99)


def test_the_text_under_the_point_names_it_with_its_box_and_offset() -> None:
    lines = [line("Save", (100, 40, 160, 70)), line("Saved", (100, 90, 170, 110))]
    namer = TextNamer(Reader(lines))
    named = namer.describe(SCREEN, (130.0, 60.0))
    assert named is not None and named.description == "Save" and named.located_by == "ocr"
    assert named.box == (100, 40, 160, 70) and named.offset == (0.0, 5.0)


def test_a_field_is_named_by_the_label_beside_it_not_the_line_below() -> None:
    label = line("Display name", (20, 90, 220, 110))  # 80 px to the left, on the row
    below = line("Send newsletter", (200, 150, 350, 170))  # 50 px below, 0 px across
    named = TextNamer(Reader([below, label])).describe(SCREEN, (300.0, 100.0))
    assert named is not None and named.description == "Display name"
    assert named.offset == (180.0, 0.0)  # from the label's centre: a replay clicks there again


def test_nothing_near_names_nothing_and_only_a_region_is_read() -> None:
    far = line("Far away", (0, 0, 10, 10))
    reader = Reader([far])
    assert TextNamer(reader).describe(SCREEN, (NEAR_PX + 40.0, 90.0)) is None
    assert reader.crops == [READ_BOX]


class Describer:
    model = "tiny"
    min_pixels, max_pixels = 1, 10**8

    def __init__(self) -> None:
        self.shown: list[Image.Image] = []

    def ask(self, image: Image.Image, prompt: str) -> Answer:
        self.shown.append(image)
        return Answer(' "the Save button." ')


def test_a_model_names_the_element_under_a_red_marker() -> None:
    describer = Describer()
    named = ModelNamer(describer).describe(SCREEN, (640.0, 400.0))  # type: ignore[arg-type]
    assert named is not None and named.description == "the Save button"
    assert named.located_by == "model:tiny" and named.offset is None
    shown = describer.shown[0]
    assert shown.getpixel((shown.width // 2, shown.height // 2)) == (230, 0, 0)
