"""Styles by name, for the CLI and configuration files.

=====================  ==============================================  =================
name                   model family                                    coordinates
=====================  ==============================================  =================
``qwen25vl``           Qwen2.5-VL ``computer_use`` tool calls          resized pixels
``qwen25vl-grounding`` Qwen2.5-VL ``bbox_2d``/``point_2d`` JSON        resized pixels
``qwen2vl``            Qwen2-VL ``<|box_start|>`` boxes (OS-Atlas)     0-1000
``uitars``             UI-TARS v1 (Qwen2-VL base)                      0-1000
``uitars15``           UI-TARS-1.5 (Qwen2.5-VL base)                   resized pixels
``qwen3vl``            Qwen3-VL ``computer_use`` tool calls            0-1000
``opencua``            OpenCUA-7B/32B ``pyautogui.click(x=, y=)``      resized pixels
``ui-venus``           UI-Venus-Ground 7B ``[x1,y1,x2,y2]`` boxes      resized pixels
``gui-owl``            GUI-Owl 1.5 (Qwen3-VL ``computer_use``)         0-1000
``holo``               Holo1.5 ``click_absolute`` JSON                 resized pixels
``gta1``               GTA1 ``(x,y)`` points                           resized pixels
=====================  ==============================================  =================

Interface strings and their sources are documented in each style's module.
"""

from __future__ import annotations

from agent.errors import ConfigurationError
from agent.styles.base import OneElementGrounding, Style
from agent.styles.gta1 import GTA1Grounding
from agent.styles.gui_owl import GUIOwlGrounding
from agent.styles.holo import HoloGrounding
from agent.styles.opencua import OpenCUAGrounding
from agent.styles.qwen2vl import Qwen2VLGrounding
from agent.styles.qwen3vl import Qwen3VLComputerUse
from agent.styles.qwen25vl import Qwen25VLComputerUse
from agent.styles.qwen25vl_grounding import Qwen25VLGrounding
from agent.styles.ui_venus import UIVenusGrounding
from agent.styles.uitars import UITarsStyle

__all__ = ["STYLE_NAMES", "make_style"]

STYLE_NAMES = (
    "qwen25vl", "qwen25vl-grounding", "qwen2vl", "uitars", "uitars15", "qwen3vl",
    "opencua", "ui-venus", "gui-owl", "holo", "gta1",
)  # fmt: skip
_FAMILY_GROUNDING: dict[str, type[OneElementGrounding]] = {
    "opencua": OpenCUAGrounding,
    "ui-venus": UIVenusGrounding,
    "gui-owl": GUIOwlGrounding,
    "holo": HoloGrounding,
    "gta1": GTA1Grounding,
}
_GROUNDING_ONLY = ("qwen25vl-grounding", "qwen2vl", *_FAMILY_GROUNDING)


def make_style(name: str, *, history_images: int | None = None) -> Style:
    """The style called ``name``. ``history_images``: past screenshots shown again (None: the
    style's default; grounding styles show none). Raises ConfigurationError."""
    if name not in STYLE_NAMES:
        raise ConfigurationError(f"unknown style {name!r}; choose one of: {', '.join(STYLE_NAMES)}")
    if history_images is not None and history_images < 0:
        raise ConfigurationError(f"history_images must be >= 0, got {history_images}")
    if name in _GROUNDING_ONLY:
        if history_images:
            raise ConfigurationError(f"{name} is a grounding style and shows no history")
        if name in _FAMILY_GROUNDING:
            return _FAMILY_GROUNDING[name]()
        return Qwen25VLGrounding() if name == "qwen25vl-grounding" else Qwen2VLGrounding()
    if name in ("uitars", "uitars15"):
        style = UITarsStyle("uitars" if name == "uitars" else "uitars15")
        if history_images is not None:
            style.history_images = history_images
        return style
    images = 0 if history_images is None else history_images
    return Qwen3VLComputerUse(images) if name == "qwen3vl" else Qwen25VLComputerUse(images)
