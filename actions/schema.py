"""The one Action union: everything an agent can do to a desktop.

Points carry their :class:`~agent.geometry.CoordinateSpace`. A style's parser produces actions in
the model's space; :func:`map_points` with :func:`agent.geometry.to_screen` turns them into
screen-space actions, the only kind an executor accepts. Actions serialise through
:data:`ACTION_ADAPTER` (discriminated by the ``action`` field) into trajectories and back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agent.geometry import Point

__all__ = [
    "ACTION_ADAPTER",
    "Action",
    "Click",
    "Drag",
    "KeyPress",
    "MouseMove",
    "Scroll",
    "Terminate",
    "TypeText",
    "Wait",
    "map_points",
    "points_of",
]


class _ActionBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeyPress(_ActionBase):
    """Press keys down in order, release them in reverse order (a combo such as ctrl+c)."""

    action: Literal["key"] = "key"
    keys: tuple[str, ...] = Field(
        min_length=1, description="key names, e.g. ('ctrl', 'c'); pressed in order"
    )


class TypeText(_ActionBase):
    """Type text into the focused widget (any Unicode)."""

    action: Literal["type"] = "type"
    text: str = Field(description="the text to type, exactly")


class MouseMove(_ActionBase):
    """Move the pointer without clicking."""

    action: Literal["mouse_move"] = "mouse_move"
    point: Point = Field(description="where to move the pointer")


class Click(_ActionBase):
    """Click a mouse button once, twice or three times at a point."""

    action: Literal["click"] = "click"
    point: Point | None = Field(default=None, description="where to click; None: where it is")
    button: Literal["left", "right", "middle"] = Field(default="left", description="which button")
    count: Literal[1, 2, 3] = Field(default=1, description="1 click, 2 double, 3 triple")


class Drag(_ActionBase):
    """Press the left button, move to ``end``, release."""

    action: Literal["drag"] = "drag"
    start: Point | None = Field(default=None, description="where to press; None: where it is")
    end: Point = Field(description="where to release")


class Scroll(_ActionBase):
    """Turn the mouse wheel."""

    action: Literal["scroll"] = "scroll"
    point: Point | None = Field(default=None, description="where to scroll; None: where it is")
    direction: Literal["up", "down", "left", "right"] = Field(description="scroll direction")
    amount: int = Field(ge=0, description="wheel clicks (pyautogui scroll units)")


class Wait(_ActionBase):
    """Do nothing for a while, then look again."""

    action: Literal["wait"] = "wait"
    seconds: float = Field(ge=0, le=600, description="seconds to wait")


class Terminate(_ActionBase):
    """End the task and say whether it succeeded."""

    action: Literal["terminate"] = "terminate"
    status: Literal["success", "failure"] = Field(description="how the task ended")
    message: str | None = Field(default=None, description="final answer or reason, if any")


Action = Annotated[
    KeyPress | TypeText | MouseMove | Click | Drag | Scroll | Wait | Terminate,
    Field(discriminator="action"),
]
ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)

_POINT_FIELDS = ("point", "start", "end")


def points_of(action: Action) -> list[Point]:
    """Every point an action carries, in field order."""
    found = [getattr(action, name, None) for name in _POINT_FIELDS]
    return [p for p in found if isinstance(p, Point)]


def map_points(action: Action, convert: Callable[[Point], Point]) -> Action:
    """A copy of ``action`` with every point passed through ``convert``."""
    changes = {
        name: convert(value)
        for name in _POINT_FIELDS
        if isinstance(value := getattr(action, name, None), Point)
    }
    return action.model_copy(update=changes) if changes else action
