"""The OpenAI-compatible backend against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from fake_openai import FakeOpenAI, FakeReply, user_message

from verifier_service.engine.judge.backend import Completion, JudgeBackend
from verifier_service.engine.judge.openai_compat import OpenAICompatBackend
from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.errors import JudgeError

PROMPT = JudgePrompt(system="be strict", user="is 1/2 = 0.5?")


def _complete(
    backend: OpenAICompatBackend, prompts: list[JudgePrompt]
) -> list[Completion | JudgeError]:
    async def run() -> list[Completion | JudgeError]:
        try:
            return await backend.complete(prompts)
        finally:
            await backend.aclose()

    return asyncio.run(run())


def _backend(server: FakeOpenAI, **kwargs: Any) -> OpenAICompatBackend:
    kwargs.setdefault("backoff_s", 0.01)
    kwargs.setdefault("backoff_max_s", 0.05)
    return OpenAICompatBackend(server.base_url, "deepseek-chat", **kwargs)


def test_openai_compat_sends_chat_request(fake_openai: FakeOpenAI) -> None:
    backend = _backend(fake_openai, api_key="sk-test", max_tokens=32)
    assert isinstance(backend, JudgeBackend)
    [completion] = _complete(backend, [PROMPT])
    assert completion == Completion("Final Decision: Yes", "stop")
    [request] = fake_openai.requests
    assert request["model"] == "deepseek-chat"
    assert request["temperature"] == 0
    assert request["max_tokens"] == 32
    assert request["messages"] == PROMPT.messages()
    assert fake_openai.headers[0]["authorization"] == "Bearer sk-test"


def test_openai_compat_accepts_base_url_with_v1(fake_openai: FakeOpenAI) -> None:
    backend = OpenAICompatBackend(fake_openai.base_url + "/v1/", "m")
    assert backend.url == fake_openai.base_url + "/v1/chat/completions"
    [completion] = _complete(backend, [PROMPT])
    assert isinstance(completion, Completion)


def test_openai_compat_keeps_order_and_finish_reason(fake_openai: FakeOpenAI) -> None:
    fake_openai.script = lambda request: FakeReply(
        content=f"echo {user_message(request)}", finish_reason="length"
    )
    prompts = [JudgePrompt("s", f"prompt {i}") for i in range(5)]
    completions = _complete(_backend(fake_openai), prompts)
    assert completions == [Completion(f"echo prompt {i}", "length") for i in range(5)]


def test_openai_compat_retries_429_then_succeeds(fake_openai: FakeOpenAI) -> None:
    statuses = iter([429, 429])
    fake_openai.script = lambda request: FakeReply(
        status=next(statuses, 200), headers={"Retry-After": "0"}
    )
    [completion] = _complete(_backend(fake_openai, max_retries=2), [PROMPT])
    assert completion == Completion("Final Decision: Yes", "stop")
    assert len(fake_openai.requests) == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_openai_compat_retries_5xx_then_gives_up(fake_openai: FakeOpenAI, status: int) -> None:
    fake_openai.script = lambda request: FakeReply(status=status)
    [completion] = _complete(_backend(fake_openai, max_retries=2), [PROMPT])
    assert isinstance(completion, JudgeError)
    assert completion.code == "judge_error"
    assert f"HTTP {status} 3 times" in completion.message
    assert len(fake_openai.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_openai_compat_does_not_retry_4xx(fake_openai: FakeOpenAI, status: int) -> None:
    fake_openai.script = lambda request: FakeReply(status=status)
    [completion] = _complete(_backend(fake_openai, max_retries=3), [PROMPT])
    assert isinstance(completion, JudgeError)
    assert f"HTTP {status} (not retried)" in completion.message
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"{not json", "not valid JSON", id="not-json"),
        pytest.param(b"\xff\xfe garbage", "not valid JSON", id="not-utf8"),
        pytest.param(b'{"choices": []}', "no choices[0].message.content", id="no-choices"),
        pytest.param(b'{"choices": [{"message": {}}]}', "no choices[0]", id="no-content"),
        pytest.param(b"[1, 2]", "no choices[0]", id="a-list"),
        pytest.param(
            b'{"choices": [{"message": {"content": null}}]}', "not text", id="null-content"
        ),
        pytest.param(
            b'{"choices": [{"message": {"content": "x"}, "finish_reason": 3}]}',
            "finish_reason is not text",
            id="bad-finish-reason",
        ),
    ],
)
def test_openai_compat_malformed_reply_is_error_not_retried(
    fake_openai: FakeOpenAI, body: bytes, message: str
) -> None:
    fake_openai.script = lambda request: FakeReply(body=body)
    [completion] = _complete(_backend(fake_openai, max_retries=3), [PROMPT])
    assert isinstance(completion, JudgeError)
    assert message in completion.message
    assert len(fake_openai.requests) == 1


def test_openai_compat_times_out_slow_reply(fake_openai: FakeOpenAI) -> None:
    fake_openai.script = lambda request: FakeReply(delay_s=10)
    start = time.monotonic()
    [completion] = _complete(_backend(fake_openai, timeout_s=0.3, max_retries=3), [PROMPT])
    elapsed = time.monotonic() - start
    assert isinstance(completion, JudgeError)
    assert "timed out after 0.3 s" in completion.message
    assert elapsed < 3
    assert len(fake_openai.requests) == 1  # a timeout is not retried


def test_openai_compat_failures_stay_per_prompt(fake_openai: FakeOpenAI) -> None:
    fake_openai.script = lambda request: (
        FakeReply(status=400) if "bad" in user_message(request) else FakeReply(content="ok")
    )
    prompts = [JudgePrompt("s", "good 1"), JudgePrompt("s", "bad"), JudgePrompt("s", "good 2")]
    first, second, third = _complete(_backend(fake_openai), prompts)
    assert first == Completion("ok", "stop")
    assert isinstance(second, JudgeError)
    assert third == Completion("ok", "stop")


def test_openai_compat_bounds_concurrency(fake_openai: FakeOpenAI) -> None:
    lock = threading.Lock()
    in_flight = 0
    peak = 0

    def script(request: dict[str, Any]) -> FakeReply:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.1)
        with lock:
            in_flight -= 1
        return FakeReply()

    fake_openai.script = script
    prompts = [JudgePrompt("s", f"p{i}") for i in range(8)]
    completions = _complete(_backend(fake_openai, max_concurrency=2), prompts)
    assert all(isinstance(c, Completion) for c in completions)
    assert peak == 2


def test_openai_compat_unreachable_server_is_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the call: nothing listens there
    backend = OpenAICompatBackend(f"http://127.0.0.1:{port}", "m", max_retries=3)
    [completion] = _complete(backend, [PROMPT])
    assert isinstance(completion, JudgeError)
    assert "unreachable" in completion.message


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"max_concurrency": 0}, id="concurrency"),
        pytest.param({"max_tokens": 0}, id="max-tokens"),
        pytest.param({"timeout_s": 0}, id="timeout"),
        pytest.param({"temperature": -1}, id="temperature"),
    ],
)
def test_openai_compat_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        OpenAICompatBackend("http://127.0.0.1:1", "m", **kwargs)


def test_openai_compat_model_id_names_model_and_settings() -> None:
    cold = OpenAICompatBackend("http://127.0.0.1:1", "m", temperature=0.0)
    warm = OpenAICompatBackend("http://127.0.0.1:1", "m", temperature=0.7)
    other = OpenAICompatBackend("http://127.0.0.1:1", "other")
    assert len({cold.model_id, warm.model_id, other.model_id}) == 3
    assert warm.temperature == 0.7


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        pytest.param(0, 0.5, 1.0, id="first"),
        pytest.param(1, 1.0, 2.0, id="doubled"),
        pytest.param(5, 2.0, 4.0, id="capped"),
    ],
)
def test_openai_compat_backoff_is_jittered_exponential(
    attempt: int, low: float, high: float
) -> None:
    backend = OpenAICompatBackend("http://127.0.0.1:1", "m", backoff_s=1.0, backoff_max_s=4.0)
    response = httpx.Response(503)
    delays = {backend._backoff(attempt, response) for _ in range(50)}
    assert all(low <= delay <= high for delay in delays)
    assert len(delays) > 1  # jittered, not a fixed schedule


def test_openai_compat_backoff_honours_retry_after_up_to_the_cap() -> None:
    backend = OpenAICompatBackend("http://127.0.0.1:1", "m", backoff_s=0.1, backoff_max_s=4.0)
    assert backend._backoff(0, httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    assert backend._backoff(0, httpx.Response(429, headers={"Retry-After": "600"})) == 4.0
    assert backend._backoff(0, httpx.Response(429, headers={"Retry-After": "soon"})) <= 0.1
