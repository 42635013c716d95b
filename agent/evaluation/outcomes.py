"""One line of ``results.jsonl``: what the harness asked, what came back, and its verdict.

Each line is self-contained (the sample's ground truth and categories travel with it), so the
metric can be recomputed from the file alone (``--rescore``) and the report drawn from it.
Coordinates are in the pixels of the sample's ORIGINAL image (``image_size``), the frame the
model saw is recorded beside them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.trajectory import FrameRecord

__all__ = ["STATUSES", "ResultRecord", "Status"]

Status = Literal["correct", "wrong", "parse_error", "empty", "infra_error"]
STATUSES: tuple[Status, ...] = ("correct", "wrong", "parse_error", "empty", "infra_error")


class ResultRecord(BaseModel):
    """The outcome of one sample. ``infra_error`` (the backend failed after its retries) is not
    an answer: it is reported apart and never scored (a resumed run asks again)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="the sample's id, unique within the evaluation")
    annotation: str = Field(description="the annotation file's name")
    index: int = Field(description="the sample's index in that file")
    image: str = Field(description="the image path, relative to the --images folder")
    image_size: tuple[int, int] = Field(description="width, height of the original image")
    instruction: str
    box: tuple[float, float, float, float] = Field(
        description="ground truth x1, y1, x2, y2 in image pixels (bounds inclusive)"
    )
    platform: str = Field(description="mobile, desktop, web; or ScreenSpot-Pro's platform")
    ui_type: str = Field(description="text or icon")
    group: str | None = Field(default=None, description="ScreenSpot-Pro's group (Dev, CAD, ...)")
    application: str | None = Field(default=None, description="ScreenSpot-Pro's application")
    source: str | None = Field(default=None, description="ScreenSpot's data_source")
    target: Literal["box", "polygon", "refusal"] = Field(
        default="box",
        description="box: a point in box; polygon: a point in polygon (box: its bounds); "
        "refusal: the right answer declines",
    )
    polygon: tuple[float, ...] | None = Field(
        default=None, description="flat x1, y1, x2, y2, ... in image pixels (polygon targets)"
    )
    benchmark: str | None = Field(
        default=None, description="osworld-g, ui-vision, mmbench-gui; None: ScreenSpot"
    )
    split: str | None = Field(default=None, description="the benchmark's split of the sample")
    categories: tuple[str, ...] | None = Field(
        default=None, description="OSWorld-G's classes (classification_result.json)"
    )
    prompt: str = Field(description="the prompt's name, e.g. grounding or screenspot-pro")
    raw: str = Field(default="", description="the model's answer as written (prefill included)")
    point: tuple[float, float] | None = Field(
        default=None, description="the predicted point in image pixels (a box answer: its centre)"
    )
    answer_box: tuple[float, float, float, float] | None = Field(
        default=None, description="the predicted box in image pixels, when the answer was a box"
    )
    frame: FrameRecord | None = Field(default=None, description="the frame the model saw")
    status: Status
    declined: bool = Field(
        default=False,
        description="the answer declined: no point, or one with both coordinates negative "
        "(right for a refusal target, wrong for any other)",
    )
    error: str | None = Field(default=None, description="why it is not correct, in one line")
    latency_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
