"""Request deadlines and fair turns at the workers, on the real app and worker processes."""

from __future__ import annotations

import asyncio
import re
import time

from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.grading import Grader
from verifier_service.metrics import Metrics
from verifier_service.scheduling import request_scope
from verifier_service.settings import Settings
from verifier_service.workers import WorkerPool


def _settings(**overrides: object) -> Settings:
    return Settings(workers=1, sandbox_backend="none", **overrides)  # type: ignore[arg-type]


def _unique_items(count: int) -> list[dict[str, str]]:
    # Distinct answers, each needing the LaTeX parser and a symbolic comparison.
    return [
        {"response": f"\\boxed{{\\frac{{{n}}}{{{n + 7}}} + \\sqrt{{{n + 2}}}}}", "reference": "1"}
        for n in range(count)
    ]


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return 0.0 if match is None else float(match.group(1))


def _drained(grader: Grader) -> bool:
    """Nothing waits for or runs in a worker, within a few seconds."""
    for _ in range(100):
        if grader.pool.waiting == 0 and grader.pool.in_flight == 0:
            return True
        time.sleep(0.05)
    return False


def test_deadline_returns_graded_items_and_timeout_errors_for_the_rest() -> None:
    with TestClient(create_app(_settings())) as client:
        grader: Grader = client.app.state.grader  # type: ignore[attr-defined]
        body = {"items": _unique_items(2000), "deadline_s": 0.3}
        results = client.post("/v1/math/verify", json=body).json()["results"]
        drained = _drained(grader)
        metrics = client.get("/metrics").text
        # The queue is usable at once afterwards.
        after = client.post("/v1/math/verify", json={"items": _unique_items(1)}).json()
    timed_out = [r for r in results if r["error"] is not None]
    assert timed_out, "2000 symbolic items cannot all be graded in 0.3 s by one worker"
    assert {r["error"]["code"] for r in timed_out} == {"timeout"}
    assert all("deadline of 0.3 s" in r["error"]["message"] for r in timed_out)
    assert all(r["correct"] is not None for r in results if r["error"] is None)
    assert drained, "queued items of the expired request were not dropped"
    assert _metric(metrics, "verifier_deadline_expired_items_total") == len(timed_out)
    assert after["results"][0]["error"] is None


def test_deadline_past_the_server_maximum_is_capped() -> None:
    settings = _settings(max_deadline_s=0.3)
    with TestClient(create_app(settings)) as client:
        body = {"items": _unique_items(2000), "deadline_s": 3600}
        results = client.post("/v1/math/verify", json=body).json()["results"]
    messages = {r["error"]["message"] for r in results if r["error"] is not None}
    assert messages and all("deadline of 0.3 s" in m for m in messages)


def test_rewards_deadline_is_a_per_item_timeout_not_a_failed_batch() -> None:
    with TestClient(create_app(_settings())) as client:
        items = [{**item, "task": "math"} for item in _unique_items(2000)]
        reply = client.post("/v1/rewards", json={"items": items, "deadline_s": 0.3})
    assert reply.status_code == 200
    results = reply.json()["results"]
    failed = [r for r in results if r["error"] is not None]
    assert failed and {r["error"]["code"] for r in failed} == {"timeout"}
    assert all(r["reward"] is None for r in failed)


def test_deadline_must_be_positive() -> None:
    with TestClient(create_app(_settings())) as client:
        reply = client.post("/v1/math/verify", json={"items": [], "deadline_s": 0})
    assert reply.status_code == 422


def _nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_workers_serve_a_small_request_between_the_items_of_a_large_one() -> None:
    async def scenario() -> list[str]:
        pool = WorkerPool(workers=1, memory_mb=512)
        finished: list[str] = []

        async def item(name: str) -> None:
            await pool.call(_nap, 0.05, timeout=10)
            finished.append(name)

        try:
            await pool.start()
            with request_scope(deadline_s=60):
                large = [asyncio.create_task(item(f"large-{n}")) for n in range(8)]
            await asyncio.sleep(0.01)  # the large request is queued first
            with request_scope(deadline_s=60):
                small = asyncio.create_task(item("small"))
            await asyncio.gather(*large, small)
        finally:
            pool.close()
        return finished

    finished = asyncio.run(scenario())
    # First come, first served would finish it last (9th); in turn it is 2nd or 3rd.
    assert finished.index("small") <= 2, finished


def test_item_arriving_as_an_abandoned_grading_stops_is_graded_afresh() -> None:
    async def scenario() -> bool:
        pool = WorkerPool(workers=1, memory_mb=512)
        await pool.start()
        try:
            grader = Grader(_settings(), pool, Metrics())
            config = grader.math_config(None)
            busy = asyncio.create_task(pool.call(_nap, 0.3, timeout=10))
            await asyncio.sleep(0.05)
            gone = asyncio.create_task(grader.grade_math("\\boxed{3}", "3", config))
            await asyncio.sleep(0.05)  # it waits for the busy worker
            gone.cancel()  # its deadline: the grading it alone waited for is cancelled...
            await asyncio.sleep(0)
            # ...and the same answer arrives before that cancellation has run.
            result = await grader.grade_math("\\boxed{3}", "3", config)
            await busy
            return result.correct
        finally:
            pool.close()

    assert asyncio.run(scenario()) is True
