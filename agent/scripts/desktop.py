"""Desktop scripts: say *what* to click in words; every call is a recorded, vetted step.

::

    with Desktop(OCRGrounder(), out="runs/prefs", cache="prefs.cache.json") as desktop:
        desktop.click("Display name")
        desktop.type("Ada")
        desktop.press("ctrl", "s")
        desktop.wait_for("Saved", timeout_s=5)

Each call is one step of the agent loop (:mod:`agent.loop`) with a script decider
(:mod:`agent.scripts.steps`): captured, located (through the
:class:`~agent.scripts.location_cache.LocationCache` first where the call is cacheable), converted
with the one conversion, reviewed by the :class:`~actions.policy.Policy`, recorded before it acts,
executed, recorded after. All calls of one ``Desktop`` record into one trajectory. An unusable
model answer is retried (``max_retries``); then the call raises :class:`~agent.errors.NotFound`
with the screenshot. ``wait_for`` raises :class:`~agent.errors.WaitTimeout`, ``assert_visible``
:class:`~agent.errors.AssertionFailed`; a spent budget, a stop or a failure of the desktop end
the script with the loop's own errors. Queries and visibility checks are never cached.

The grounder is a :class:`~agent.grounding.base.Grounder` (the OCR grounder, or
:class:`~agent.grounding.vlm.VLMGrounder`), or a model backend with its style. ``act`` runs the
free agent loop for a sub-goal and needs a model backend.
"""

from __future__ import annotations

import builtins
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel

from actions.executor import Executor
from actions.policy import Budget, Policy
from actions.schema import Action, Click, Drag, KeyPress, MouseMove, Scroll, TypeText
from agent import errors
from agent.decision import Decider, ModelDecider
from agent.desktops.base import DesktopConnection
from agent.errors import (
    AgentError,
    AssertionFailed,
    ConfigurationError,
    NotFound,
    ScriptError,
    WaitTimeout,
)
from agent.geometry import Point
from agent.grounding.base import Grounder
from agent.grounding.controls import ControlKind
from agent.grounding.vlm import VLMGrounder
from agent.loop import Agent
from agent.models.base import Backend
from agent.screen.capture import CaptureSource
from agent.scripts.forms import CheckboxStep, ShowsStep
from agent.scripts.location_cache import CacheMode, LocationCache
from agent.scripts.steps import CheckStep, NoteStep, QueryStep, Target, TargetStep
from agent.secrets import Secrets
from agent.step import RunResult, Session, Step
from agent.styles.base import Style
from agent.trajectory import RunStatus

__all__ = ["Desktop"]

Model = TypeVar("Model", bound=BaseModel)
Direction = Literal["up", "down", "left", "right"]
Button = Literal["left", "right", "middle"]
#: what ``fill`` does before it types: select the field's line and delete it
CLEAR_LINE: list[Action] = [
    KeyPress(keys=("end",)),
    KeyPress(keys=("shift", "home")),
    KeyPress(keys=("backspace",)),
]


class Desktop:
    """A desktop driven by descriptions. Use it as a context manager (or call :meth:`close`):
    the trajectory is closed with ``done``, or the status of the error that ended the script.

    ``grounder``: a Grounder, or a model backend with its ``style``. ``desktop``: an open
    :class:`~agent.desktops.base.DesktopConnection` (:func:`agent.desktops.connect.open_desktop`:
    ``local``, ``private[:WxH]``, ``vnc://HOST:PORT``) to drive, recorded in the trajectory's
    meta; the caller opens it and closes it after this Desktop is closed. Or
    ``screen``/``executor``: default the primary monitor and pyautogui. ``out``: trajectory
    directory (None: not recorded). ``cache``: a LocationCache or its path; ``cache_mode``
    applies to a path.
    ``poll_s``: pause between two looks of ``wait_for``. The safety options are the loop's.
    """

    def __init__(
        self,
        grounder: Grounder | Backend,
        style: Style | None = None,
        *,
        screen: CaptureSource | None = None,
        executor: Executor | None = None,
        desktop: DesktopConnection | None = None,
        out: Path | str | None = None,
        cache: LocationCache | Path | str | None = None,
        cache_mode: CacheMode = "read-write",
        name: str = "script",
        policy: Policy | None = None,
        budget: Budget | None = None,
        secrets: Secrets | dict[str, str] | None = None,
        max_retries: int = 1,
        clamp: bool = False,
        stop_file: Path | str | None = None,
        poll_s: float = 0.5,
        settings: dict[str, Any] | None = None,
    ) -> None:
        if hasattr(grounder, "locate"):
            self.grounder = cast(Grounder, grounder)
        elif style is None:
            raise ConfigurationError("a model backend needs its style to ground with")
        else:
            self.grounder = VLMGrounder(grounder, style)
        self.style = style
        if isinstance(cache, str | Path):
            cache = LocationCache(cache, cache_mode)
        self.cache = cache
        self.poll_s = poll_s
        self.clamp = clamp
        if desktop is not None:
            if screen is not None or executor is not None:
                raise ConfigurationError(
                    "give the script a desktop, or a screen and an executor, not both"
                )
            screen, executor = desktop.screen, desktop.executor
        self._owns_screen = screen is None
        if screen is None:
            from agent.screen.capture import Screen

            screen = Screen("primary")
        if executor is None:
            from actions.executor import PyAutoGUIExecutor

            executor = PyAutoGUIExecutor(settle_s=0.3)
        self.secrets = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
        described = self.grounder.backend if isinstance(self.grounder, VLMGrounder) else None
        self._agent = Agent(
            described or self.grounder,
            style,
            None if desktop is not None else executor,
            None if desktop is not None else screen,
            desktop=desktop,
            out=out,
            max_retries=max_retries,
            clamp=clamp,
            policy=policy,
            budget=budget,
            secrets=self.secrets,
            stop_file=stop_file,
            settings={
                "script": name,
                "cache": str(cache.path) if cache else None,
                "cache_mode": cache.mode if cache else "off",
                **(settings or {}),
            },
        )
        self.screen = screen
        self.out = Path(out) if out is not None else None
        self._session: Session = self._agent.open_session(name)
        self._uses: Counter[str] = Counter()
        self.history: list[Step] = []
        """every step taken, in order"""
        self._closed = False

    # -- locating calls ---------------------------------------------------------------------

    def locate(self, description: str, *, key: str | None = None) -> Point:
        """Where ``description`` is, as a screen point; nothing is clicked."""
        step = self._targets("locate", [(description, key)], lambda points: [])
        return step.found[0].point

    def click(
        self,
        description: str,
        *,
        key: str | None = None,
        button: Button = "left",
        count: Literal[1, 2, 3] = 1,
    ) -> Point:
        """Click ``description`` (``button``, ``count`` times: 2 a double click); the screen
        point clicked."""
        return self._point_action(
            "click", description, key, lambda p: Click(point=p, button=button, count=count)
        )

    def double_click(self, description: str, *, key: str | None = None) -> Point:
        return self._point_action(
            "double_click", description, key, lambda p: Click(point=p, count=2)
        )

    def right_click(self, description: str, *, key: str | None = None) -> Point:
        return self._point_action(
            "right_click", description, key, lambda p: Click(point=p, button="right")
        )

    def hover(self, description: str, *, key: str | None = None) -> Point:
        """Move the pointer over ``description``."""
        return self._point_action("hover", description, key, lambda p: MouseMove(point=p))

    def drag(
        self,
        from_description: str,
        to_description: str,
        *,
        keys: tuple[str, str] | None = None,
    ) -> tuple[Point, Point]:
        """Press on ``from_description``, release on ``to_description``."""
        step = self._targets(
            "drag",
            [
                (from_description, keys[0] if keys else None),
                (to_description, keys[1] if keys else None),
            ],
            lambda points: [Drag(start=points[0], end=points[1])],
        )
        return step.found[0].point, step.found[1].point

    def scroll(
        self,
        direction: Direction,
        amount: int = 3,
        at: str | None = None,
        *,
        key: str | None = None,
    ) -> None:
        """Turn the wheel ``amount`` clicks, over ``at`` (a description) or where the pointer is."""
        if at is None:
            self._plain("scroll", [Scroll(direction=direction, amount=amount)])
            return
        self._point_action(
            "scroll", at, key, lambda p: Scroll(point=p, direction=direction, amount=amount)
        )

    # -- keyboard ---------------------------------------------------------------------------

    def type(
        self,
        text: str,
        *,
        into: str | None = None,
        secret: bool = False,
        key: str | None = None,
    ) -> None:
        """Type ``text``, appended to what the field holds: into the input field labelled
        ``into`` after clicking it (the field beside the label, never the label), else where the
        focus is. ``secret``: the text is never written anywhere; steps record a placeholder.
        ``{NAME}`` of a known secret is filled in when typed."""
        if into is not None:
            self._field("type", into, key)
        if secret:
            text = self.secrets.add(text)
        self._plain("type", [TypeText(text=text)], description=self.secrets.redact(text))

    def fill(
        self,
        text: str,
        *,
        into: str | None = None,
        secret: bool = False,
        key: str | None = None,
    ) -> None:
        """Replace what the input field labelled ``into`` (else the focused one) holds with
        ``text``: click it, select its line (End, Shift+Home: the same in GTK, Qt, Tk and web
        pages), delete it, type."""
        if into is not None:
            self._field("fill", into, key)
        self._plain("fill", CLEAR_LINE, description=f"clear {into or 'the focused field'}")
        if text:
            self.type(text, secret=secret)

    def select(
        self, option: str, *, in_: str, key: str | None = None, timeout_s: float = 5.0
    ) -> bool:
        """Pick ``option`` in the combo box / drop-down labelled ``in_``: look first (a box
        already showing it is left alone), open it, wait until the option is drawn (opening it
        once more if the list never showed: a busy toolkit drops a click), click it, then look
        until the closed box shows it (AssertionFailed after ``timeout_s``). Whether it
        clicked."""
        if self._shows(option, in_)[0]:
            return False
        self._field("select", in_, key)
        try:
            self.wait_for(option, timeout_s)
        except WaitTimeout:
            self._field("select", in_, key)
            self.wait_for(option, timeout_s)
        self.click(option, key=f"{key or in_}: {option}")
        deadline = time.monotonic() + timeout_s
        while True:
            shown, seen = self._shows(option, in_)
            if shown:
                return True
            if time.monotonic() + self.poll_s > deadline:
                raise AssertionFailed(
                    f'"{in_}" does not show "{option}" after choosing it: {seen}',
                    self._last_screenshot(),
                )
            time.sleep(self.poll_s)

    def _shows(self, option: str, label: str) -> tuple[bool, str]:
        """One recorded look: does the closed box labelled ``label`` show ``option``? And
        what was seen there."""
        look = ShowsStep(self.grounder, "select", label, option)
        self._run(look, f"select {option} in {label}", failure=NotFound)
        return bool(look.shown), look.detail

    def check(self, label: str, *, key: str | None = None) -> bool:
        """Make the checkbox labelled ``label`` checked: look, click only if it is not, look
        again (AssertionFailed if it did not change). Whether it clicked. Never cached: a state
        is read off the screen every time (``key`` is taken for task files' sake)."""
        return self._set_checkbox("check", label, True)

    def uncheck(self, label: str, *, key: str | None = None) -> bool:
        """Make the checkbox labelled ``label`` unchecked (see :meth:`check`)."""
        return self._set_checkbox("uncheck", label, False)

    def press(self, *keys: str) -> None:
        """Press a key or a combination: ``press("enter")``, ``press("ctrl", "s")``."""
        if not keys:
            raise ConfigurationError("press() needs at least one key")
        self._plain("press", [KeyPress(keys=keys)], description="+".join(keys))

    # -- looking ----------------------------------------------------------------------------

    def is_visible(self, description: str, *, verb: str = "check") -> bool:
        """Whether ``description`` is visible now (never cached)."""
        decider = CheckStep(self.grounder, verb, description)
        self._run(decider, f"{verb} {description}", failure=NotFound)
        assert decider.sighting is not None
        return decider.sighting.visible

    def assert_visible(self, description: str) -> None:
        """Raise AssertionFailed unless ``description`` is visible."""
        if not self.is_visible(description, verb="assert"):
            raise AssertionFailed(f'"{description}" is not visible', self._last_screenshot())

    def wait_for(self, description: str, timeout_s: float = 10.0) -> None:
        """Look every ``poll_s`` until ``description`` is visible; WaitTimeout after
        ``timeout_s``. Each look is a recorded step."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.is_visible(description, verb="wait_for"):
                return
            if time.monotonic() + self.poll_s > deadline:
                raise WaitTimeout(
                    f'"{description}" did not appear within {timeout_s:g} s',
                    self._last_screenshot(),
                )
            time.sleep(self.poll_s)

    def query(self, question: str, schema: builtins.type[Model]) -> Model:
        """Read structured data off the screen into ``schema`` (a pydantic model). An answer
        that does not validate is shown its error and asked again once."""
        decider = QueryStep(self.grounder, question, schema)
        self._run(decider, f"query {question}", failure=NotFound, retries=1)
        assert decider.result is not None
        return decider.result

    def act(self, instruction: str, max_steps: int = 10) -> RunResult:
        """Let the model carry out ``instruction`` (the agent loop) in this trajectory. Raises
        unless the model ends it with success."""
        if not isinstance(self.grounder, VLMGrounder):
            raise ConfigurationError(
                f"act() needs a vision-language model; the {self.grounder.model} grounder "
                "only locates"
            )
        decider = ModelDecider(self.grounder.backend, self.grounder.style)
        history = self._run(decider, instruction, failure=ScriptError, max_steps=max_steps)
        last = history[-1]
        assert last.status is not None
        return RunResult(last.status, len(history), last.message, self.out, history)

    def perform(self, decider: Decider, instruction: str) -> Step:
        """One step of a decider of your own (its actions in the frame its decision names, e.g.
        points in an image shown to someone else) in this trajectory: converted with the one
        conversion, reviewed, recorded and executed like every call, raising like them (a
        refusal as :class:`~agent.errors.Refused`). The step, with what ``decider`` saw."""
        return self._run(decider, instruction, failure=ScriptError)[-1]

    def note(self, verb: str, description: str, outcome: str) -> None:
        """Record a verdict reached off the screen (a task's file check) as a step."""
        decider = NoteStep(self.grounder, verb, description, outcome)
        self._run(decider, f"{verb} {description}", failure=ScriptError)

    # -- the end ----------------------------------------------------------------------------

    def close(self, status: RunStatus = "done", message: str | None = None) -> None:
        """Close the trajectory with ``status``; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._session.close(status, message or status)
        finally:
            if self._owns_screen:
                close = getattr(self.screen, "close", None)
                if close is not None:
                    close()

    def __enter__(self) -> Desktop:
        return self

    def __exit__(
        self,
        kind: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close("done", f"{len(self.history)} steps")
        else:
            self.close(status_of(exc), self.secrets.redact(f"{type(exc).__name__}: {exc}"))

    @property
    def understands(self) -> bool:
        """Whether the grounder is a model that can answer queries and run ``act``."""
        return isinstance(self.grounder, VLMGrounder)

    # -- helpers ----------------------------------------------------------------------------

    def _field(self, verb: str, label: str, key: str | None) -> Point:
        """Click the input field labelled ``label`` (cached as ``field: KEY``)."""
        step = self._targets(
            verb,
            [(label, f"field: {key or label}")],
            lambda points: [Click(point=points[0])],
            control="field",
        )
        return step.found[0].point

    def _set_checkbox(self, verb: str, label: str, want: bool, timeout_s: float = 5.0) -> bool:
        step = CheckboxStep(self.grounder, verb, label, want, self.clamp)
        self._run(step, f"{verb} {label}", failure=NotFound)
        if not step.clicked:
            return False
        deadline = time.monotonic() + timeout_s
        while True:
            look = CheckboxStep(self.grounder, verb, label, None, self.clamp, step.control)
            self._run(look, f"{verb} {label}: look again", failure=NotFound)
            if look.state == want:
                return True
            if time.monotonic() + self.poll_s > deadline:
                state = "checked" if look.state else "unchecked"
                raise AssertionFailed(
                    f'the checkbox "{label}" is still {state} after a click',
                    self._last_screenshot(),
                )
            time.sleep(self.poll_s)

    def _point_action(self, verb: str, description: str, key: str | None, make: Any) -> Point:
        step = self._targets(verb, [(description, key)], lambda points: [make(points[0])])
        return step.found[0].point

    def _targets(
        self,
        verb: str,
        wanted: list[tuple[str, str | None]],
        build: Any,
        control: ControlKind | None = None,
    ) -> TargetStep:
        targets = []
        for description, key in wanted:
            key = key or description
            targets.append(Target(description, key, self._uses[key], control=control))
            self._uses[key] += 1
        decider = TargetStep(
            self.grounder, verb, targets, build, cache=self.cache, clamp=self.clamp
        )
        label = " -> ".join(d for d, _ in wanted)
        self._run(decider, f"{verb} {label}", failure=NotFound)
        decider.remember()
        return decider

    def _plain(self, verb: str, actions: list[Action], description: str | None = None) -> None:
        decider = TargetStep(self.grounder, verb, [], lambda points: list(actions))
        self._run(decider, f"{verb} {description or ''}".strip(), failure=ScriptError)

    def _run(
        self,
        decider: Decider,
        instruction: str,
        *,
        failure: builtins.type[NotFound] | builtins.type[ScriptError],
        retries: int | None = None,
        max_steps: int | None = None,
    ) -> list[Step]:
        if self._closed:
            raise ConfigurationError("this Desktop is closed")
        single = max_steps is None
        if single and retries is not None:
            max_steps = 1 + retries
        steps = self._agent.steps(
            instruction, decider=decider, session=self._session, max_steps=max_steps, single=single
        )
        history = list(steps)
        self.history.extend(history)
        last = history[-1]
        if last.status != "done":
            raise self._error(last, failure)
        return history

    def _last_screenshot(self) -> Path | None:
        for step in reversed(self.history):
            if step.record.screenshot and self.out is not None:
                return self.out / step.record.screenshot
        return None

    def _error(
        self, step: Step, failure: builtins.type[NotFound] | builtins.type[ScriptError]
    ) -> AgentError:
        """The exception for a call whose run ended ``step.status``: the loop's own class where
        the run ended on an error, else ``failure`` with the reason and the screenshot."""
        error = self.secrets.redact(step.record.error or step.message or str(step.status))
        name, _, detail = error.partition(": ")
        known = getattr(errors, name, None)
        if not (isinstance(known, type) and issubclass(known, AgentError)):
            known = None
        if step.status in ("failed", "max_steps"):
            if known in (errors.Refused, errors.LoopDetected):
                return known(detail)
            reason = detail if known is NotFound else error  # the class is in the name already
            return failure(f"{describe(step)}: {reason}", self._last_screenshot())
        if known is not None and not issubclass(known, NotFound | ScriptError):
            return known(detail)
        fallback = {"budget": errors.BudgetExceeded, "aborted": errors.Aborted}
        return fallback.get(step.status or "", errors.RunError)(error)


def describe(step: Step) -> str:
    """The call a step belongs to, for messages."""
    targets = step.record.targets
    if targets:
        return f'{targets[0].verb} "{targets[0].description}"'
    return "the step"


def status_of(exc: BaseException) -> RunStatus:
    """The trajectory status a script ended by ``exc`` gets."""
    if isinstance(exc, KeyboardInterrupt | errors.Aborted):
        return "aborted"
    if isinstance(exc, errors.BudgetExceeded):
        return "budget"
    if isinstance(exc, errors.ModelError | errors.ScriptError | errors.LoopDetected):
        return "failed"
    return "error"
