"""gui-agent: drive a desktop with Qwen2.5-VL.

Importing this package does not import torch or pyautogui; the backends and executors that need
them import them when they are first used.
"""

from __future__ import annotations

import importlib
from typing import Any

# Exports load on first use (PEP 562): ``import agent`` stays light, and ``actions`` (which
# needs agent.geometry and agent.errors) can import without a cycle through agent.loop.
_EXPORTS = {
    "Aborted": "agent.errors",
    "Agent": "agent.loop",
    "AgentError": "agent.errors",
    "BackendError": "agent.errors",
    "ConfigurationError": "agent.errors",
    "CoordinateSpace": "agent.geometry",
    "ExecutionError": "agent.errors",
    "FrameMismatch": "agent.errors",
    "GroundingResult": "agent.grounding",
    "ImageScreen": "agent.screen",
    "ModelError": "agent.errors",
    "ModelFrame": "agent.geometry",
    "Monitor": "agent.geometry",
    "OpenAIBackend": "agent.models.openai_backend",
    "OutOfBounds": "agent.errors",
    "ParseError": "agent.errors",
    "Point": "agent.geometry",
    "Qwen25VLComputerUse": "agent.styles.qwen25vl",
    "Qwen25VLGrounding": "agent.styles.grounding",
    "Qwen2VLGrounding": "agent.styles.qwen2vl",
    "Qwen3VLComputerUse": "agent.styles.qwen3vl",
    "RunError": "agent.errors",
    "RunResult": "agent.loop",
    "STYLE_NAMES": "agent.styles.registry",
    "Screen": "agent.screen",
    "Screenshot": "agent.screen",
    "ScriptedBackend": "agent.models.scripted",
    "Step": "agent.loop",
    "StepRecord": "agent.trajectory",
    "Trajectory": "agent.trajectory",
    "TrajectoryMeta": "agent.trajectory",
    "TransformersBackend": "agent.models.local",
    "UITarsStyle": "agent.styles.uitars",
    "annotate": "agent.grounding",
    "detect_scale": "agent.screen",
    "ground": "agent.grounding",
    "load_trajectory": "agent.trajectory",
    "make_style": "agent.styles.registry",
    "smart_resize": "agent.geometry",
    "to_model": "agent.geometry",
    "to_screen": "agent.geometry",
}

__all__ = [
    "Aborted",
    "Agent",
    "AgentError",
    "BackendError",
    "ConfigurationError",
    "CoordinateSpace",
    "ExecutionError",
    "FrameMismatch",
    "GroundingResult",
    "ImageScreen",
    "ModelError",
    "ModelFrame",
    "Monitor",
    "OpenAIBackend",
    "OutOfBounds",
    "ParseError",
    "Point",
    "Qwen25VLComputerUse",
    "Qwen25VLGrounding",
    "Qwen2VLGrounding",
    "Qwen3VLComputerUse",
    "RunError",
    "RunResult",
    "STYLE_NAMES",
    "Screen",
    "Screenshot",
    "ScriptedBackend",
    "Step",
    "StepRecord",
    "Trajectory",
    "TrajectoryMeta",
    "TransformersBackend",
    "UITarsStyle",
    "annotate",
    "detect_scale",
    "ground",
    "load_trajectory",
    "make_style",
    "smart_resize",
    "to_model",
    "to_screen",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
