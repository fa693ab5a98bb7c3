"""Faults while under load: each gives clear per-item errors, and the service heals by itself.

A grading worker killed, a sandbox container killed, the Docker daemon stopped and restarted,
and a judge that never answers. Throughout: no 5xx, no request left hanging, and after the
service stops no sandbox container of its own is left (checked by running_service).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import psutil
import pytest
from fake_openai import FakeOpenAI, FakeReply
from reliability_support import SCALE, LoadRun, Service, ensure_docker, sandbox_containers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOAD_S = 12 * SCALE
ADD = "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n"


def _code_item(a: int, b: int) -> dict[str, Any]:
    return {
        "language": "python",
        "code": ADD,
        "tests": [{"stdin": f"{a} {b}\n", "expected_stdout": f"{a + b}\n"}],
    }


def _eventually(check: Callable[[], bool], *, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {within_s:.0f} s: {what}")


def _no_server_errors(report: dict[str, Any]) -> None:
    assert report["transport_errors"] == {}, report
    assert set(report["statuses"]) <= {"200", "429"}, report["statuses"]
    assert report["miscounted"] == 0
    wrong = {k: v for k, v in report["outcomes"].items() if k.endswith(":wrong")}
    assert not wrong, f"wrong results under a fault: {wrong}"


def _math_works(service: Service) -> bool:
    (result,) = service.post("/v1/math/verify", [{"response": "\\boxed{7}", "reference": "7"}])
    return result["correct"] is True


def _code_works(service: Service) -> bool:
    (result,) = service.post("/v1/code/run", [_code_item(2, 3)], timeout=60)
    return result["verdict"] == "AC"


def _readiness(service: Service) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{service.url}/readyz", timeout=10).json()
    return body


def _sandbox_pool(service: Service) -> dict[str, int]:
    pool: dict[str, int] = httpx.get(f"{service.url}/readyz", timeout=10).json()["sandbox"]["pool"]
    return pool


@pytest.mark.timeout(int(240 + 4 * LOAD_S))
def test_fault_killed_grading_worker_fails_only_its_items(
    start_service: Any, start_load: Callable[..., LoadRun]
) -> None:
    with start_service(math_timeout_s="5") as service:
        workers = service.grading_workers()
        assert len(workers) == 2
        load = start_load(service, duration_s=LOAD_S, mix="math")
        time.sleep(LOAD_S / 3)
        for _ in range(3):  # several kills (as the OOM killer does), each mid-load
            alive = service.grading_workers()
            assert alive, f"no grading worker left after a kill: {_readiness(service)}"
            alive[0].send_signal(signal.SIGKILL)
            time.sleep(LOAD_S / 8)
        report = load.result(timeout=LOAD_S + 120)
        _no_server_errors(report)
        errors = {k for k in report["outcomes"] if not k.endswith(":right")}
        assert errors <= {"math:worker_crashed"}, report["outcomes"]
        assert report["outcomes"]["math:right"] > 0
        _eventually(
            lambda: len(service.grading_workers()) == 2,
            within_s=30,
            what="the pool replaced its killed workers",
        )
        assert {w.pid for w in service.grading_workers()}.isdisjoint({w.pid for w in workers})
        assert _math_works(service)


@pytest.mark.timeout(int(240 + 4 * LOAD_S))
def test_fault_killed_sandbox_container_is_replaced(
    start_service: Any, start_load: Callable[..., LoadRun]
) -> None:
    with start_service() as service:
        owner = service.owner_label()
        size = _sandbox_pool(service)["size"]
        before = set(sandbox_containers(owner=owner))
        assert len(before) == size
        load = start_load(service, duration_s=LOAD_S, mix="code")
        time.sleep(LOAD_S / 3)
        for container in list(before)[:1]:
            subprocess.run(["docker", "kill", container], check=True, capture_output=True)
        report = load.result(timeout=LOAD_S + 120)
        _no_server_errors(report)
        errors = {k for k in report["outcomes"] if not k.endswith(":right")}
        assert errors <= {"code:SE", "code:sandbox_error"}, report["outcomes"]
        _eventually(
            lambda: _sandbox_pool(service)["idle"] == size,
            within_s=60,
            what="the sandbox pool is back to full size",
        )
        after = set(sandbox_containers(owner=owner))
        assert len(after) == size, "the killed container was removed, a fresh one made"
        assert after != before
        assert _code_works(service)


def _dockerd() -> psutil.Process:
    (daemon,) = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "dockerd"]
    return daemon


@pytest.mark.timeout(int(360 + 6 * LOAD_S))
def test_fault_docker_daemon_restart_fails_code_items_then_heals(
    start_service: Any, start_load: Callable[..., LoadRun]
) -> None:
    with start_service() as service:
        size = _sandbox_pool(service)["size"]
        load = start_load(service, duration_s=LOAD_S * 2, mix="math,code")
        time.sleep(LOAD_S / 3)
        try:
            daemon = _dockerd()
            daemon.terminate()
            daemon.wait(timeout=60)
            # While the daemon is down a code item must come back, as an error, in bounded time.
            started = time.monotonic()
            (result,) = service.post("/v1/code/run", [_code_item(1, 1)], timeout=90)
            assert time.monotonic() - started < 60
            assert result["verdict"] == "SE" or result["error"]["code"] == "sandbox_error"
            assert _math_works(service)  # math never needed Docker
        finally:
            ensure_docker()
        report = load.result(timeout=LOAD_S * 2 + 180)
        _no_server_errors(report)
        errors = {k for k in report["outcomes"] if not k.endswith(":right")}
        assert errors <= {"code:SE", "code:sandbox_error"}, report["outcomes"]
        assert report["outcomes"].get("math:right", 0) > 0
        _eventually(lambda: _code_works(service), within_s=120, what="code runs again")
        _eventually(
            lambda: _sandbox_pool(service)["idle"] == size,
            within_s=120,
            what="the sandbox pool is back to full size",
        )


@pytest.mark.timeout(int(240 + 4 * LOAD_S))
def test_fault_hanging_judge_gives_judge_errors_and_spares_math(
    start_service: Any, start_load: Callable[..., LoadRun], fake_judge: FakeOpenAI
) -> None:
    hang = {"on": True}
    fake_judge.script = lambda request: FakeReply(delay_s=3600 if hang["on"] else 0)
    with start_service(
        judge_backend="openai",
        judge_base_url=f"{fake_judge.base_url}/v1",
        judge_model="fake-judge",
        judge_timeout_s="2",
        judge_max_retries="1",
        judge_cache_bytes="0",
    ) as service:
        load = start_load(service, duration_s=LOAD_S, mix="math,format")
        # The rules reject every answer (none is 100), so the cascade asks the judge for each.
        items = [
            {"question": "1+1?", "reference": "100", "response": f"it is {n}"} for n in range(8)
        ]
        started = time.monotonic()
        results = service.post("/v1/judge", items, timeout=120)
        elapsed = time.monotonic() - started
        assert all(r["error"] and r["error"]["code"].startswith("judge") for r in results), results
        assert elapsed < 30, f"a hanging judge held the batch {elapsed:.0f} s"
        report = load.result(timeout=LOAD_S + 120)
        _no_server_errors(report)
        assert set(report["outcomes"]) <= {"math:right", "format:right"}, report["outcomes"]
        assert report["latency_s_by_kind"]["math"]["p50"] < 2
        hang["on"] = False  # the judge comes back: no restart needed
        results = service.post("/v1/judge", items, timeout=60)
        assert all(r["error"] is None and r["correct"] is True for r in results), results
