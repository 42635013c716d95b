"""Everything that acts on the desktop: the Action union (screen coordinates) and executors.

pyautogui is imported only when a :class:`PyAutoGUIExecutor` first acts.
"""

from actions.executor import (
    ActionResult,
    DryRunExecutor,
    Executor,
    PyAutoGUIExecutor,
    check_action,
)
from actions.schema import (
    ACTION_ADAPTER,
    Action,
    Click,
    Drag,
    KeyPress,
    MouseMove,
    Scroll,
    Terminate,
    TypeText,
    Wait,
    map_points,
    points_of,
)

__all__ = [
    "ACTION_ADAPTER",
    "Action",
    "ActionResult",
    "Click",
    "Drag",
    "DryRunExecutor",
    "Executor",
    "KeyPress",
    "MouseMove",
    "PyAutoGUIExecutor",
    "Scroll",
    "Terminate",
    "TypeText",
    "Wait",
    "check_action",
    "map_points",
    "points_of",
]
