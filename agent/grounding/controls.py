"""Form controls named by their label: the input field a label names, a checkbox's state.

A script says ``type: {text: Paris, into: City}``: it means the field, not the label (a GTK
label takes no focus; a click on it types into whatever field had the focus). How a control is
found depends on the grounder:

* the OCR grounder finds the label's text, then the control beside it on the screenshot
  (:mod:`agent.grounding.fields`: the nearest input-like box right of the label or below it, the
  small square left of a checkbox's text, a mark inside it or not);
* a model is asked for the control itself (``the input field labelled "City"``) and, for a
  checkbox, whether it is checked.

:func:`locate_control` answers a :class:`Control`: the control's :class:`Located` and, where it
was found through its label, the label's box too. A control that cannot be told apart from its
surroundings is :class:`~agent.errors.NotFound` saying what was seen: never the label instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Literal

from PIL import Image

from agent.errors import NotFound, ParseError
from agent.geometry import CoordinateSpace, Point
from agent.grounding.base import Answer, Grounder, Located
from agent.grounding.fields import Box, checkbox_beside, field_beside, is_marked
from agent.grounding.ocr import OCRGrounder, TextLine, match_text, target_text
from agent.styles.jsontext import extract_objects, loads_lenient

__all__ = [
    "CHECKED_PROMPT",
    "Control",
    "ControlKind",
    "SHOWS_PROMPT",
    "checkbox_state",
    "describe_control",
    "locate_control",
    "shows",
]

ControlKind = Literal["field", "checkbox"]

#: how a model is asked for a control: the control, named by its label
_DESCRIPTIONS: dict[ControlKind, str] = {
    "field": 'the input field labelled "{label}"',
    "checkbox": 'the checkbox labelled "{label}"',
}
CHECKED_PROMPT = (
    'Is the checkbox labelled "{label}" checked? Answer with only a JSON object: '
    '{{"checked": true or false}}'
)
SHOWS_PROMPT = 'the text "{option}" shown in the field labelled "{label}"'


@dataclass(frozen=True)
class Control:
    """A control found for a label: where it is, and where its label is (OCR only)."""

    located: Located
    label_box: tuple[int, int, int, int] | None = None
    """the label's box in capture pixels, when the control was found beside it"""
    answer: Answer | None = None
    """the model's answer about the control's state (a checkbox asked about)"""


def describe_control(kind: ControlKind, label: str) -> str:
    """What a model is asked for: the control, named by its label (the label's text alone when
    the script quotes it or names a field: ``the City field`` -> ``City``)."""
    return _DESCRIPTIONS[kind].format(label=target_text(label))


def locate_control(
    grounder: Grounder, image: Image.Image, kind: ControlKind, label: str
) -> Control:
    """The ``kind`` of control labelled ``label`` in ``image``. NotFound when the label is not
    there, or no control of the kind is beside it."""
    if not isinstance(grounder, OCRGrounder):
        return Control(grounder.locate(image, describe_control(kind, label)))
    start = time.perf_counter()
    text = grounder.locate(image, label)
    label_box = text.box_pixels(clamp=True)
    assert label_box is not None  # the OCR grounder always gives the line's box
    box = field_beside(image, label_box) if kind == "field" else checkbox_beside(image, label_box)
    if box is None:
        where = "right of it or below it" if kind == "field" else "beside it"
        noun = "input field" if kind == "field" else "checkbox"
        raise NotFound(
            f"found the label {text.raw_output.removeprefix('matched ')}, but no {noun} "
            f"{where}: nothing there looks like one (a box drawn with edges)"
        )
    return Control(_at(text, box, time.perf_counter() - start), label_box)


def _at(text: Located, box: Box, latency_s: float) -> Located:
    """The label's Located moved onto ``box``: its middle, its box, the label noted."""
    left, top, right, bottom = box
    return replace(
        text,
        point=Point(x=(left + right) / 2, y=(top + bottom) / 2, space=CoordinateSpace.RESIZED),
        box=(
            Point(x=left, y=top, space=CoordinateSpace.RESIZED),
            Point(x=right, y=bottom, space=CoordinateSpace.RESIZED),
        ),
        raw_output=f"{text.raw_output}; the control beside it at {left},{top},{right},{bottom}",
        latency_s=latency_s,
    )


def checkbox_state(
    grounder: Grounder, image: Image.Image, label: str, known: Control | None = None
) -> tuple[bool, Control]:
    """Whether the checkbox labelled ``label`` is checked, and where it is: read off the box
    beside the label (OCR), or asked (a model). ``known``: the control an earlier look found,
    read again where it was (OCR) after a click, which does not move it: the pointer is still
    over it, and a toolkit's hover look can hide its edges (Tk's active background is as light
    as the lower and right sides of its box)."""
    if isinstance(grounder, OCRGrounder) and known is not None:
        box = known.located.box_pixels(clamp=True)
        assert box is not None
        where = ",".join(map(str, box))
        located = replace(known.located, latency_s=0.0, raw_output=f"the box seen at {where}")
        return is_marked(image, box), replace(known, located=located)
    control = locate_control(grounder, image, "checkbox", label)
    if isinstance(grounder, OCRGrounder):
        box = control.located.box_pixels(clamp=True)
        assert box is not None
        return is_marked(image, box), control
    answer = grounder.ask(image, CHECKED_PROMPT.format(label=target_text(label)))
    for data in map(loads_lenient, extract_objects(answer.text)):
        if isinstance(data, dict) and isinstance(data.get("checked"), bool):
            return data["checked"], replace(control, answer=answer)
    raise ParseError('no {"checked": true|false} object in the answer')


def shows(grounder: Grounder, image: Image.Image, label: str, option: str) -> tuple[bool, str]:
    """Whether the field labelled ``label`` shows ``option`` (a closed combo box after a
    choice), and what was seen, in one line."""
    if not isinstance(grounder, OCRGrounder):
        sighting = grounder.seen(
            image, SHOWS_PROMPT.format(option=option, label=target_text(label))
        )
        return sighting.visible, sighting.detail
    control = locate_control(grounder, image, "field", label)
    box = control.located.box_pixels(clamp=True)
    assert box is not None
    inside = [line for line in grounder.read(image) if _within(line, box)]
    seen = ", ".join(f'"{line.text}"' for line in inside) or "no text"
    if match_text(f'"{option}"', inside, grounder.min_similarity):
        return True, f"the field shows {seen}"
    return False, f"the field at {','.join(map(str, box))} shows {seen}"


def _within(line: TextLine, box: tuple[int, int, int, int]) -> bool:
    x = (line.box[0] + line.box[2]) / 2
    y = (line.box[1] + line.box[3]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]
