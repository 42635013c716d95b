"""Model families: each style is a prompt, a parser and the coordinate space of its answers.

* :mod:`agent.styles.base`: the :class:`~agent.styles.base.Style` protocol and the helpers every
  style uses; :mod:`agent.styles.jsontext`: JSON read out of model text, never evaluated;
* :mod:`agent.styles.qwen25vl`: Qwen2.5-VL computer use (resized pixels);
  :mod:`agent.styles.qwen25vl_grounding`: Qwen2.5-VL grounding (``bbox_2d`` / ``point_2d``);
* :mod:`agent.styles.qwen2vl`: Qwen2-VL (0-1000); :mod:`agent.styles.qwen3vl`: Qwen3-VL
  (0-1000); :mod:`agent.styles.uitars`: UI-TARS and UI-TARS-1.5;
* one-element grounding of current families: :mod:`agent.styles.opencua` (pyautogui code, read
  with :mod:`ast`, never run), :mod:`agent.styles.ui_venus`, :mod:`agent.styles.holo`,
  :mod:`agent.styles.gta1` (resized pixels) and :mod:`agent.styles.gui_owl` (0-1000);
* :mod:`agent.styles.registry`: the style names the command line and the UI accept.
"""
