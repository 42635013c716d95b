"""The deciders behind the form verbs that look before they act: ``check``/``uncheck`` and the
verification of ``select``.

Fields are located by :class:`~agent.scripts.steps.TargetStep` with a control kind (the input
``type``/``fill``/``select`` mean is found beside its label by
:mod:`agent.grounding.controls`). A checkbox is different: clicking toggles, so
:class:`CheckboxStep` reads the state first and clicks only when it differs from the one wanted
(``check`` on a checked box clicks nothing); the Desktop looks again with a step that only reads.
:class:`ShowsStep` reads whether a closed combo box shows the chosen option. Neither is cached:
a state is read off the screen every time.
"""

from __future__ import annotations

import time

from actions.schema import Click
from agent.decision import Decision, Situation, UnusableAnswer
from agent.errors import ModelError
from agent.geometry import to_screen
from agent.grounding.base import Grounder
from agent.grounding.controls import Control, checkbox_state, shows
from agent.scripts.steps import _Base
from agent.trajectory import TargetRecord

__all__ = ["CheckboxStep", "ShowsStep"]


class CheckboxStep(_Base):
    """Reads the checkbox labelled ``label``; clicks it when ``want`` (True: checked) differs.
    ``want`` None only reads; ``known``, the control an earlier look found, is read again where
    it was (see :func:`~agent.grounding.controls.checkbox_state`). The state read is in
    :attr:`state`, the control in :attr:`control`, whether it clicked in :attr:`clicked`."""

    def __init__(
        self,
        grounder: Grounder,
        verb: str,
        label: str,
        want: bool | None,
        clamp: bool = False,
        known: Control | None = None,
    ) -> None:
        super().__init__(grounder, verb)
        self.label = label
        self.want = want
        self.clamp = clamp
        self.known = known
        self.state: bool | None = None
        self.clicked = False
        self.control: Control | None = None

    def decide(self, situation: Situation) -> Decision:
        self.shot = shot = situation.screenshot
        start = time.perf_counter()
        self.state, self.clicked = None, False
        record = TargetRecord(verb=self.verb, description=self.label)
        try:
            state, control = checkbox_state(self.grounder, shot.image, self.label, self.known)
        except ModelError as exc:
            partial = Decision(actions=[], frame=situation.frame, source="script", targets=[record])
            raise UnusableAnswer(exc, partial) from exc
        located = control.located
        pixel = located.pixel(clamp=True)
        self.state, self.control = state, control
        self.clicked = self.want is not None and state != self.want
        outcome = ("checked" if state else "unchecked") + (": clicked" if self.clicked else "")
        record = record.model_copy(
            update={
                "located_by": self._grounder_name(),
                "pixel": (float(pixel[0]), float(pixel[1])),
                "box": located.box_pixels(clamp=True),
                "label_box": control.label_box,
                "outcome": outcome,
            }
        )
        actions = []
        if self.clicked:
            point = to_screen(located.point, located.frame, shot.monitor, clamp=self.clamp)
            actions.append(Click(point=point))
        return Decision(
            actions=list(actions),
            frame=situation.frame,
            source="script",
            messages=located.messages,
            raw_output=located.raw_output,
            prompt_tokens=located.prompt_tokens,
            completion_tokens=located.completion_tokens,
            timings={"model": located.latency_s, "locate": time.perf_counter() - start},
            model_calls=located.model_calls + (control.answer.model_calls if control.answer else 0),
            notes=[f"{self.verb} {self.label}: {outcome}"],
            targets=[record],
        )


class ShowsStep(_Base):
    """Whether the field labelled ``label`` shows ``option`` now; the answer is in
    :attr:`shown`, what was seen in :attr:`detail`."""

    def __init__(self, grounder: Grounder, verb: str, label: str, option: str) -> None:
        super().__init__(grounder, verb)
        self.label = label
        self.option = option
        self.shown: bool | None = None
        self.detail = ""

    def decide(self, situation: Situation) -> Decision:
        self.shot = situation.screenshot
        start = time.perf_counter()
        record = TargetRecord(verb=self.verb, description=f"{self.option} in {self.label}")
        try:
            self.shown, self.detail = shows(
                self.grounder, situation.screenshot.image, self.label, self.option
            )
        except ModelError as exc:
            partial = Decision(actions=[], frame=situation.frame, source="script", targets=[record])
            raise UnusableAnswer(exc, partial) from exc
        outcome = f"{'shown' if self.shown else 'not shown'}: {self.detail}"
        return Decision(
            actions=[],
            frame=situation.frame,
            source="script",
            timings={"model": time.perf_counter() - start},
            notes=[f"{self.verb}: {outcome}"],
            targets=[
                record.model_copy(update={"located_by": self._grounder_name(), "outcome": outcome})
            ],
        )
