"""The gathering of single-sample calls: batches by window and size, errors to every waiter."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, Counter

from verifier_service.schemas import RewardItem, RewardResult
from verifier_service.slime import RewardCoalescer


def _coalescer(sizes: list[int], *, max_batch: int = 100, fail: bool = False) -> RewardCoalescer:
    async def grade(items: list[RewardItem]) -> list[RewardResult]:
        sizes.append(len(items))
        if fail:
            raise RuntimeError("grading broke")
        return [RewardResult(id=item.id, reward=float(len(item.response))) for item in items]

    batches = Counter("b", "batches", registry=CollectorRegistry())
    return RewardCoalescer(grade, window_s=0.05, max_batch=max_batch, batches=batches)


async def _score_all(coalescer: RewardCoalescer, count: int) -> list[RewardResult]:
    items = [RewardItem(id=str(i), response="x" * i) for i in range(count)]
    return list(await asyncio.gather(*(coalescer.score(item) for item in items)))


def test_coalescer_gathers_concurrent_calls_in_order() -> None:
    sizes: list[int] = []
    results = asyncio.run(_score_all(_coalescer(sizes), 7))
    assert [r.reward for r in results] == [float(i) for i in range(7)]
    assert sizes == [7]


def test_coalescer_sends_a_full_batch_at_once() -> None:
    sizes: list[int] = []
    asyncio.run(_score_all(_coalescer(sizes, max_batch=3), 7))
    assert sizes == [3, 3, 1]


def test_coalescer_error_reaches_every_waiter() -> None:
    with pytest.raises(RuntimeError, match="grading broke"):
        asyncio.run(_score_all(_coalescer([], fail=True), 3))
