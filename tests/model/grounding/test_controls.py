"""Form controls found by their label through the real OCR grounder, on a drawn form: the field
right of its label (not the label), a label with no field beside it is NotFound naming what was
read, and a checkbox's state is read off its box."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.errors import NotFound
from agent.grounding.controls import checkbox_state, describe_control, locate_control
from agent.grounding.ocr import OCRGrounder

BORDER = (205, 199, 194)


@pytest.fixture(scope="module")
def form() -> Image.Image:
    image = Image.new("RGB", (640, 360), (246, 245, 244))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    draw.text((30, 40), "City", fill=(30, 30, 30), font=font)
    draw.rounded_rectangle((120, 30, 400, 66), radius=4, fill="white", outline=BORDER)
    draw.text((30, 120), "Notes", fill=(30, 30, 30), font=font)  # a label with no field
    draw.rectangle((30, 200, 45, 215), fill="white", outline=(118, 118, 118))
    draw.line((33, 207, 37, 212, 43, 202), fill="black", width=2)
    draw.text((54, 198), "Newsletter", fill=(30, 30, 30), font=font)
    draw.rectangle((30, 250, 45, 265), fill="white", outline=(118, 118, 118))
    draw.text((54, 248), "Accept terms", fill=(30, 30, 30), font=font)
    return image


def test_the_field_beside_the_label_not_the_label(form: Image.Image) -> None:
    control = locate_control(OCRGrounder(), form, "field", "the City field")
    assert control.label_box is not None and control.label_box[2] < 120
    x, y = control.located.pixel()
    assert 120 <= x <= 400 and 30 <= y <= 66
    assert describe_control("field", "the City field") == 'the input field labelled "City"'


def test_a_label_without_a_field_is_not_found(form: Image.Image) -> None:
    with pytest.raises(NotFound, match=r'found the label "Notes".*no input field'):
        locate_control(OCRGrounder(), form, "field", "Notes")


def test_checkbox_states(form: Image.Image) -> None:
    grounder = OCRGrounder()
    checked, control = checkbox_state(grounder, form, "Newsletter")
    assert checked and control.located.pixel() == pytest.approx((38, 208), abs=2)
    assert checkbox_state(grounder, form, "Accept terms")[0] is False
