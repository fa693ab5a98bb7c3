"""The worker pool: hard timeouts, crashes and memory caps become per-item errors."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import psutil
import pytest

from verifier_service.errors import (
    GradingResourceError,
    GradingTimeoutError,
    InvalidReferenceError,
    VerifierError,
    WorkerCrashedError,
)
from verifier_service.workers import WorkerPool


def _sleep_forever() -> None:
    while True:
        time.sleep(1)


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


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    pool = WorkerPool(workers=2, memory_mb=512)
    yield pool
    pool.close()


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_workers_call_returns_value_with_kwargs(pool: WorkerPool) -> None:
    assert _run(pool.call(_add, 1, 2, c=3, timeout=10)) == 6


def test_workers_timeout_kills_and_replaces_worker(pool: WorkerPool) -> None:
    with pytest.raises(GradingTimeoutError, match=r"longer than 0\.5 s"):
        _run(pool.call(_sleep_forever, timeout=0.5))
    # The pool keeps working after the kill.
    assert _run(pool.call(_add, 2, 2, timeout=10)) == 4


def test_workers_timeout_leaves_other_items_alone(pool: WorkerPool) -> None:
    async def batch() -> list[object]:
        return await asyncio.gather(
            pool.call(_sleep_forever, timeout=0.5),
            pool.call(_add, 1, 1, timeout=10),
            return_exceptions=True,
        )

    hung, fine = _run(batch())  # type: ignore[misc]
    assert isinstance(hung, GradingTimeoutError)
    assert fine == 2


def test_workers_crash_becomes_worker_crashed(pool: WorkerPool) -> None:
    with pytest.raises(WorkerCrashedError, match="exit code 3"):
        _run(pool.call(_die, timeout=10))
    assert _run(pool.call(_add, 1, 1, timeout=10)) == 2


def _worker_pids() -> list[int]:
    # The workers are the fork server's children, the fork server is ours.
    me = psutil.Process()
    return [p.pid for p in me.children(recursive=True) if p.ppid() != me.pid]


def _kill_workers(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def test_workers_killed_idle_worker_does_not_break_the_pool() -> None:
    pool = WorkerPool(workers=2, memory_mb=512)
    try:
        _run(pool.start())
        _kill_workers(_worker_pids()[:1])
        time.sleep(0.5)  # let the pool notice
        assert [_run(pool.call(_add, n, 1, timeout=10)) for n in range(3)] == [1, 2, 3]
    finally:
        pool.close()


def test_workers_killed_busy_worker_fails_only_its_item() -> None:
    pool = WorkerPool(workers=2, memory_mb=512)
    try:
        _run(pool.start())

        async def kill_while_busy() -> object:
            task = asyncio.ensure_future(pool.call(_sleep_forever, timeout=30))
            await asyncio.sleep(0.5)
            _kill_workers(_worker_pids())
            return await asyncio.gather(task, return_exceptions=True)

        (outcome,) = _run(kill_while_busy())  # type: ignore[misc]
        assert isinstance(outcome, WorkerCrashedError)
        assert _run(pool.call(_add, 2, 3, timeout=10)) == 5
    finally:
        pool.close()


def test_workers_memory_cap_becomes_resource_error(pool: WorkerPool) -> None:
    with pytest.raises(GradingResourceError):
        _run(pool.call(_allocate, 4096, timeout=10))
    assert _run(pool.call(_allocate, 8, timeout=10)) == 8 * 1024 * 1024


def test_workers_verifier_error_crosses_the_process_boundary(pool: WorkerPool) -> None:
    with pytest.raises(InvalidReferenceError, match="cannot be parsed"):
        _run(pool.call(_raise_reference_error, timeout=10))


def test_workers_unexpected_exception_is_a_coded_error(pool: WorkerPool) -> None:
    with pytest.raises(VerifierError, match="KeyError") as info:
        _run(pool.call(_raise_bug, timeout=10))
    assert info.value.code == "internal_error"
