"""OpenAIBackend against a real OpenAI-compatible HTTP server running the tiny Qwen2.5-VL.

Everything goes over real sockets: the official openai client, the stdlib HTTP server, the
checkpoint's processor and generate(). Faults are injected by the server, never mocked.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from agent.chat import Message
from agent.errors import BackendError, ConfigurationError, FrameMismatch
from agent.geometry import ModelFrame
from agent.models.openai_backend import OpenAIBackend, encode_image
from agent.testing.openai_server import OpenAICompatibleServer
from agent.testing.tiny_qwen import build_tiny_qwen25vl

pytestmark = pytest.mark.model

ANSWER = (
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    '"coordinate": [658, 364]}}\n</tool_call>'
)
KEY = "sk-test-0123456789abcdef"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny") / "ckpt", answer=ANSWER)


@pytest.fixture(scope="module")
def server(checkpoint: Path) -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(checkpoint, api_key=KEY, served_model_name="tiny-qwen") as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: OpenAICompatibleServer) -> None:
    server.reset()


def make_backend(server: OpenAICompatibleServer, **options: object) -> OpenAIBackend:
    settings: dict[str, object] = {"api_key": KEY, "backoff_s": 0.01, **options}
    return OpenAIBackend(server.base_url, server.model_name, **settings)  # type: ignore[arg-type]


def chat(image: Image.Image) -> list[Message]:
    return [
        Message("system", ("You are a helpful assistant.",)),
        Message("user", ("Click the OK button.", image)),
    ]


def ask(backend: OpenAIBackend, size: tuple[int, int] = (640, 480)) -> str:
    frame = backend.frame_for(*size)
    return backend.complete(chat(Image.new("RGB", size, (30, 60, 90))), frame).text


def posts(server: OpenAICompatibleServer) -> list[int]:
    return [r.status for r in server.requests if r.method == "POST"]


@pytest.mark.parametrize(
    "size,max_pixels,expected",
    [
        ((1920, 1080), 16384 * 28 * 28, (1932, 1092)),
        ((1920, 1080), 1280 * 28 * 28, (1316, 728)),
        ((2560, 1440), 16384 * 28 * 28, (2548, 1428)),
        ((4000, 200), 256 * 28 * 28, (1988, 84)),
    ],
)
def test_answer_through_http_without_a_second_resize(
    server: OpenAICompatibleServer,
    size: tuple[int, int],
    max_pixels: int,
    expected: tuple[int, int],
) -> None:
    backend = make_backend(server, max_pixels=max_pixels)
    frame = backend.frame_for(*size)
    assert frame == ModelFrame.for_image(*size, max_pixels=max_pixels)
    assert (frame.width, frame.height) == expected
    completion = backend.complete(chat(Image.new("RGB", size, (200, 10, 10))), frame)
    assert completion.text == ANSWER
    assert completion.frame == frame
    (record,) = server.requests
    assert record.image_sizes == [expected]  # the client sent exactly its frame ...
    assert record.model_frames == [expected]  # ... and the model saw exactly that frame
    assert completion.prompt_tokens == record.prompt_tokens
    assert completion.prompt_tokens is not None and completion.prompt_tokens > frame.visual_tokens
    assert completion.completion_tokens is not None and completion.completion_tokens > 0
    assert 0 < completion.latency_s < 30


def test_a_raw_image_is_resized_by_the_server_not_as_the_client_assumes(
    server: OpenAICompatibleServer,
) -> None:
    """The double-resize bug: a client that sends the raw capture and asks for max_pixels per
    request (vLLM ignores it: QwenLM/Qwen3-VL#946) believes the model saw one frame; the server
    resized with its own bounds and the model saw another. Resizing on the client fixes it."""
    import openai

    naive = ModelFrame.for_image(1366, 768, max_pixels=1280 * 28 * 28)
    client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
    image = Image.new("RGB", (1366, 768), (0, 128, 0))
    with client:
        answer = client.chat.completions.create(
            model=server.model_name,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": encode_image(image)}},
                        {"type": "text", "text": "Click OK"},
                    ],
                }
            ],
            max_tokens=64,
            extra_body={"mm_processor_kwargs": {"max_pixels": 1280 * 28 * 28}},
        )
    assert answer.choices[0].message.content == ANSWER
    (record,) = server.requests
    assert record.image_sizes == [(1366, 768)]
    assert record.model_frames == [(1372, 756)]  # the server's bounds, not the client's
    assert record.model_frames != [(naive.width, naive.height)]  # the naive client: 1316x728
    server.reset()
    backend = make_backend(server, max_pixels=1280 * 28 * 28)
    assert ask(backend, (1366, 768)) == ANSWER
    assert server.requests[0].image_sizes == server.requests[0].model_frames == [(1316, 728)]


def test_a_server_with_smaller_bounds_is_a_frame_mismatch(checkpoint: Path, tmp_path: Path) -> None:
    """The server cannot report its grid, but its prompt-token count gives the shrink away."""
    small = Path(shutil.copytree(checkpoint, tmp_path / "small"))
    config_path = small / "preprocessor_config.json"
    config = json.loads(config_path.read_text())
    config["max_pixels"] = 1280 * 28 * 28
    config_path.write_text(json.dumps(config))
    with OpenAICompatibleServer(small, api_key=KEY) as other:
        backend = make_backend(other)
        with pytest.raises(FrameMismatch, match="resized them again"):
            ask(backend, (1920, 1080))
        assert other.requests[0].image_sizes == [(1932, 1092)]
        assert other.requests[0].model_frames == [(1316, 728)]
        unchecked = make_backend(other, check_prompt_tokens=False)
        assert ask(unchecked, (1920, 1080)) == ANSWER  # silently wrong clicks: why it is on


def test_a_frame_not_made_by_the_backend_is_refused(server: OpenAICompatibleServer) -> None:
    backend = make_backend(server)
    other = ModelFrame.for_image(640, 480, max_pixels=100_000)
    with pytest.raises(FrameMismatch, match="frame_for"):
        backend.complete(chat(Image.new("RGB", (640, 480))), other)
    assert server.requests == []


def test_5xx_is_retried_until_success(server: OpenAICompatibleServer) -> None:
    server.inject(status=500, times=2)
    backend = make_backend(server, max_retries=3)
    slept: list[float] = []
    backend.sleep = slept.append
    assert ask(backend) == ANSWER
    assert posts(server) == [500, 500, 200]
    assert len(slept) == 2 and 0.01 <= slept[0] <= 0.0111 and 0.02 <= slept[1] <= 0.0211


def test_429_retry_after_is_honoured(server: OpenAICompatibleServer) -> None:
    server.inject(status=429, retry_after=0.25)
    backend = make_backend(server)
    slept: list[float] = []
    backend.sleep = slept.append
    assert ask(backend) == ANSWER
    assert posts(server) == [429, 200]
    assert slept == [0.25]


def test_persistent_503_ends_after_max_retries(server: OpenAICompatibleServer) -> None:
    server.inject(status=503, times=10)
    with pytest.raises(BackendError, match=r"failed 3 attempts.*HTTP 503: injected fault"):
        ask(make_backend(server, max_retries=2))
    assert posts(server) == [503, 503, 503]


def test_a_timeout_is_retried_then_reported(server: OpenAICompatibleServer) -> None:
    server.inject(delay_s=1.5, times=2)
    backend = make_backend(server, timeout_s=0.3, max_retries=1)
    with pytest.raises(BackendError, match=r"failed 2 attempts.*timed out after 0\.3 s"):
        ask(backend)
    assert len(posts(server)) == 2


@pytest.mark.parametrize(
    "body,message",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"choices": []}', "without choices"),
        ('{"error": {"message": "overloaded"}}', "without choices.*overloaded"),
        ('{"choices": [{"message": {"content": null}, "finish_reason": "length"}]}', "text"),
    ],
)
def test_a_malformed_body_is_a_backend_error(
    server: OpenAICompatibleServer, body: str, message: str
) -> None:
    server.inject(body=body)
    with pytest.raises(BackendError, match=message):
        ask(make_backend(server))
    assert posts(server) == [200]  # not retried: a body of the wrong shape stays wrong


def test_404_is_a_configuration_error(server: OpenAICompatibleServer) -> None:
    server.inject(status=404)
    with pytest.raises(ConfigurationError, match=r"no model 'tiny-qwen'.*/v1"):
        ask(make_backend(server))
    wrong = OpenAIBackend(server.base_url, "qwen2.5-vl-7b", api_key=KEY, backoff_s=0.01)
    with pytest.raises(ConfigurationError, match="`qwen2.5-vl-7b` does not exist"):
        ask(wrong)
    assert posts(server) == [404, 404]


def test_other_4xx_is_a_backend_error_with_the_server_message(
    server: OpenAICompatibleServer,
) -> None:
    server.inject(status=422)
    with pytest.raises(BackendError, match="HTTP 422: injected fault"):
        ask(make_backend(server))
    assert posts(server) == [422]


@pytest.mark.parametrize("api_key", ["sk-wrong-9876543210", None])
def test_a_wrong_api_key_is_a_configuration_error(
    server: OpenAICompatibleServer, api_key: str | None
) -> None:
    backend = make_backend(server, api_key=api_key)
    with pytest.raises(ConfigurationError, match="API key") as error:
        ask(backend)
    assert posts(server) == [401]
    for secret in (KEY, api_key or KEY):
        assert secret not in str(error.value)
        assert secret not in repr(backend)
        assert secret not in repr(vars(backend))


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", max_retries=2, backoff_s=0.01)
    slept: list[float] = []
    backend.sleep = slept.append
    with pytest.raises(BackendError, match="failed 3 attempts.*connection failed"):
        ask(backend)
    assert len(slept) == 2


def test_a_stopped_server_is_a_connection_error(checkpoint: Path) -> None:
    with OpenAICompatibleServer(checkpoint) as short:
        backend = OpenAIBackend(short.base_url, short.model_name, max_retries=1, backoff_s=0.01)
        assert ask(backend) == ANSWER
    with pytest.raises(BackendError, match="failed 2 attempts.*connection failed"):
        ask(backend)  # the same client: its kept-alive connection is dropped, then refused


def test_bad_settings_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="min_pixels"):
        OpenAIBackend("http://127.0.0.1:1/v1", "m", min_pixels=10, max_pixels=5)
    with pytest.raises(ConfigurationError, match="timeout_s"):
        OpenAIBackend("http://127.0.0.1:1/v1", "m", timeout_s=0)


def test_the_server_command_serves_the_checkpoint(checkpoint: Path) -> None:
    import openai

    command = [sys.executable, "-m", "agent.testing.openai_server", str(checkpoint)]
    command += ["--port", "0", "--served-model-name", "tiny"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("serving 'tiny' at http://127.0.0.1:"), line
            base_url = line.split(" at ")[1].split()[0]
            with openai.OpenAI(base_url=base_url, api_key="EMPTY", max_retries=0) as client:
                assert [model.id for model in client.models.list()] == ["tiny"]
            assert ask(OpenAIBackend(base_url, "tiny", max_retries=0)) == ANSWER
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0


def test_past_screenshots_over_the_servers_image_limit_get_a_clear_hint(
    checkpoint: Path, tmp_path: Path
) -> None:
    from actions.executor import DryRunExecutor
    from agent.loop import Agent
    from agent.screen.capture import ImageScreen
    from agent.styles.registry import make_style
    from agent.testing.tiny_qwen import script_answer

    style = make_style("uitars15")  # shows 4 past screenshots by default
    assert getattr(style, "history_images", 0) == 4
    script_answer(checkpoint, "Thought: ok\nAction: click(start_box='(10,10)')")
    image = Image.effect_noise((640, 480), 40).convert("RGB")
    for limit, status in ((1, "error"), (5, "max_steps")):
        with OpenAICompatibleServer(checkpoint, limit_images=limit) as server:
            backend = OpenAIBackend(
                server.base_url, server.model_name, min_pixels=style.min_pixels,
                max_pixels=style.max_pixels, backoff_s=0.01,
            )
            agent = Agent(
                backend, style, DryRunExecutor(), ImageScreen(image), max_steps=3, loop_limit=0
            )
            result = agent.run("x")
        assert result.status == status, result.message
        if status == "error":
            assert "At most 1 image(s) may be provided in one prompt." in (result.message or "")
            assert """--limit-mm-per-prompt '{"image": 2}'""" in (result.message or "")
    script_answer(checkpoint, None)
