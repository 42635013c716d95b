"""The OCR grounder: find an element by the text written on it, with no model at all.

:class:`OCRGrounder` reads a capture with RapidOCR (PP-OCR detection and recognition as ONNX
models, shipped inside the ``rapidocr-onnxruntime`` wheel: CPU only, no network) into
:class:`TextLine`\\ s and matches a description against them:

* :func:`target_text` takes the text a description asks for: a quoted part, else the description
  without the article in front and the element nouns behind (``the Save button`` -> ``Save``);
* :func:`match_text` compares *normalised* text (NFKC, casefolded, without whitespace and
  punctuation, because the recogniser often drops spaces: ``Display name`` reads as
  ``Displayname``). Equal text scores 1. A target inside a longer line scores 0.85-0.9 (less
  for a longer line), 0.1 less for each end of it that falls inside a word, and locates the
  estimated part of the line. Anything else scores difflib's ratio, which tolerates a misread
  character or two (between texts of about the same length: "Password" is no misread of
  "Wrong password"), capped at 0.85: a misread (``Save`` for ``saved``) never outranks the exact
  words inside a longer line (``All changes saved``).

Points are in the capture's own pixels: the grounder's frame is :meth:`ModelFrame.identity`, so
the one conversion (:func:`~agent.geometry.to_screen`) turns them into screen units. The last
reading is kept, keyed by a hash of the pixels, so several targets on one capture cost one read.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from agent.errors import ConfigurationError, NotFound
from agent.geometry import CoordinateSpace, ModelFrame, Point
from agent.grounding.base import Answer, Located, Sighting

__all__ = ["OCRGrounder", "TextLine", "TextMatch", "match_text", "target_text"]

Box = tuple[float, float, float, float]

_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”|‘([^’]+)’|«([^»]+)»|(?<!\w)\'([^\']+)\'(?!\w)')
_ARTICLES = frozenset({"the", "a", "an"})
_ELEMENT_NOUNS = frozenset(
    {
        "button",
        "field",
        "label",
        "link",
        "tab",
        "menu",
        "item",
        "icon",
        "checkbox",
        "check box",
        "text",
        "box",
        "entry",
        "input",
        "title",
        "heading",
        "option",
    }
)
_END_PUNCTUATION = ".,:;!?"  # may follow an element noun: "the OK button."
_EXACT = 1.0
_CONTAINED = 0.9
_LONGER_LINE_PENALTY = 0.05  # times the fraction of the line outside the match
_MID_WORD_PENALTY = 0.1  # for each end of the match that falls inside a word
_MISREAD = 0.85  # the most a fuzzy match scores: never above the exact words in a longer line
_SHORT_TARGET = 2  # targets this short ("OK", "No") match inside a line only as whole words
_MESSAGE_LIMIT = 300
_LINE_LIMIT = 40


@dataclass(frozen=True)
class TextLine:
    """One line the recogniser read: its text, its box and how sure it is."""

    text: str
    box: Box
    """left, top, right, bottom in capture pixels (the hull of the detected quadrilateral)"""
    score: float
    """the recogniser's confidence, 0..1"""


@dataclass(frozen=True)
class TextMatch:
    """A line that matches a target, and where in it the target is."""

    line: TextLine
    similarity: float
    """0..1: 1 for equal normalised text"""
    box: Box
    """the matched part: the whole line, or the estimated part of it holding the target"""


def target_text(description: str) -> str:
    """The text a description asks for: a quoted part wins (``the "Save" button`` -> ``Save``);
    else the description without leading articles and trailing element nouns
    (``the Display name field`` -> ``Display name``), never dropping its last word."""
    quoted = _QUOTED.search(description)
    if quoted:
        return next(group for group in quoted.groups() if group).strip()
    words = description.split()
    while len(words) > 1 and words[0].casefold() in _ARTICLES:
        words = words[1:]
    while len(words) > 1 and (tail := _trailing_noun(words)):
        words = words[:-tail]
    return " ".join(words) or description.strip()


def _trailing_noun(words: list[str]) -> int:
    """How many of the last words form an element noun (0 if none), leaving at least one."""
    for size in (2, 1):
        tail = " ".join(words[-size:]).casefold().rstrip(_END_PUNCTUATION)
        if len(words) > size and tail in _ELEMENT_NOUNS:
            return size
    return 0


def match_text(
    description: str, lines: Sequence[TextLine], min_similarity: float = 0.75
) -> list[TextMatch]:
    """The lines matching :func:`target_text` of ``description``, best first: by similarity,
    then the recogniser's score (to two decimals), then the shorter line, then top to bottom
    and left to right. Lines below ``min_similarity`` are left out."""
    return _rank(target_text(description), lines, min_similarity)


def _rank(target: str, lines: Sequence[TextLine], min_similarity: float) -> list[TextMatch]:
    wanted = _normalise(target)[0]
    if not wanted:
        return []
    matches = [_compare(wanted, line) for line in lines]
    kept = [m for m in matches if m.similarity >= min_similarity]
    return sorted(kept, key=_order)


def _order(match: TextMatch) -> tuple[float, float, int, float, float]:
    line = match.line
    return (-match.similarity, -round(line.score, 2), len(line.text), line.box[1], line.box[0])


def _normalise(text: str) -> tuple[str, str, list[int]]:
    """``text`` normalised for comparison, the NFKC form it was made from, and for each
    normalised character the index of the NFKC character it came from."""
    nfkc = unicodedata.normalize("NFKC", text)
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(nfkc):
        for folded in char.casefold():
            if unicodedata.category(folded)[0] not in "ZPC":
                chars.append(folded)
                origin.append(index)
    return "".join(chars), nfkc, origin


def _compare(wanted: str, line: TextLine) -> TextMatch:
    have, nfkc, origin = _normalise(line.text)
    if have == wanted:
        return TextMatch(line, _EXACT, line.box)
    contained = _contained(wanted, have, nfkc, origin, line)
    if contained is not None:
        return contained
    if abs(len(have) - len(wanted)) > max(2, len(wanted) // 5):
        return TextMatch(line, 0.0, line.box)  # a word more or less is other text, not a misread
    ratio = difflib.SequenceMatcher(None, wanted, have).ratio()
    return TextMatch(line, min(ratio, _MISREAD), line.box)


def _contained(
    wanted: str, have: str, nfkc: str, origin: list[int], line: TextLine
) -> TextMatch | None:
    """The best occurrence of ``wanted`` inside the longer line, with its estimated box."""
    best: tuple[int, int, int] | None = None  # mid-word ends, first and last NFKC index
    start = have.find(wanted)
    while start >= 0:
        first, last = origin[start], origin[start + len(wanted) - 1]
        inside = _inside_word(nfkc, first - 1) + _inside_word(nfkc, last + 1)
        if best is None or inside < best[0]:
            best = (inside, first, last)
        start = have.find(wanted, start + 1)
    if best is None or (best[0] and len(wanted) <= _SHORT_TARGET):
        return None
    inside, first, last = best
    similarity = (
        _CONTAINED
        - _LONGER_LINE_PENALTY * (1 - len(wanted) / len(have))
        - _MID_WORD_PENALTY * inside
    )
    left, top, right, bottom = line.box
    width = (right - left) / len(nfkc)
    return TextMatch(
        line, similarity, (left + first * width, top, left + (last + 1) * width, bottom)
    )


def _inside_word(text: str, index: int) -> int:
    """1 if the character at ``index`` (just outside a match) continues a word, else 0."""
    return int(0 <= index < len(text) and text[index].isalnum())


def _reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Rows top to bottom (a line whose middle lies within a row's first line joins the row),
    each row left to right."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda line: (line.box[1], line.box[0])):
        middle = (line.box[1] + line.box[3]) / 2
        if rows and rows[-1][0].box[1] <= middle <= rows[-1][0].box[3]:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda line: line.box[0])]


def _hull(corners: Sequence[Sequence[float]]) -> Box:
    xs = [float(x) for x, _ in corners]
    ys = [float(y) for _, y in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _quote(text: str) -> str:
    return f'"{text if len(text) <= _LINE_LIMIT else text[: _LINE_LIMIT - 3] + "..."}"'


def _not_found(target: str, lines: Sequence[TextLine]) -> NotFound:
    """NotFound naming the lines closest to ``target``, kept to one line of bounded length."""
    message = f"no text matching {_quote(target)} on the screen; read: "
    closest = [_quote(m.line.text.replace("\n", " ")) for m in _rank(target, lines, 0.0)]
    if not closest:
        return NotFound(message + "nothing")
    shown: list[str] = []
    for quoted in closest:
        if len(message + ", ".join([*shown, quoted, "..."])) > _MESSAGE_LIMIT:
            return NotFound(message + ", ".join([*shown, "..."]))
        shown.append(quoted)
    return NotFound(message + ", ".join(shown))


def _describe(target: str, match: TextMatch) -> str:
    line = match.line
    what = f'"{line.text}"' if match.box == line.box else f'"{target}" in "{line.text}"'
    at = ",".join(str(round(v)) for v in match.box)
    return f"matched {what} (similarity {match.similarity:.2f}, ocr {line.score:.2f}) at {at}"


class OCRGrounder:
    """The Grounder that reads text: RapidOCR on the CPU, weights from the wheel, no network.

    The engine is made on first use. ``min_similarity`` is the least :func:`match_text`
    similarity that counts as a match; ``min_score`` the least recogniser confidence of a line
    that is kept.
    """

    model = "rapidocr"
    min_pixels = 1
    max_pixels = 2**31 - 1

    def __init__(self, *, min_similarity: float = 0.75, min_score: float = 0.5) -> None:
        self.min_similarity = min_similarity
        self.min_score = min_score
        self._engine: Any = None
        self._last: tuple[bytes, tuple[TextLine, ...]] | None = None

    def frame_for(self, width: int, height: int) -> ModelFrame:
        return ModelFrame.identity(width, height)

    def read(self, image: Image.Image) -> list[TextLine]:
        """The lines in ``image`` with a score of at least ``min_score``, in reading order."""
        rgb = image.convert("RGB")
        key = hashlib.blake2b(rgb.tobytes(), digest_size=16)
        key.update(f"{rgb.width}x{rgb.height}".encode())
        digest = key.digest()
        if self._last is None or self._last[0] != digest:
            self._last = digest, tuple(_reading_order(self._recognise(rgb)))
        return list(self._last[1])

    def lines_text(self, image: Image.Image) -> str:
        """Everything read in ``image``, one line of text per line."""
        return "\n".join(line.text for line in self.read(image))

    def locate(self, image: Image.Image, description: str) -> Located:
        start = time.perf_counter()
        target = target_text(description)
        lines = self.read(image)
        matches = _rank(target, lines, self.min_similarity)
        if not matches:
            raise _not_found(target, lines)
        best = matches[0]
        left, top, right, bottom = best.box
        return Located(
            point=Point(x=(left + right) / 2, y=(top + bottom) / 2, space=CoordinateSpace.RESIZED),
            frame=self.frame_for(image.width, image.height),
            box=(
                Point(x=left, y=top, space=CoordinateSpace.RESIZED),
                Point(x=right, y=bottom, space=CoordinateSpace.RESIZED),
            ),
            raw_output=_describe(target, best),
            latency_s=time.perf_counter() - start,
            text=best.line.text,
        )

    def visible(self, image: Image.Image, description: str) -> bool:
        """Whether any line in ``image`` matches ``description``."""
        return bool(match_text(description, self.read(image), self.min_similarity))

    def seen(self, image: Image.Image, description: str) -> Sighting:
        try:
            located = self.locate(image, description)
        except NotFound as exc:
            return Sighting(False, str(exc))
        return Sighting(True, located.raw_output, located=located)

    def ask(self, image: Image.Image, prompt: str) -> Answer:
        raise ConfigurationError(
            "the OCR grounder reads text but cannot answer questions; "
            "use a vision-language model for query()"
        )

    def _recognise(self, rgb: Image.Image) -> list[TextLine]:
        # A PIL image, not an array: RapidOCR takes arrays for BGR (OpenCV's order) and turns
        # only images (and files) from RGB into BGR.
        result, _ = self._ocr()(rgb)
        return [
            TextLine(str(text), _hull(corners), float(score))
            for corners, text, score in result or []
        ]

    def _ocr(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise ConfigurationError(
                    "the OCR grounder needs the ocr extra: pip install 'gui-agent[ocr]'"
                ) from exc
            self._engine = RapidOCR(text_score=self.min_score)
        return self._engine
