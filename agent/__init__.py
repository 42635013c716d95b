"""gui-agent: drive a desktop with Qwen2.5-VL.

Importing this package does not import torch or pyautogui; the backends and executors that need
them import them when they are first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lazy exports, typed for checkers and editors
    from agent.cache import (
        LocationCache,
    )
    from agent.decision import (
        Decider,
        Decision,
        ModelDecider,
        Situation,
    )
    from agent.desktop import (
        Desktop,
    )
    from agent.errors import (
        Aborted,
        AgentError,
        AssertionFailed,
        BackendError,
        BudgetExceeded,
        CaptureError,
        ConfigurationError,
        ExecutionError,
        FrameMismatch,
        LoopDetected,
        ModelError,
        NotFound,
        OutOfBounds,
        ParseError,
        RecordingError,
        Refused,
        RunError,
        ScriptError,
        Terminated,
        WaitTimeout,
    )
    from agent.export import ExportReport, export_runs
    from agent.geometry import (
        CoordinateSpace,
        ModelFrame,
        Monitor,
        Point,
        smart_resize,
        to_model,
        to_screen,
    )
    from agent.grounding import (
        Grounder,
        GroundingResult,
        Located,
        VLMGrounder,
        annotate,
        ground,
    )
    from agent.loop import (
        Agent,
    )
    from agent.matching import (
        same_screen,
    )
    from agent.models.local import (
        TransformersBackend,
    )
    from agent.models.ocr import (
        OCRGrounder,
    )
    from agent.models.openai_backend import (
        OpenAIBackend,
    )
    from agent.models.scripted import (
        ScriptedBackend,
    )
    from agent.replay import ReplayResult, replay
    from agent.screen import (
        ImageScreen,
        Screen,
        Screenshot,
        SettledScreen,
        detect_scale,
    )
    from agent.secrets import (
        Secrets,
    )
    from agent.step import (
        RunResult,
        Session,
        Step,
    )
    from agent.styles.grounding import (
        Qwen25VLGrounding,
    )
    from agent.styles.qwen2vl import (
        Qwen2VLGrounding,
    )
    from agent.styles.qwen3vl import (
        Qwen3VLComputerUse,
    )
    from agent.styles.qwen25vl import (
        Qwen25VLComputerUse,
    )
    from agent.styles.registry import (
        STYLE_NAMES,
        make_style,
    )
    from agent.styles.uitars import (
        UITarsStyle,
    )
    from agent.task_runner import (
        TaskResult,
        run_task,
    )
    from agent.tasks import (
        Task,
        load_task,
    )
    from agent.trajectory import (
        StepRecord,
        Trajectory,
        TrajectoryMeta,
        load_trajectory,
    )
    from agent.viewer import write_viewer

# Exports load on first use (PEP 562): ``import agent`` stays light, and ``actions`` (which
# needs agent.geometry and agent.errors) can import without a cycle through agent.loop.
_EXPORTS = {
    "Aborted": "agent.errors",
    "Agent": "agent.loop",
    "AgentError": "agent.errors",
    "AssertionFailed": "agent.errors",
    "BackendError": "agent.errors",
    "BudgetExceeded": "agent.errors",
    "CaptureError": "agent.errors",
    "ConfigurationError": "agent.errors",
    "CoordinateSpace": "agent.geometry",
    "Decider": "agent.decision",
    "Decision": "agent.decision",
    "Desktop": "agent.desktop",
    "ExecutionError": "agent.errors",
    "ExportReport": "agent.export",
    "FrameMismatch": "agent.errors",
    "Grounder": "agent.grounding",
    "GroundingResult": "agent.grounding",
    "ImageScreen": "agent.screen",
    "Located": "agent.grounding",
    "LocationCache": "agent.cache",
    "LoopDetected": "agent.errors",
    "ModelDecider": "agent.decision",
    "ModelError": "agent.errors",
    "ModelFrame": "agent.geometry",
    "Monitor": "agent.geometry",
    "NotFound": "agent.errors",
    "OCRGrounder": "agent.models.ocr",
    "OpenAIBackend": "agent.models.openai_backend",
    "OutOfBounds": "agent.errors",
    "ParseError": "agent.errors",
    "Point": "agent.geometry",
    "Qwen25VLComputerUse": "agent.styles.qwen25vl",
    "Qwen25VLGrounding": "agent.styles.grounding",
    "Qwen2VLGrounding": "agent.styles.qwen2vl",
    "Qwen3VLComputerUse": "agent.styles.qwen3vl",
    "RecordingError": "agent.errors",
    "Refused": "agent.errors",
    "ReplayResult": "agent.replay",
    "RunError": "agent.errors",
    "RunResult": "agent.step",
    "STYLE_NAMES": "agent.styles.registry",
    "Screen": "agent.screen",
    "Screenshot": "agent.screen",
    "ScriptError": "agent.errors",
    "ScriptedBackend": "agent.models.scripted",
    "Secrets": "agent.secrets",
    "Session": "agent.step",
    "SettledScreen": "agent.screen",
    "Situation": "agent.decision",
    "Step": "agent.step",
    "StepRecord": "agent.trajectory",
    "Task": "agent.tasks",
    "TaskResult": "agent.task_runner",
    "Terminated": "agent.errors",
    "Trajectory": "agent.trajectory",
    "TrajectoryMeta": "agent.trajectory",
    "TransformersBackend": "agent.models.local",
    "UITarsStyle": "agent.styles.uitars",
    "VLMGrounder": "agent.grounding",
    "WaitTimeout": "agent.errors",
    "annotate": "agent.grounding",
    "detect_scale": "agent.screen",
    "export_runs": "agent.export",
    "ground": "agent.grounding",
    "load_task": "agent.tasks",
    "load_trajectory": "agent.trajectory",
    "make_style": "agent.styles.registry",
    "replay": "agent.replay",
    "run_task": "agent.task_runner",
    "same_screen": "agent.matching",
    "smart_resize": "agent.geometry",
    "to_model": "agent.geometry",
    "to_screen": "agent.geometry",
    "write_viewer": "agent.viewer",
}

__all__ = [
    "Aborted",
    "Agent",
    "AgentError",
    "AssertionFailed",
    "BackendError",
    "BudgetExceeded",
    "CaptureError",
    "ConfigurationError",
    "CoordinateSpace",
    "Decider",
    "Decision",
    "Desktop",
    "ExecutionError",
    "ExportReport",
    "FrameMismatch",
    "Grounder",
    "GroundingResult",
    "ImageScreen",
    "Located",
    "LocationCache",
    "LoopDetected",
    "ModelDecider",
    "ModelError",
    "ModelFrame",
    "Monitor",
    "NotFound",
    "OCRGrounder",
    "OpenAIBackend",
    "OutOfBounds",
    "ParseError",
    "Point",
    "Qwen25VLComputerUse",
    "Qwen25VLGrounding",
    "Qwen2VLGrounding",
    "Qwen3VLComputerUse",
    "RecordingError",
    "Refused",
    "ReplayResult",
    "RunError",
    "RunResult",
    "STYLE_NAMES",
    "Screen",
    "Screenshot",
    "ScriptError",
    "ScriptedBackend",
    "Secrets",
    "Session",
    "SettledScreen",
    "Situation",
    "Step",
    "StepRecord",
    "Task",
    "TaskResult",
    "Terminated",
    "Trajectory",
    "TrajectoryMeta",
    "TransformersBackend",
    "UITarsStyle",
    "VLMGrounder",
    "WaitTimeout",
    "annotate",
    "detect_scale",
    "export_runs",
    "ground",
    "load_task",
    "load_trajectory",
    "make_style",
    "replay",
    "run_task",
    "same_screen",
    "smart_resize",
    "to_model",
    "to_screen",
    "write_viewer",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
