"""Finding the control beside a label on synthetic forms: fields right of and below labels, the
rectangle holding a placeholder, two stacked fields kept apart, checkboxes and their marks."""

from __future__ import annotations

from PIL import Image, ImageDraw

from agent.grounding.fields import checkbox_beside, field_beside, is_marked, rectangles

BACKGROUND = (246, 245, 244)
BORDER = (205, 199, 194)


def near(found: tuple[int, int, int, int] | None, drawn: tuple[int, int, int, int]) -> bool:
    """Within a pixel of the box PIL drew (its last row and column are inside it)."""
    return found is not None and all(abs(a - b) <= 1 for a, b in zip(found, drawn, strict=True))


def form() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (640, 400), BACKGROUND)
    return image, ImageDraw.Draw(image)


def entry(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str = "") -> None:
    draw.rounded_rectangle(box, radius=4, fill="white", outline=BORDER)
    if text:
        draw.text((box[0] + 6, box[1] + 8), text, fill="black")


def test_a_field_right_of_its_label_even_with_another_field_below() -> None:
    image, draw = form()
    entry(draw, (100, 20, 300, 52))  # Name
    entry(draw, (100, 60, 300, 92), "Lyon")  # City, holding text
    name, city = (20, 28, 60, 44), (20, 68, 52, 84)
    assert near(field_beside(image, name), (100, 20, 300, 52))
    assert near(field_beside(image, city), (100, 60, 300, 92))


def test_a_field_below_its_label_and_the_field_holding_the_label() -> None:
    image, draw = form()
    entry(draw, (40, 150, 260, 182))
    assert near(field_beside(image, (40, 126, 90, 142)), (40, 150, 260, 182))
    placeholder = (48, 158, 120, 174)  # text inside the field: the field itself
    assert near(field_beside(image, placeholder), (40, 150, 260, 182))


def test_no_field_beside_a_label_is_none_not_the_label() -> None:
    image, draw = form()
    draw.line((20, 300, 600, 300), fill=BORDER)  # a separator is no field
    assert field_beside(image, (20, 270, 80, 286)) is None
    assert rectangles(image, (0, 0, 640, 400), min_width=40, max_width=640, min_height=14,
                      max_height=80) == []  # fmt: skip


def test_a_checkbox_left_of_its_label_and_its_mark() -> None:
    image, draw = form()
    draw.rectangle((20, 20, 34, 34), fill="white", outline=(118, 118, 118))
    draw.rectangle((20, 60, 34, 74), fill=(53, 132, 228), outline=(53, 132, 228))
    draw.line((23, 67, 26, 71, 32, 62), fill="white", width=2)  # a tick on a coloured fill
    draw.rectangle((20, 100, 34, 114), fill="white", outline=(118, 118, 118))
    draw.line((23, 107, 26, 111, 32, 102), fill="black", width=2)  # a tick on white
    empty = checkbox_beside(image, (40, 19, 120, 36))
    filled = checkbox_beside(image, (40, 59, 120, 76))
    ticked = checkbox_beside(image, (16, 99, 120, 116))  # the box read as part of the line
    assert empty is not None and near(empty, (20, 20, 34, 34))
    assert not is_marked(image, empty)
    assert filled is not None and is_marked(image, filled)
    assert ticked is not None and is_marked(image, ticked)
    assert checkbox_beside(image, (40, 200, 120, 216)) is None
