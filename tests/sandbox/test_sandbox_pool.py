"""The warm worker pool when its engine fails: replacements keep trying, a starved job gets SE
instead of waiting forever. Workers here are stand-ins whose stream breaks; the real engine's
restart is exercised in tests/reliability."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox import Limits, Program, StdioTest, Verdict
from sandbox.backends.base import WorkerPool
from sandbox.jobs import Job, build_job

JOB: Job = build_job(Program("python", "print(1)"), [StdioTest("", "1\n")], Limits())


class BrokenStream:
    """A worker whose stream is gone (its container died with the engine)."""

    destroyed = 0

    async def send(self, message: dict[str, Any]) -> None:
        raise OSError("connection reset by the engine")

    async def receive(self) -> dict[str, Any]:
        raise OSError("connection reset by the engine")

    async def prepare(self, job: Job) -> None:
        return None

    async def destroy(self) -> None:
        BrokenStream.destroyed += 1
        raise OSError("engine unreachable")  # destroying fails too while the engine is down


def _factory(fail_first: int) -> tuple[Any, list[int]]:
    """A create() that fails ``fail_first`` times after the first worker, then succeeds."""
    calls = [0]

    async def create() -> BrokenStream:
        calls[0] += 1
        if 1 < calls[0] <= 1 + fail_first:
            raise OSError("docker daemon is restarting")
        return BrokenStream()

    return create, calls


@pytest.mark.timeout(30)
def test_sandbox_pool_starved_job_gets_se_not_a_hang() -> None:
    async def scenario() -> tuple[Any, dict[str, Any], bool]:
        create, _ = _factory(fail_first=10**6)  # the engine never comes back
        pool = WorkerPool(create, size=1, starved_after_s=0.5)
        await pool.start()
        result = await pool.run(JOB)
        stats, serving = pool.stats(), pool.serving
        await pool.close()
        return result, stats, serving

    result, stats, serving = asyncio.run(scenario())
    assert result.verdict is Verdict.SE
    assert "no sandbox worker could be made" in result.reason
    assert "docker daemon is restarting" in str(stats["last_error"])
    assert serving is False


@pytest.mark.timeout(30)
def test_sandbox_pool_replaces_workers_once_the_engine_is_back() -> None:
    async def scenario() -> tuple[int, int]:
        create, calls = _factory(fail_first=3)
        pool = WorkerPool(create, size=1, starved_after_s=20)
        await pool.start()
        await pool.run(JOB)  # both tries break their workers; replacements fail 3 times first
        for _ in range(200):
            if pool.serving:
                break
            await asyncio.sleep(0.05)
        idle = int(pool.stats()["idle"])
        await pool.close()
        return idle, calls[0]

    idle, calls = asyncio.run(scenario())
    assert idle == 1, "a replacement arrived although destroying the old worker failed"
    assert calls >= 5
