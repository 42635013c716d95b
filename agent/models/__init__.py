"""Backends: messages in, text out, in a frame the backend owns.

* :mod:`agent.models.base`: the :class:`~agent.models.base.Backend` protocol, its
  :class:`~agent.models.base.Completion`, and :class:`~agent.models.base.PixelBudget`, the frame
  rule every backend shares;
* :mod:`agent.models.transformers_backend`: a local checkpoint through transformers;
* :mod:`agent.models.openai_backend`: any OpenAI-compatible server (vLLM, SGLang, a cloud API),
  over :mod:`agent.models.http_client`;
* :mod:`agent.models.scripted`: the shipped double that answers from a script;
* :mod:`agent.models.factory`: a backend from command-line options;
* :mod:`agent.models.resize`, :mod:`agent.models.inputs`, :mod:`agent.models.identity_cache`:
  the resize to the model's frame and the processor's inputs, redone only where a capture
  changed; :mod:`agent.models.torch_compat`: torchvision's CPU workaround.
"""
