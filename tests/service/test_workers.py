"""The worker pool: hard timeouts, crashes, kills and memory caps become per-item errors, and
the pool always heals."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from verifier_service.errors import (
    GradingResourceError,
    GradingTimeoutError,
    InvalidReferenceError,
    VerifierError,
    WorkerCrashedError,
)
from verifier_service.workers import WorkerPool

T = TypeVar("T")


def _sleep_forever() -> None:
    while True:
        time.sleep(1)


def _nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _add(a: int, b: int, *, c: int = 0) -> int:
    return a + b + c


def _die() -> None:
    os._exit(3)


def _allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def _raise_reference_error() -> None:
    raise InvalidReferenceError("reference 'x+' cannot be parsed")


def _raise_bug() -> None:
    raise KeyError("oops")


def _with_pool(scenario: Callable[[WorkerPool], Awaitable[T]], workers: int = 2) -> T:
    """Run ``scenario`` with a started pool of ``workers``, in one event loop."""

    async def main() -> T:
        pool = WorkerPool(workers=workers, memory_mb=512)
        try:
            await pool.start()
            return await scenario(pool)
        finally:
            pool.close()

    return asyncio.run(main())


def test_workers_call_returns_value_with_kwargs() -> None:
    async def scenario(pool: WorkerPool) -> int:
        return await pool.call(_add, 1, 2, c=3, timeout=10)

    assert _with_pool(scenario) == 6


def test_workers_timeout_kills_and_replaces_worker() -> None:
    async def scenario(pool: WorkerPool) -> tuple[list[int], list[int], int]:
        before = pool.pids()
        with pytest.raises(GradingTimeoutError, match=r"longer than 0\.5 s"):
            await pool.call(_sleep_forever, timeout=0.5)
        return before, pool.pids(), await pool.call(_add, 2, 2, timeout=10)

    before, after, value = _with_pool(scenario)
    assert value == 4
    assert len(after) == 2 and set(before) != set(after)


def test_workers_timeout_leaves_other_items_alone() -> None:
    async def scenario(pool: WorkerPool) -> list[Any]:
        return await asyncio.gather(
            pool.call(_sleep_forever, timeout=0.5),
            *(pool.call(_add, n, 1, timeout=10) for n in range(5)),
            return_exceptions=True,
        )

    hung, *fine = _with_pool(scenario)
    assert isinstance(hung, GradingTimeoutError)
    assert fine == [1, 2, 3, 4, 5]


def test_workers_crash_becomes_worker_crashed() -> None:
    async def scenario(pool: WorkerPool) -> int:
        with pytest.raises(WorkerCrashedError, match="exit code 3"):
            await pool.call(_die, timeout=10)
        return await pool.call(_add, 1, 1, timeout=10)

    assert _with_pool(scenario) == 2


def test_workers_killed_idle_worker_costs_no_item() -> None:
    async def scenario(pool: WorkerPool) -> list[int]:
        for pid in pool.pids():
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.5)  # the kills have landed: the workers are gone, not dying
        return await asyncio.gather(*(pool.call(_add, n, 1, timeout=10) for n in range(6)))

    assert _with_pool(scenario) == [1, 2, 3, 4, 5, 6]


def test_workers_killed_busy_worker_fails_only_its_item() -> None:
    async def scenario(pool: WorkerPool) -> list[Any]:
        busy = asyncio.ensure_future(pool.call(_sleep_forever, timeout=30))
        others = [asyncio.ensure_future(pool.call(_nap, 0.05, timeout=10)) for _ in range(20)]
        await asyncio.sleep(0.3)
        victim = next(iter(set(pool.pids())))
        os.kill(victim, signal.SIGKILL)
        busy.cancel()  # whichever worker sleeps forever must not block the test
        return await asyncio.gather(*others, return_exceptions=True)

    outcomes = _with_pool(scenario)
    crashed = [o for o in outcomes if isinstance(o, WorkerCrashedError)]
    assert len(crashed) <= 1, "a killed worker takes at most its own item with it"
    assert sum(o == 0.05 for o in outcomes) >= len(outcomes) - 1


@pytest.mark.timeout(120)
def test_workers_survive_repeated_kills_under_load() -> None:
    async def scenario(pool: WorkerPool) -> dict[str, int]:
        counts = {"ok": 0, "worker_crashed": 0}
        stop = time.monotonic() + 4

        async def client() -> None:
            while time.monotonic() < stop:
                try:
                    await asyncio.wait_for(pool.call(_nap, 0.002, timeout=5), timeout=20)
                    counts["ok"] += 1
                except WorkerCrashedError:
                    counts["worker_crashed"] += 1

        async def killer() -> None:
            for _ in range(4):
                await asyncio.sleep(0.7)
                os.kill(pool.pids()[0], signal.SIGKILL)

        await asyncio.gather(killer(), *(client() for _ in range(32)))
        return counts

    counts = _with_pool(scenario)
    assert counts["ok"] > 100
    assert counts["worker_crashed"] <= 4


def test_workers_memory_cap_becomes_resource_error() -> None:
    async def scenario(pool: WorkerPool) -> int:
        with pytest.raises(GradingResourceError):
            await pool.call(_allocate, 4096, timeout=10)
        return await pool.call(_allocate, 8, timeout=10)

    assert _with_pool(scenario) == 8 * 1024 * 1024


def test_workers_verifier_error_crosses_the_process_boundary() -> None:
    async def scenario(pool: WorkerPool) -> None:
        await pool.call(_raise_reference_error, timeout=10)

    with pytest.raises(InvalidReferenceError, match="cannot be parsed"):
        _with_pool(scenario)


def test_workers_unexpected_exception_is_a_coded_error() -> None:
    async def scenario(pool: WorkerPool) -> None:
        await pool.call(_raise_bug, timeout=10)

    with pytest.raises(VerifierError, match="KeyError") as info:
        _with_pool(scenario)
    assert info.value.code == "internal_error"
