"""The public face of ``agent``, written once: ``agent/__init__.py`` reads these imports to load
each name on first use, type checkers and editors read them as they are. Add a name here."""

from agent.decision import (
    Decider as Decider,
)
from agent.decision import (
    Decision as Decision,
)
from agent.decision import (
    ModelDecider as ModelDecider,
)
from agent.decision import (
    Situation as Situation,
)
from agent.desktops.base import DesktopConnection as DesktopConnection
from agent.desktops.base import DesktopSpec as DesktopSpec
from agent.desktops.connect import open_desktop as open_desktop
from agent.errors import (
    Aborted as Aborted,
)
from agent.errors import (
    AgentError as AgentError,
)
from agent.errors import (
    AssertionFailed as AssertionFailed,
)
from agent.errors import (
    BackendError as BackendError,
)
from agent.errors import (
    BudgetExceeded as BudgetExceeded,
)
from agent.errors import (
    CaptureError as CaptureError,
)
from agent.errors import (
    ConfigurationError as ConfigurationError,
)
from agent.errors import (
    ExecutionError as ExecutionError,
)
from agent.errors import (
    FrameMismatch as FrameMismatch,
)
from agent.errors import (
    LoopDetected as LoopDetected,
)
from agent.errors import (
    ModelError as ModelError,
)
from agent.errors import (
    NotFound as NotFound,
)
from agent.errors import (
    OutOfBounds as OutOfBounds,
)
from agent.errors import (
    ParseError as ParseError,
)
from agent.errors import (
    RecordingError as RecordingError,
)
from agent.errors import (
    Refused as Refused,
)
from agent.errors import (
    RunError as RunError,
)
from agent.errors import (
    ScriptError as ScriptError,
)
from agent.errors import (
    Terminated as Terminated,
)
from agent.errors import (
    WaitTimeout as WaitTimeout,
)
from agent.geometry import (
    CoordinateSpace as CoordinateSpace,
)
from agent.geometry import (
    ModelFrame as ModelFrame,
)
from agent.geometry import (
    Monitor as Monitor,
)
from agent.geometry import (
    Point as Point,
)
from agent.geometry import (
    smart_resize as smart_resize,
)
from agent.geometry import (
    to_model as to_model,
)
from agent.geometry import (
    to_screen as to_screen,
)
from agent.grounding.base import Grounder as Grounder
from agent.grounding.base import Located as Located
from agent.grounding.ocr import OCRGrounder as OCRGrounder
from agent.grounding.result import (
    GroundingResult as GroundingResult,
)
from agent.grounding.result import (
    annotate as annotate,
)
from agent.grounding.result import (
    ground as ground,
)
from agent.grounding.vlm import VLMGrounder as VLMGrounder
from agent.loop import Agent as Agent
from agent.models.openai_backend import OpenAIBackend as OpenAIBackend
from agent.models.scripted import ScriptedBackend as ScriptedBackend
from agent.models.transformers_backend import TransformersBackend as TransformersBackend
from agent.runs.export import ExportReport as ExportReport
from agent.runs.export import export_runs as export_runs
from agent.runs.recorder import PersonRecorder as PersonRecorder
from agent.runs.recorder import PersonRecording as PersonRecording
from agent.runs.replay import ReplayResult as ReplayResult
from agent.runs.replay import replay as replay
from agent.runs.viewer import write_viewer as write_viewer
from agent.screen.capture import (
    ImageScreen as ImageScreen,
)
from agent.screen.capture import (
    Screen as Screen,
)
from agent.screen.capture import (
    Screenshot as Screenshot,
)
from agent.screen.capture import (
    SettledScreen as SettledScreen,
)
from agent.screen.capture import (
    detect_scale as detect_scale,
)
from agent.screen.matching import same_screen as same_screen
from agent.scripts.desktop import Desktop as Desktop
from agent.scripts.location_cache import LocationCache as LocationCache
from agent.scripts.task_file import Task as Task
from agent.scripts.task_file import load_task as load_task
from agent.scripts.task_runner import TaskResult as TaskResult
from agent.scripts.task_runner import run_task as run_task
from agent.secrets import Secrets as Secrets
from agent.step import RunResult as RunResult
from agent.step import Session as Session
from agent.step import Step as Step
from agent.styles.qwen2vl import Qwen2VLGrounding as Qwen2VLGrounding
from agent.styles.qwen3vl import Qwen3VLComputerUse as Qwen3VLComputerUse
from agent.styles.qwen25vl import Qwen25VLComputerUse as Qwen25VLComputerUse
from agent.styles.qwen25vl_grounding import Qwen25VLGrounding as Qwen25VLGrounding
from agent.styles.registry import STYLE_NAMES as STYLE_NAMES
from agent.styles.registry import make_style as make_style
from agent.styles.uitars import UITarsStyle as UITarsStyle
from agent.trajectory import (
    StepRecord as StepRecord,
)
from agent.trajectory import (
    Trajectory as Trajectory,
)
from agent.trajectory import (
    TrajectoryMeta as TrajectoryMeta,
)
from agent.trajectory import (
    load_trajectory as load_trajectory,
)
