"""The rows of one run, in either export format (:mod:`agent.runs.export` describes both).

:func:`run_rows` turns a run's :class:`~agent.runs.training_samples.RunSamples` into rows, in step
order: one per carried-out model step (its recorded prompt, then its answer) and one per grounding
sample. Raises :class:`~agent.runs.training_samples.UnusableRun` with the reason a run cannot be
written (a text holding one of ms-swift's tags, an action its family cannot write).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from actions.schema import points_of
from agent.runs.answers import answer_calls, answer_text, fill_bbox, uses_tools, with_placeholders
from agent.runs.training_samples import (
    GroundingSample,
    RunSamples,
    Shot,
    StepSample,
    UnusableRun,
)
from agent.styles.base import Style
from agent.trajectory import FrameRecord

__all__ = ["SWIFT_TAGS", "ExportFormat", "Row", "run_rows"]

ExportFormat = Literal["swift", "messages"]
Row = dict[str, Any]
SWIFT_TAGS = ("<image>", "<video>", "<audio>", "<bbox>", "<ref-object>", "<cot-process>",
              "<start-image>")  # fmt: skip


def run_rows(samples: RunSamples, style: Style | None, fmt: ExportFormat) -> list[Row]:
    """The rows of one run in format ``fmt``, in step order."""
    run = str(samples.trajectory.directory.resolve())
    rows: list[Row] = []
    for sample in samples.samples:
        if isinstance(sample, GroundingSample):
            grounding = _swift_grounding if fmt == "swift" else _messages_grounding
            rows.append(grounding(sample, style))
            continue
        if style is None:
            raise UnusableRun("model steps recorded without a style")
        rows.append(_swift_step(sample, style) if fmt == "swift" else
                    _messages_step(sample, style, run))  # fmt: skip
    return rows


def _number(value: float) -> float:
    return round(float(value), 3)


def _checked(text: str, where: str) -> str:
    for tag in SWIFT_TAGS:
        if tag in text:
            raise UnusableRun(f"{where} holds {tag}, one of ms-swift's tags")
    return text


def _failed(sample: StepSample, style: Style, exc: ValueError) -> UnusableRun:
    return UnusableRun(f"step {sample.step.index}: {style.name} cannot write it: {exc}")


def _swift_step(sample: StepSample, style: Style) -> Row:
    index = sample.step.index
    messages: list[Row] = []
    images: list[str] = []
    own = 0
    for turn in sample.prompt:
        content = ""
        for part in turn.parts:
            if isinstance(part, Shot):
                own = len(images) if part.path == sample.shot.path else own
                images.append(str(part.path))
                content += "<image>"
            else:
                content += _checked(part, f"step {index}'s recorded {turn.role} prompt")
        messages.append({"role": turn.role, "content": content})
    stand_ins, keys = with_placeholders([c.parsed for c in sample.actions])
    try:
        text = answer_text(style, stand_ins, sample.step.raw_output)
    except ValueError as exc:
        raise _failed(sample, style, exc) from exc
    filled, order = fill_bbox(_checked(text, f"step {index}'s answer"))
    bbox = []
    for k in order:
        action, point = keys[k]
        executed = points_of(sample.actions[action].executed)[point]
        bbox.append([_number(v) for v in sample.step.capture_pixel(executed)])
    messages.append({"role": "assistant", "content": filled})
    row: Row = {"messages": messages, "images": images}
    if bbox:
        row["objects"] = {"ref": [], "bbox": bbox, "bbox_type": "real",
                          "image_id": [own] * len(bbox)}  # fmt: skip
    return row


def _image_part(shot: Shot) -> Row:
    return {"type": "image_url", "image_url": {"url": shot.path.as_uri()}}


def _frame(shot: Shot, frame: FrameRecord | None = None) -> Row:
    f = frame or shot.frame
    return {"image": shot.path.as_uri(), "step": shot.step.index, "width": f.width,
            "height": f.height, "source_width": f.source_width,
            "source_height": f.source_height}  # fmt: skip


def _messages_step(sample: StepSample, style: Style, run: str) -> Row:
    messages: list[Row] = []
    shots: list[Shot] = []
    for turn in sample.prompt:
        if not any(isinstance(p, Shot) for p in turn.parts):
            messages.append({"role": turn.role, "content": "".join(map(str, turn.parts))})
            continue
        content: list[Row] = []
        for part in turn.parts:
            if isinstance(part, Shot):
                shots.append(part)
                content.append(_image_part(part))
            else:
                content.append({"type": "text", "text": part})
        messages.append({"role": turn.role, "content": content})
    try:
        messages.append(_messages_answer(sample, style))
    except ValueError as exc:
        raise _failed(sample, style, exc) from exc
    return {
        "messages": messages,
        "metadata": {
            "kind": "agent",
            "run": run,
            "step": sample.step.index,
            "style": style.name,
            "space": style.space.value,
            "frames": [_frame(s) for s in shots],
        },
    }


def _messages_answer(sample: StepSample, style: Style) -> Row:
    """The final assistant turn: tool calls (the model's own arguments) or the family's text."""
    parsed = [c.parsed for c in sample.actions]
    if not uses_tools(style):
        return {"role": "assistant", "content": answer_text(style, parsed, sample.step.raw_output)}
    tool_calls = [
        {
            "id": f"call_{sample.step.index}_{n}",
            "type": "function",
            "function": {
                "name": call["name"],
                "arguments": json.dumps(call["arguments"], ensure_ascii=False),
            },
        }
        for n, call in enumerate(answer_calls(style, parsed))
    ]
    return {"role": "assistant", "content": "", "tool_calls": tool_calls}


def _swift_grounding(sample: GroundingSample, style: Style | None) -> Row:
    if any(tag in sample.description for tag in SWIFT_TAGS):
        raise UnusableRun(f"step {sample.shot.step.index}'s target holds one of ms-swift's tags")
    return {
        "messages": [
            {"role": "user", "content": "<image>" + sample.description},
            {"role": "assistant", "content": "<bbox>"},
        ],
        "images": [str(sample.shot.path)],
        "objects": {
            "ref": [],
            "bbox": [[_number(v) for v in sample.pixel]],
            "bbox_type": "real",
            "image_id": [0],
        },
    }


def _messages_grounding(sample: GroundingSample, style: Style | None) -> Row:
    shot = sample.shot
    if sample.model_point is not None and sample.frame is not None:
        xy, space, frame = sample.model_point.xy(), sample.model_point.space.value, sample.frame
    else:  # no model answered: the capture's own pixels, in a frame the size of the capture
        f = shot.frame
        xy, space = sample.pixel, "resized_px"
        frame = f.model_copy(update={"width": f.source_width, "height": f.source_height})
    answer = [{"point_2d": [_number(v) for v in xy], "label": sample.description}]
    user = [_image_part(shot), {"type": "text", "text": sample.description}]
    return {
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": json.dumps(answer, ensure_ascii=False)},
        ],
        "metadata": {
            "kind": "grounding",
            "run": str(shot.path.parent),
            "style": style.name if style is not None else "none",
            "space": space,
            "frames": [_frame(shot, frame)],
        },
    }
