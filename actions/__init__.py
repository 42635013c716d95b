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
from actions.policy import (
    DENIED_COMBOS,
    Bounds,
    Budget,
    LoopGuard,
    Policy,
    Region,
    terminal_confirmer,
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
    "Bounds",
    "Budget",
    "Click",
    "DENIED_COMBOS",
    "Drag",
    "DryRunExecutor",
    "Executor",
    "KeyPress",
    "LoopGuard",
    "MouseMove",
    "Policy",
    "PyAutoGUIExecutor",
    "Region",
    "Scroll",
    "Terminate",
    "TypeText",
    "Wait",
    "check_action",
    "map_points",
    "points_of",
    "terminal_confirmer",
]
