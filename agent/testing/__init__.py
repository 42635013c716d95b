"""The test kit, shipped for users' own tests (the product never imports it):

* :mod:`agent.testing.tiny_qwen`: tiny random Qwen2.5-VL / Qwen2-VL checkpoints in the official
  layout, built offline, with scripted answers through the real ``generate()``;
  :mod:`agent.testing.tiny_script`: one of them scripted per call;
* :mod:`agent.testing.openai_server`: a real OpenAI-compatible HTTP server around a checkpoint;
* :mod:`agent.testing.vllm_server`: a real ``vllm serve`` (its plugin in ``vllm_plugin/``);
* :mod:`agent.testing.tk_app`: a Tk app that reports its geometry and every input it sees.

Private displays are product code: :mod:`agent.screen.xvfb`.
"""
