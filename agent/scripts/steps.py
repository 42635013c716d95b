"""The deciders behind a script's calls: each call is one step of the agent loop.

:class:`TargetStep` locates its targets (through the
:class:`~agent.scripts.location_cache.LocationCache` when the call is cacheable, else the
grounder), converts each point to the screen with the one conversion, and builds the call's actions
on them. :class:`CheckStep` asks whether something is visible; :class:`QueryStep` reads structured
data off the screen into a pydantic model. They return :class:`~agent.decision.Decision` like the
model decider does, so the loop reviews, records and executes script steps exactly as it does the
model's, and every step says where its points came from (:class:`~agent.trajectory.TargetRecord`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from actions.schema import Action
from agent.decision import Decision, Situation, UnusableAnswer
from agent.errors import ModelError, ParseError
from agent.geometry import CoordinateSpace, ModelFrame, Point, to_screen
from agent.grounding.base import Grounder, Located, Sighting, grounder_name
from agent.grounding.controls import ControlKind, locate_control
from agent.screen.capture import Screenshot
from agent.scripts.location_cache import LocationCache
from agent.styles.jsontext import extract_objects, loads_lenient, strip_fences
from agent.trajectory import FrameRecord, Source, TargetRecord

__all__ = ["CheckStep", "Found", "NoteStep", "QueryStep", "Target", "TargetStep"]

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class Target:
    """One thing a call looks for. ``key`` names it in the cache (the description as the
    script writes it, variables by name); ``occurrence``: earlier uses of the key."""

    description: str
    key: str
    occurrence: int
    cacheable: bool = True
    control: ControlKind | None = None
    """a form control named by its label (``field``: the input ``type: {into: ...}`` means),
    not the element the description's text is on"""


@dataclass(frozen=True)
class Found:
    """Where a target was found on the step's capture."""

    target: Target
    point: Point
    """screen point"""
    pixel: tuple[float, float]
    """capture pixels"""
    hit: bool
    """from the cache"""


class _Base:
    """Shared by the script deciders: the grounder's frame, and the decision's bookkeeping."""

    source: Source = "script"

    def __init__(self, grounder: Grounder, verb: str) -> None:
        self.grounder = grounder
        self.verb = verb
        self.shot: Screenshot | None = None

    def frame_for(self, width: int, height: int) -> ModelFrame:
        return self.grounder.frame_for(width, height)

    def _grounder_name(self) -> str:
        return grounder_name(self.grounder)


class TargetStep(_Base):
    """Locates ``targets`` and builds the call's actions on their screen points.

    After a step that ran without error, :meth:`remember` stores what the grounder found in
    the cache (read-write mode only); cache hits are not stored again.
    """

    def __init__(
        self,
        grounder: Grounder,
        verb: str,
        targets: Sequence[Target],
        build: Callable[[list[Point]], list[Action]],
        *,
        cache: LocationCache | None = None,
        clamp: bool = False,
    ) -> None:
        super().__init__(grounder, verb)
        self.targets = list(targets)
        self.build = build
        self.cache = cache
        self.clamp = clamp
        self.found: list[Found] = []

    def decide(self, situation: Situation) -> Decision:
        start = time.perf_counter()
        shot = self.shot = situation.screenshot
        self.found = []
        records: list[TargetRecord] = []
        answers: list[Decision] = []
        for target in self.targets:
            try:
                found, record, located = self._locate(target, shot, situation.frame)
            except ModelError as exc:  # the answers so far, and the unusable one, are recorded
                cause, parts = exc, answers
                if isinstance(exc, UnusableAnswer):
                    cause, parts = exc.cause, [*answers, exc.partial]
                merged = _merge(situation.frame, parts, [*records, self._record(target)])
                raise UnusableAnswer(cause, merged) from exc
            self.found.append(found)
            records.append(record)
            if located is not None:
                answers.append(_answered(located, situation.frame))
        merged = _merge(situation.frame, answers, records)
        hit = all(f.hit for f in self.found) and bool(self.found)
        return replace(
            merged,
            actions=self.build([f.point for f in self.found]),
            source="cache" if hit else "script",
            timings={**merged.timings, "locate": time.perf_counter() - start},
        )

    def _record(self, target: Target, **fields: object) -> TargetRecord:
        return TargetRecord(
            verb=self.verb,
            description=target.description,
            key=target.key if target.cacheable else None,
            occurrence=target.occurrence if target.cacheable else None,
            **fields,  # type: ignore[arg-type]
        )

    def _locate(
        self, target: Target, shot: Screenshot, frame: ModelFrame
    ) -> tuple[Found, TargetRecord, Located | None]:
        cache_note: str | None = None
        if target.cacheable and self.cache is not None:
            lookup = self.cache.lookup(target.key, target.occurrence, shot.image, shot.monitor)
            if lookup.hit and lookup.pixel is not None:
                identity = ModelFrame.identity(shot.image.width, shot.image.height)
                pixel = lookup.pixel
                model_point = Point(x=pixel[0], y=pixel[1], space=CoordinateSpace.RESIZED)
                point = to_screen(model_point, identity, shot.monitor)
                record = self._record(
                    target, located_by="cache", cache="hit", pixel=pixel, score=lookup.score
                )
                return Found(target, point, pixel, True), record, None
            cache_note = lookup.reason if lookup.reason == "cache off" else f"miss: {lookup.reason}"
            if self.cache.mode == "read-only" and cache_note.startswith("miss"):
                cache_note += " (read-only: not stored)"
        label_box = None
        if target.control is None:
            located = self.grounder.locate(shot.image, target.description)
        else:
            control = locate_control(self.grounder, shot.image, target.control, target.description)
            located, label_box = control.located, control.label_box
        point = to_screen(located.point, located.frame, shot.monitor, clamp=self.clamp)
        pixel = located.pixel(self.clamp)
        record = self._record(
            target,
            located_by=self._grounder_name(),
            cache=cache_note,
            pixel=(float(pixel[0]), float(pixel[1])),
            box=located.box_pixels(clamp=True),
            label_box=label_box,
            model_point=located.point,
            frame=FrameRecord.of(located.frame),
        )
        return Found(target, point, (float(pixel[0]), float(pixel[1])), False), record, located

    def remember(self) -> int:
        """Store the targets the grounder found (not the cache's hits); entries written."""
        if self.cache is None or self.shot is None:
            return 0
        written = 0
        for found in self.found:
            if found.hit or not found.target.cacheable:
                continue
            written += self.cache.store(
                found.target.key,
                found.target.occurrence,
                self.shot.image,
                self.shot.monitor,
                found.pixel,
                found.point.screen_xy(),
                self._grounder_name(),
            )
        return written


class CheckStep(_Base):
    """Is ``description`` visible? Never cached. The answer is in :attr:`sighting`."""

    def __init__(self, grounder: Grounder, verb: str, description: str) -> None:
        super().__init__(grounder, verb)
        self.description = description
        self.sighting: Sighting | None = None

    def decide(self, situation: Situation) -> Decision:
        self.shot = situation.screenshot
        start = time.perf_counter()
        self.sighting = None
        record = TargetRecord(verb=self.verb, description=self.description)
        try:
            sighting = self.grounder.seen(situation.screenshot.image, self.description)
        except UnusableAnswer as exc:
            raise UnusableAnswer(
                exc.cause, _with(exc.partial, targets=[record], frame=situation.frame)
            ) from exc
        self.sighting = sighting
        located, answer = sighting.located, sighting.answer
        outcome = f"{'visible' if sighting.visible else 'not visible'}: {sighting.detail}"
        pixel = located.pixel(clamp=True) if located else None
        record = record.model_copy(
            update={
                "located_by": self._grounder_name(),
                "outcome": outcome,
                "pixel": (float(pixel[0]), float(pixel[1])) if pixel else None,
                "box": located.box_pixels(clamp=True) if located else None,
            }
        )
        return Decision(
            actions=[],
            frame=situation.frame,
            source="script",
            messages=answer.messages if answer else [],
            raw_output=answer.text if answer else (located.raw_output if located else ""),
            prompt_tokens=answer.prompt_tokens if answer else None,
            completion_tokens=answer.completion_tokens if answer else None,
            timings={"model": time.perf_counter() - start},
            model_calls=answer.model_calls if answer else 0,
            notes=[f"{self.verb}: {outcome}"],
            targets=[record],
        )


class NoteStep(_Base):
    """A verdict reached without the grounder (a file check), recorded with the screen."""

    def __init__(self, grounder: Grounder, verb: str, description: str, outcome: str) -> None:
        super().__init__(grounder, verb)
        self.record = TargetRecord(verb=verb, description=description, outcome=outcome)

    def decide(self, situation: Situation) -> Decision:
        self.shot = situation.screenshot
        return Decision(
            actions=[],
            frame=situation.frame,
            source="script",
            notes=[f"{self.verb}: {self.record.outcome}"],
            targets=[self.record],
        )


QUERY_PROMPT = (
    "{question}\n\nRead the answer off the screen. Reply with only one JSON object (no prose, "
    "no code fence) that validates against this JSON schema:\n{schema}"
)
QUERY_RETRY = "\n\nYour previous answer was not valid: {reason}. Answer again with only the JSON."


class QueryStep(_Base, Generic[Model]):
    """Structured data read off the screen into ``schema`` (a pydantic model). An answer that
    is not valid JSON for the schema is refused with the validation error, which the next try
    is shown. Never cached. The value is in :attr:`result`."""

    def __init__(self, grounder: Grounder, question: str, schema: type[Model]) -> None:
        super().__init__(grounder, "query")
        self.question = question
        self.schema = schema
        self.result: Model | None = None

    def prompt(self, feedback: str | None) -> str:
        schema = json.dumps(self.schema.model_json_schema(), ensure_ascii=False)
        text = QUERY_PROMPT.format(question=self.question, schema=schema)
        return text + (QUERY_RETRY.format(reason=feedback) if feedback else "")

    def decide(self, situation: Situation) -> Decision:
        self.shot = situation.screenshot
        start = time.perf_counter()
        answer = self.grounder.ask(situation.screenshot.image, self.prompt(situation.feedback))
        record = TargetRecord(verb="query", description=self.question)
        decision = Decision(
            actions=[],
            frame=situation.frame,
            source="script",
            messages=answer.messages,
            raw_output=answer.text,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            timings={"model": time.perf_counter() - start},
            model_calls=answer.model_calls,
            targets=[record],
        )
        try:
            self.result = self.parse(answer.text)
        except ModelError as exc:
            raise UnusableAnswer(exc, decision) from exc
        outcome = self.result.model_dump_json()
        return _with(
            decision,
            targets=[record.model_copy(update={"outcome": outcome})],
            notes=[f"query: {outcome}"],
        )

    def parse(self, text: str) -> Model:
        """The schema's instance in ``text``: JSON repaired leniently, then validated; a
        ParseError says what is wrong, for the model."""
        body = strip_fences(text)
        objects = extract_objects(body)
        if not objects:
            raise ParseError("no JSON object in the answer")
        data = loads_lenient(objects[0])
        try:
            return self.schema.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'the object'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            raise ParseError(f"the JSON does not match the schema: {problems}") from exc


def _with(decision: Decision, **changes: object) -> Decision:
    return replace(decision, **changes)  # type: ignore[arg-type]


def _answered(located: Located, frame: ModelFrame) -> Decision:
    """A grounder's answer as the part of a decision it is: prompt, raw answer, cost."""
    return Decision(
        actions=[],
        frame=frame,
        messages=located.messages,
        raw_output=located.raw_output,
        prompt_tokens=located.prompt_tokens,
        completion_tokens=located.completion_tokens,
        timings={"model": located.latency_s},
        model_calls=located.model_calls,
    )


def _merge(frame: ModelFrame, parts: Sequence[Decision], records: list[TargetRecord]) -> Decision:
    """One decision's record of several grounder answers (a drag asks for two targets)."""

    def total(values: list[int | None]) -> int | None:
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    return Decision(
        actions=[],
        frame=frame,
        source="script",
        messages=parts[-1].messages if parts else [],
        raw_output="\n".join(p.raw_output for p in parts if p.raw_output),
        prompt_tokens=total([p.prompt_tokens for p in parts]),
        completion_tokens=total([p.completion_tokens for p in parts]),
        timings={"model": sum(p.timings.get("model", 0.0) for p in parts)} if parts else {},
        model_calls=sum(p.model_calls for p in parts),
        targets=records,
    )
