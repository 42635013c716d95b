"""A recorded agent run in its own process, for tests that interrupt or kill it.

``python tests/gui/agent_child.py CONFIG.json`` on ``$DISPLAY``: real mss capture, the real
pyautogui executor, the trajectory recorder; the model is scripted (``answers``, cycled, each
after ``model_s`` seconds) since the model is not what these tests are about. Prints the final
status on stdout when the run returns.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actions.executor import PyAutoGUIExecutor  # noqa: E402
from agent.chat import Message  # noqa: E402
from agent.geometry import ModelFrame  # noqa: E402
from agent.loop import Agent  # noqa: E402
from agent.models.scripted import ScriptedBackend  # noqa: E402
from agent.screen.capture import Screen  # noqa: E402
from agent.styles.qwen25vl import Qwen25VLComputerUse  # noqa: E402


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    answers: list[str] = config["answers"]
    model_s: float = config.get("model_s", 0.0)
    calls = 0

    def answer(messages: Sequence[Message], frame: ModelFrame) -> str:
        nonlocal calls
        time.sleep(model_s)
        calls += 1
        return answers[(calls - 1) % len(answers)]

    backend = ScriptedBackend(answer, max_pixels=config.get("max_pixels", 1280 * 28 * 28))
    executor = PyAutoGUIExecutor(
        settle_s=config.get("settle_s", 0.0),
        drag_steps=config.get("drag_steps", 10),
        drag_step_s=config.get("drag_step_s", 0.005),
    )
    with Screen() as screen:
        agent = Agent(
            backend,
            Qwen25VLComputerUse(),
            executor,
            screen,
            out=config["out"],
            max_steps=config.get("max_steps", 10_000),
            loop_limit=config.get("loop_limit", 0),
        )
        print("started", flush=True)
        result = agent.run("test run")
    executor.close()
    print(result.status, flush=True)


if __name__ == "__main__":
    main()
