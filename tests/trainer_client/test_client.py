"""The reward client against real HTTP servers on loopback: the service, and scripted failures."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import uvicorn
from service import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from trainer_client.client import (
    AsyncRewardClient,
    ItemError,
    RewardClient,
    RewardClientConfig,
    RewardItem,
    RewardRequestError,
    RewardResponseError,
    RewardServiceUnavailableError,
    reward_values,
)
from verifier_service.app import create_app
from verifier_service.settings import Settings

BOXED_TWO = "<think>1+1 is 2</think> The answer is \\boxed{2}."


# --- loopback servers ------------------------------------------------------------------------


@contextmanager
def _serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on loopback; yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")
    config.timeout_graceful_shutdown = 1
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status with a body, or (status 200, no body) a graded echo."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Seen:
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


class ScriptedService:
    """A stand-in for ``/v1/rewards`` that plays ``script`` in order, then echoes.

    The echo scores an item ``float(id)`` (the order test reads it back) and fails items whose
    response is ``"fail"`` with the error ``invalid_input``.
    """

    def __init__(self, *script: Reply, delays: dict[str, float] | None = None) -> None:
        self.script = list(script)
        self.seen: list[Seen] = []
        # Delay keyed by the first item id of a chunk, to make chunks finish out of order.
        self.delays = delays or {}
        self.app = Starlette(routes=[Route("/v1/rewards", self._rewards, methods=["POST"])])

    async def _rewards(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.seen.append(Seen(body, dict(request.headers), time.monotonic()))
        reply = self.script.pop(0) if self.script else Reply()
        first_id = body["items"][0].get("id", "")
        await asyncio.sleep(reply.delay_s + self.delays.get(first_id, 0.0))
        if reply.status != 200 or reply.body is not None:
            return JSONResponse(reply.body or {}, status_code=reply.status, headers=reply.headers)
        return JSONResponse({"results": [_echo(item) for item in body["items"]]})


def _echo(item: dict[str, Any]) -> dict[str, Any]:
    if item["response"] == "fail":
        error = {"code": "invalid_input", "message": "response is 'fail'"}
        return {"id": item.get("id"), "reward": None, "components": {}, "error": error}
    reward = float(item["id"])
    return {"id": item["id"], "reward": reward, "components": {"accuracy": reward}, "error": None}


def _config(*urls: str, **settings: Any) -> RewardClientConfig:
    """A config that retries after milliseconds, not seconds."""
    return RewardClientConfig(list(urls), **{"backoff_s": 0.01, "max_backoff_s": 0.05, **settings})


def _items(count: int) -> list[RewardItem]:
    return [RewardItem(id=str(i), response=f"answer {i}", reference="1") for i in range(count)]


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with _serve(create_app(Settings(workers=1, api_keys="k1"))) as url:
        yield url


# --- against the real service ----------------------------------------------------------------


def test_client_scores_a_batch_on_the_real_service(service_url: str) -> None:
    items = [
        RewardItem(id="right", response=BOXED_TWO, reference="2"),
        RewardItem(id="wrong", response=BOXED_TWO, reference="3"),
        RewardItem(id="no-think", response="\\boxed{2}", reference="2"),
    ]
    config = RewardClientConfig(urls=[service_url], api_key="k1", chunk_size=2)
    with RewardClient(config) as client:
        outcomes = client.score(items)
    assert [o.id for o in outcomes] == ["right", "wrong", "no-think"]
    assert [o.components["accuracy"] for o in outcomes] == [1.0, 0.0, 1.0]
    assert outcomes[0].components["format"] == 1.0
    assert outcomes[2].components["format"] == 0.0
    assert outcomes[0].reward == 2.0
    assert outcomes[0].details["accuracy"]["extracted"] == "2"
    assert all(o.error is None for o in outcomes)


def test_client_sends_weights_to_the_real_service(service_url: str) -> None:
    config = RewardClientConfig(urls=[service_url], api_key="k1")
    with RewardClient(config) as client:
        (outcome,) = client.score(
            [RewardItem(response=BOXED_TWO, reference="2")], weights={"format": 0.5}
        )
    assert outcome.reward == 1.5


def test_client_sends_code_scoring_and_limits_to_the_real_service(service_url: str) -> None:
    program = "<think>x</think>\n```python\nn = int(input())\nprint(n if n > 1 else 0)\n```\n"
    tests = [{"stdin": f"{n}\n", "expected_stdout": f"{n}\n"} for n in (1, 2, 3, 4)]
    item = RewardItem(
        response=program,
        task="code",
        language="python",
        tests=tests,
        limits={"time_s": 1, "memory_mb": 128},
    )
    config = RewardClientConfig(urls=[service_url], api_key="k1")
    with RewardClient(config) as client:
        (binary,) = client.score([item])
        (fraction,) = client.score([item], code_scoring="fraction")
    assert binary.components["accuracy"] == 0.0
    assert fraction.components["accuracy"] == 0.75


def test_client_reports_the_real_service_item_error_as_none(service_url: str) -> None:
    items = [
        RewardItem(id="ok", response=BOXED_TWO, reference="2"),
        RewardItem(id="no-reference", response=BOXED_TWO),
    ]
    config = RewardClientConfig(urls=[service_url], api_key="k1")
    with RewardClient(config) as client:
        ok, failed = client.score(items)
    assert ok.reward == 2.0
    assert failed.reward is None
    assert failed.error is not None and failed.error.code == "invalid_input"
    assert "reference" in failed.error.message


def test_client_raises_at_once_on_a_wrong_api_key(service_url: str) -> None:
    config = _config(service_url, api_key="wrong")
    with RewardClient(config) as client, pytest.raises(RewardRequestError) as caught:
        client.score(_items(1))
    assert caught.value.status_code == 401
    assert "API key" in str(caught.value)


def test_client_async_scores_on_the_real_service(service_url: str) -> None:
    async def score() -> list[float | None]:
        config = RewardClientConfig(urls=[service_url], api_key="k1", chunk_size=1)
        async with AsyncRewardClient(config) as client:
            outcomes = await client.score(
                [RewardItem(response=BOXED_TWO, reference=ref) for ref in ("2", "5", "2")]
            )
        return [o.reward for o in outcomes]

    assert asyncio.run(score()) == [2.0, 1.0, 2.0]


# --- against scripted failures ---------------------------------------------------------------


def test_client_retries_a_500_then_succeeds() -> None:
    service = ScriptedService(Reply(500, {"detail": "boom"}))
    with _serve(service.app) as url, RewardClient(_config(url)) as client:
        outcomes = client.score(_items(2))
    assert len(service.seen) == 2
    assert [o.reward for o in outcomes] == [0.0, 1.0]


def test_client_waits_out_retry_after_on_429() -> None:
    service = ScriptedService(Reply(429, {"detail": "slow down"}, {"Retry-After": "1"}))
    config = RewardClientConfig(["http://x"], backoff_s=0.01, max_backoff_s=5.0)
    with _serve(service.app) as url, RewardClient(replace(config, urls=[url])) as client:
        outcomes = client.score(_items(1))
    first, second = service.seen
    assert second.at - first.at >= 0.95
    assert outcomes[0].reward == 0.0


def test_client_raises_on_400_without_retrying() -> None:
    service = ScriptedService(Reply(400, {"detail": "chunk has an unknown field 'x'"}))
    refused = pytest.raises(RewardRequestError, match="unknown field 'x'")
    with _serve(service.app) as url, RewardClient(_config(url)) as client, refused as caught:
        client.score(_items(1))
    assert caught.value.status_code == 400
    assert len(service.seen) == 1


def test_client_retries_until_a_refused_server_comes_up() -> None:
    port = free_port()
    service = ScriptedService()
    config = RewardClientConfig([f"http://127.0.0.1:{port}"], backoff_s=0.1, max_backoff_s=0.5)
    with RewardClient(config) as client:
        # The server starts while the client is already retrying refused connections.
        started = threading.Event()
        stop = threading.Event()

        def serve_later() -> None:
            time.sleep(0.5)
            with _serve(service.app, port):
                started.set()
                stop.wait(timeout=30)

        thread = threading.Thread(target=serve_later)
        thread.start()
        try:
            outcomes = client.score(_items(3))
        finally:
            stop.set()
            thread.join()
    assert started.is_set()
    assert [o.reward for o in outcomes] == [0.0, 1.0, 2.0]
    assert len(service.seen) == 1


def test_client_gives_up_on_a_reply_slower_than_the_timeout() -> None:
    service = ScriptedService(Reply(delay_s=1.0), Reply(delay_s=1.0))
    with _serve(service.app) as url:
        config = _config(url, timeout_s=0.2, retries=1)
        started = time.monotonic()
        with RewardClient(config) as client:
            outcomes = client.score(_items(2))
        elapsed = time.monotonic() - started
    assert elapsed < 0.9
    assert len(service.seen) == 2
    assert [o.reward for o in outcomes] == [None, None]
    for outcome in outcomes:
        assert outcome.error is not None
        assert outcome.error.code == "unavailable"
        assert "ReadTimeout" in outcome.error.message


def test_client_raises_when_unavailable_if_asked() -> None:
    service = ScriptedService(*[Reply(503, {"detail": "draining"})] * 3)
    with _serve(service.app) as url:
        config = _config(url, retries=2, raise_when_unavailable=True)
        with RewardClient(config) as client, pytest.raises(RewardServiceUnavailableError):
            client.score(_items(1))
    assert len(service.seen) == 3


def test_client_keeps_input_order_across_chunks_finishing_out_of_order() -> None:
    # The first chunk is the slowest, the last the fastest.
    service = ScriptedService(delays={"0": 0.3, "3": 0.2, "6": 0.1})
    with _serve(service.app) as url, RewardClient(_config(url, chunk_size=3)) as client:
        outcomes = client.score(_items(10))
    assert sorted(len(seen.body["items"]) for seen in service.seen) == [1, 3, 3, 3]
    assert [o.id for o in outcomes] == [str(i) for i in range(10)]
    assert [o.reward for o in outcomes] == [float(i) for i in range(10)]


def test_client_round_robins_chunks_over_urls() -> None:
    first, second = ScriptedService(), ScriptedService()
    with (
        _serve(first.app) as url_a,
        _serve(second.app) as url_b,
        RewardClient(_config(url_a, url_b, chunk_size=2)) as client,
    ):
        outcomes = client.score(_items(8))
    assert len(first.seen) == 2
    assert len(second.seen) == 2
    ids_a = {item["id"] for seen in first.seen for item in seen.body["items"]}
    ids_b = {item["id"] for seen in second.seen for item in seen.body["items"]}
    assert ids_a == {"0", "1", "4", "5"}
    assert ids_b == {"2", "3", "6", "7"}
    assert [o.reward for o in outcomes] == [float(i) for i in range(8)]


def test_client_retries_on_the_next_url_when_one_is_down() -> None:
    service = ScriptedService()
    dead = f"http://127.0.0.1:{free_port()}"
    with _serve(service.app) as url, RewardClient(_config(dead, url, chunk_size=1)) as client:
        outcomes = client.score(_items(4))
    assert len(service.seen) == 4
    assert [o.reward for o in outcomes] == [0.0, 1.0, 2.0, 3.0]


def test_client_surfaces_item_errors_as_none_not_zero() -> None:
    service = ScriptedService()
    items = [RewardItem(id="0", response="x"), RewardItem(id="1", response="fail")]
    with _serve(service.app) as url, RewardClient(RewardClientConfig([url])) as client:
        outcomes = client.score(items)
    assert outcomes[0].reward == 0.0
    assert outcomes[1].reward is None
    assert outcomes[1].error == ItemError("invalid_input", "response is 'fail'")
    values = reward_values(outcomes)
    assert values[0] == 0.0 and values[1] != values[1]  # NaN marks the failure


def test_client_sends_the_api_key_and_only_set_fields() -> None:
    service = ScriptedService()
    item = RewardItem(id="0", response="r", tests=[{"stdin": "1\n", "expected_stdout": "1\n"}])
    with _serve(service.app) as url:
        config = RewardClientConfig([url], api_key="secret")
        with RewardClient(config) as client:
            client.score([item], format_style="think")
    (seen,) = service.seen
    assert seen.headers["authorization"] == "Bearer secret"
    assert seen.body["format_style"] == "think"
    assert "weights" not in seen.body
    assert seen.body["items"] == [
        {
            "id": "0",
            "response": "r",
            "prompt": "",
            "task": "math",
            "tests": [{"stdin": "1\n", "expected_stdout": "1\n"}],
        }
    ]
    assert "secret" not in repr(config)


def test_client_sends_a_deadline_inside_its_timeout_and_its_priority() -> None:
    service = ScriptedService()
    with _serve(service.app) as url:
        with RewardClient(RewardClientConfig([url], timeout_s=20, priority=1)) as client:
            client.score(_items(1))
        with RewardClient(RewardClientConfig([url], send_deadline=False)) as client:
            client.score(_items(1))
    first, second = service.seen
    assert first.body["deadline_s"] == 15.0 and first.body["priority"] == 1
    assert "deadline_s" not in second.body and "priority" not in second.body


def test_client_gets_graded_items_back_when_the_service_deadline_passes() -> None:
    # The client's timeout becomes the service's deadline: what is graded comes back and only
    # the rest fails with 'timeout', instead of the whole chunk timing out on the client.
    items = [  # distinct polynomials that take the one worker milliseconds each to compare
        RewardItem(id=str(n), response=f"\\boxed{{(x+{n})^{{5}}(y-{n})^{{3}}}}", reference="x")
        for n in range(4000)
    ]
    with _serve(create_app(Settings(workers=1, sandbox_backend="none"))) as url:
        config = RewardClientConfig([url], timeout_s=10, chunk_size=4000, retries=0)
        with RewardClient(config) as client:
            outcomes = client.score(items)
    failed = [o for o in outcomes if o.error is not None]
    assert failed and {o.error.code for o in failed if o.error} == {"timeout"}
    assert len(failed) < len(items), "the graded items came back"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"urls": []}, "urls is empty"),
        ({"urls": ["127.0.0.1:8000"]}, "must start with http"),
        ({"urls": ["http://h"], "chunk_size": 0}, "chunk_size"),
        ({"urls": ["http://h"], "retries": -1}, "retries"),
        ({"urls": ["http://h"], "backoff_s": 2.0, "max_backoff_s": 1.0}, "max_backoff_s"),
    ],
    ids=["no-url", "no-scheme", "zero-chunk", "negative-retries", "cap-below-base"],
)
def test_client_config_rejects_bad_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RewardClientConfig(**settings)


def test_client_raises_when_the_results_do_not_match_the_items() -> None:
    service = ScriptedService(Reply(200, {"results": []}))
    broken = pytest.raises(RewardResponseError, match="0 results for 2 items")
    with _serve(service.app) as url, RewardClient(_config(url)) as client, broken:
        client.score(_items(2))
