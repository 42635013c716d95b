"""Grounding: where one element is on one capture.

* :mod:`agent.grounding.base`: the :class:`~agent.grounding.base.Grounder` protocol and what it
  answers (:class:`~agent.grounding.base.Located`, in the grounder's own frame);
* :mod:`agent.grounding.vlm`: :class:`~agent.grounding.vlm.VLMGrounder`, a vision-language
  model with its style's grounding prompt;
* :mod:`agent.grounding.ocr`: :class:`~agent.grounding.ocr.OCRGrounder`, text lines read by
  RapidOCR on the CPU (no model);
* :mod:`agent.grounding.result`: :func:`~agent.grounding.result.ground`, one element in one
  picture in image pixels, and :func:`~agent.grounding.result.annotate` to draw it.
"""
