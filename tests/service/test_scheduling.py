"""Fair queueing: by priority, then each request in turn; a waiter that gives up is skipped."""

from __future__ import annotations

import asyncio

from verifier_service.scheduling import FairQueue, RequestScope, current_scope, request_scope


def _scope(flow: int, priority: int = 0) -> RequestScope:
    return RequestScope(flow, priority, float("inf"), float("inf"))


async def _served_order(arrivals: list[RequestScope], resources: int = 1) -> list[int]:
    """Which flow got each resource, when ``arrivals`` queue in order behind a busy one."""
    queue: FairQueue[str] = FairQueue()
    order: list[int] = []

    async def wait(scope: RequestScope) -> None:
        await queue.get(scope)
        order.append(scope.flow)

    tasks = [asyncio.create_task(wait(scope)) for scope in arrivals]
    await asyncio.sleep(0)  # every waiter queued
    for _ in range(len(arrivals)):
        queue.put("worker")
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return order


def test_fair_queue_serves_requests_in_turn() -> None:
    big = [_scope(1)] * 6
    order = asyncio.run(_served_order([*big, _scope(2), _scope(3)]))
    # The two small requests arrived behind six items of the big one, and wait for one each.
    assert order == [1, 2, 3, 1, 1, 1, 1, 1]


def test_fair_queue_serves_higher_priority_first() -> None:
    order = asyncio.run(_served_order([_scope(1), _scope(1), _scope(2, priority=1)]))
    assert order == [2, 1, 1]


def test_fair_queue_skips_a_waiter_that_gave_up() -> None:
    async def scenario() -> tuple[str, int, int]:
        queue: FairQueue[str] = FairQueue()
        gone = asyncio.create_task(queue.get(_scope(1)))
        kept = asyncio.create_task(queue.get(_scope(2)))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        waiting = queue.waiting
        queue.put("worker")
        return await kept, waiting, queue.free()

    assert asyncio.run(scenario()) == ("worker", 1, 0)


def test_fair_queue_keeps_a_resource_nobody_waits_for() -> None:
    async def scenario() -> str:
        queue: FairQueue[str] = FairQueue()
        queue.put("worker")
        return await queue.get(_scope(1))

    assert asyncio.run(scenario()) == "worker"


def test_request_scope_gives_each_request_a_flow_and_its_deadline() -> None:
    async def scenario() -> tuple[RequestScope, RequestScope, RequestScope]:
        with request_scope(deadline_s=5, priority=1) as first:
            inherited = await asyncio.create_task(asyncio.sleep(0, current_scope()))
        with request_scope(deadline_s=5) as second:
            pass
        assert inherited == first
        return first, second, current_scope()

    first, second, outside = asyncio.run(scenario())
    assert first.flow != second.flow and first.priority == 1
    assert first.deadline_s == 5
    assert outside.deadline == float("inf")


def test_request_scope_fifo_puts_every_request_in_one_flow_of_one_priority() -> None:
    async def scenario() -> set[tuple[int, int]]:
        flows = set()
        for _ in range(3):
            with request_scope(deadline_s=5, priority=1, fair=False) as scope:
                flows.add((scope.flow, scope.priority))
        return flows

    assert asyncio.run(scenario()) == {(0, 0)}
