"""The OCR grounder's text side, without the engine: what to look for, how lines rank, and
what the grounder makes of the engine's answer (a stand-in engine gives it its lines)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from PIL import Image

from agent.errors import ConfigurationError, NotFound
from agent.grounding.ocr import OCRGrounder, TextLine, match_text, target_text


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ('the "Save" button', "Save"),
        ("click “Save as…” now", "Save as…"),
        ("the 'Open' link", "Open"),
        ("the user's name field", "user's name"),
        ("Display name field", "Display name"),
        ("the Save button", "Save"),
        ("an OK button.", "OK"),
        ("the Remember me check box", "Remember me"),
        ("the Edit menu item", "Edit"),
        ("Email", "Email"),
        ("the Title", "Title"),
        ("the button", "button"),
        ("Button text", "Button"),
        ("the text box", "text"),
    ],
)
def test_target_text(description: str, expected: str) -> None:
    assert target_text(description) == expected


def line(
    text: str, left: float = 0, top: float = 0, width: float = 100, score: float = 0.99
) -> TextLine:
    return TextLine(text, (left, top, left + width, top + 20), score)


def test_dropped_spaces_and_case_match_exactly() -> None:
    lines = [line("Displayname"), line("EMAIL", top=50)]
    assert [(m.line.text, m.similarity) for m in match_text("Display name", lines)] == [
        ("Displayname", 1.0)
    ]
    assert match_text("email", lines)[0].similarity == 1.0


def test_punctuation_is_ignored() -> None:
    assert match_text("Name", [line("Name:")])[0].similarity == 1.0


def test_one_misread_character_still_matches() -> None:
    (match,) = match_text("Cancel", [line("Cancal"), line("Email", top=50)])
    assert match.line.text == "Cancal"
    assert 0.75 <= match.similarity < 1.0
    assert match.box == match.line.box


def test_contained_target_gets_a_sub_box_inside_the_line() -> None:
    whole = TextLine("Status: Saved", (100, 10, 230, 30), 0.98)
    (match,) = match_text("Saved", [whole])
    assert 0.8 <= match.similarity < 0.9
    left, top, right, bottom = match.box
    assert 100 < left < right <= 230
    assert (top, bottom) == (10, 30)
    # "Saved" is the last 5 of 13 characters: the right ~5/13 of the box
    assert left == pytest.approx(100 + 130 * 8 / 13)
    assert right == pytest.approx(230)


def test_ordering_exact_then_score_then_position_then_contained_then_fuzzy() -> None:
    lines = [
        line("Save changes", top=0),
        line("Save", top=300, score=0.9),
        line("Save", top=200, score=0.95),
        line("Save", top=100, left=200, score=0.95),
        line("Save", top=100, left=10, score=0.95),
        line("Sava", top=0),
    ]
    ranked = [(m.line.text, m.line.box[:2], m.line.score) for m in match_text("Save", lines)]
    assert ranked == [
        ("Save", (10, 100), 0.95),
        ("Save", (200, 100), 0.95),
        ("Save", (0, 200), 0.95),
        ("Save", (0, 300), 0.9),
        ("Save changes", (0, 0), 0.99),
        ("Sava", (0, 0), 0.99),
    ]


def test_shorter_line_wins_a_tie() -> None:
    lines = [line("Save draft now"), line("Save draft", top=50)]
    assert [m.line.text for m in match_text("draft", lines)][0] == "Save draft"


def test_nothing_above_the_threshold() -> None:
    assert match_text("Preferences", [line("OK"), line("Cancel")]) == []
    assert match_text("!!", [line("OK")]) == []


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("the Größe field", "Größe"),
        ("the ＳＡＶＥ button", "ＳＡＶＥ"),
        ("le «Enregistrer» bouton", "Enregistrer"),
        ("the 保存 button", "保存"),
    ],
)
def test_target_text_unicode(description: str, expected: str) -> None:
    assert target_text(description) == expected


@pytest.mark.parametrize(
    ("target", "read"),
    [
        ("Größe", "GRÖSSE"),
        ("ＳＡＶＥ", "Save"),
        ("Café", "Cafe\u0301"),
        ("保存", "保存"),
        ("display-name", "Display name"),
    ],
)
def test_unicode_forms_and_case_compare_equal(target: str, read: str) -> None:
    assert match_text(target, [line(read)])[0].similarity == 1.0


def test_a_word_run_into_the_next_still_matches_below_whole_words() -> None:
    lines = [line("Savechanges"), line("Save changes", top=50)]
    ranked = [(m.line.text, m.similarity) for m in match_text("Save", lines)]
    assert [text for text, _ in ranked] == ["Save changes", "Savechanges"]
    assert 0.75 <= ranked[1][1] < ranked[0][1]


def test_short_targets_match_only_whole_words() -> None:
    assert match_text("OK", [line("Bookmarks"), line("Look")]) == []
    assert match_text("OK", [line("OK, got it")])[0].line.text == "OK, got it"


def test_a_misread_never_beats_the_exact_words_in_a_longer_line() -> None:
    lines = [line("Save"), line("All changes saved", top=50)]
    assert match_text("saved", lines)[0].line.text == "All changes saved"


class FakeEngine:
    """Answers like RapidOCR: ``([[corners, text, score], ...], timings)``, counting reads."""

    def __init__(self, result: list[Any] | None) -> None:
        self.result = result
        self.calls = 0

    def __call__(self, image: Image.Image) -> tuple[list[Any] | None, list[float]]:
        self.calls += 1
        return self.result, [0.0, 0.0, 0.0]


def quad(left: float, top: float, right: float, bottom: float, tilt: float = 0) -> list[Any]:
    return [[left, top + tilt], [right, top], [right, bottom], [left, bottom + tilt]]


def grounder_reading(result: list[Any] | None) -> tuple[OCRGrounder, FakeEngine]:
    grounder = OCRGrounder()
    engine = FakeEngine(result)
    grounder._engine = engine
    return grounder, engine


def test_lines_are_hulls_in_reading_order() -> None:
    grounder, _ = grounder_reading(
        [
            [quad(300, 52, 360, 70), "Cancel", 0.99],
            [quad(10, 10, 80, 30, tilt=2), "File", 0.98],
            [quad(200, 50, 260, 70), "Save", 0.97],
            [quad(100, 14, 160, 32), "Edit", 0.96],
        ]
    )
    lines = grounder.read(Image.new("RGB", (400, 100)))
    assert [line.text for line in lines] == ["File", "Edit", "Save", "Cancel"]
    assert lines[0] == TextLine("File", (10, 10, 80, 32), 0.98)


def test_one_capture_is_read_once() -> None:
    grounder, engine = grounder_reading([[quad(10, 10, 50, 30), "OK", 0.99]])
    image = Image.new("RGB", (100, 50), "white")
    grounder.locate(image, "OK")
    assert grounder.visible(image.copy(), "the OK button")
    assert engine.calls == 1
    grounder.read(Image.new("RGB", (100, 50), "black"))
    assert engine.calls == 2


def test_locate_gives_the_centre_in_capture_pixels() -> None:
    grounder, _ = grounder_reading([[quad(298, 201, 334, 219), "Save", 0.98]])
    located = grounder.locate(Image.new("RGB", (640, 480)), 'the "Save" button')
    assert located.pixel() == (316, 210)
    assert located.box_pixels() == (298, 201, 334, 219)
    assert located.raw_output == 'matched "Save" (similarity 1.00, ocr 0.98) at 298,201,334,219'
    assert located.text == "Save" and located.model_calls == 0


def test_not_found_lists_the_closest_lines_on_one_short_line() -> None:
    texts = [f"Setting number {i} with a long explanation\nbelow it" for i in range(20)]
    grounder, _ = grounder_reading(
        [[quad(0, 30 * i, 100, 30 * i + 20), t, 0.9] for i, t in enumerate(["Sa", *texts])]
    )
    with pytest.raises(NotFound) as caught:
        grounder.locate(Image.new("RGB", (200, 700)), "the Save button")
    message = str(caught.value)
    assert message.startswith('no text matching "Save" on the screen; read: "Sa", "Setting')
    assert message.endswith(", ...") and len(message) <= 300 and "\n" not in message


def test_nothing_read() -> None:
    grounder, _ = grounder_reading(None)
    image = Image.new("RGB", (100, 50))
    assert grounder.read(image) == [] and not grounder.visible(image, "OK")
    with pytest.raises(NotFound, match="read: nothing"):
        grounder.locate(image, "OK")
    assert not grounder.seen(image, "OK").visible


def test_without_the_ocr_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'gui-agent\[ocr\]'"):
        OCRGrounder().read(Image.new("RGB", (10, 10)))


def test_questions_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="cannot answer questions"):
        OCRGrounder().ask(Image.new("RGB", (10, 10)), "What does it say?")
