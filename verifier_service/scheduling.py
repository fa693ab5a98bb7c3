"""Who gets the next free grading worker, and how long a request may wait for it.

The model: every request is a flow with a priority and a deadline. Its items wait in a queue
of their own; a free worker goes to the highest priority that has waiting items and, within
it, to the flows in turn (round robin, one item each). So a 4-item request that arrives behind
a 4,000-item one waits for about 4 items of the big one per worker, not 4,000, and two
trainers sharing a replica share it evenly. At its deadline a request stops waiting: what is
graded is returned and the rest gets a ``timeout`` error (grading.py).

The flow, priority and deadline of the request being served live in a context variable set
for the request's lifetime (``request_scope``): every task the request starts inherits it, so
no grading function needs extra parameters.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["FairQueue", "RequestScope", "current_scope", "request_scope"]

T = TypeVar("T")


@dataclass(frozen=True)
class RequestScope:
    """The request being served: its flow id, priority (higher first) and deadline."""

    flow: int
    priority: int
    deadline: float  # on the event loop's clock
    deadline_s: float  # as the request gave it (or the server's default), for messages


_SCOPE: ContextVar[RequestScope | None] = ContextVar("verifier_request_scope", default=None)
_FLOW_IDS = itertools.count(1)
_NO_SCOPE = RequestScope(flow=0, priority=0, deadline=float("inf"), deadline_s=float("inf"))


@contextmanager
def request_scope(
    *, deadline_s: float, priority: int = 0, fair: bool = True
) -> Iterator[RequestScope]:
    """Serve the code inside as one request: a new flow with this priority and deadline
    (``fair=False``: every request in one flow, priorities ignored: first come first served)."""
    deadline = _now() + deadline_s
    if fair:
        scope = RequestScope(next(_FLOW_IDS), priority, deadline, deadline_s)
    else:
        scope = RequestScope(0, 0, deadline, deadline_s)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def _now() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # no loop (a test, the CLI): the clock asyncio's default loop uses
        return time.monotonic()


def current_scope() -> RequestScope:
    """The request being served; work outside any request (the CLI) has no deadline."""
    return _SCOPE.get() or _NO_SCOPE


class FairQueue(Generic[T]):
    """Free resources (idle workers) handed to waiters: highest priority first, then one
    waiter of each flow in turn. Use it from one event loop."""

    def __init__(self) -> None:
        self._free: deque[T] = deque()
        # priority -> flow -> its waiters, flows in round-robin order (the next one first)
        self._levels: dict[int, OrderedDict[int, deque[asyncio.Future[T]]]] = {}
        self.waiting = 0

    def put(self, resource: T) -> None:
        """Give ``resource`` back: to the next waiter by priority and turn, else keep it."""
        for priority in sorted(self._levels, reverse=True):
            flows = self._levels[priority]
            while flows:
                flow, waiters = next(iter(flows.items()))
                waiter = waiters.popleft()
                if waiters:
                    flows.move_to_end(flow)  # its turn is over: to the back of the ring
                else:
                    del flows[flow]
                if not waiter.done():  # a waiter that gave up (deadline) is skipped
                    self.waiting -= 1
                    waiter.set_result(resource)
                    if not flows:
                        del self._levels[priority]
                    return
            del self._levels[priority]
        self._free.append(resource)

    async def get(self, scope: RequestScope | None = None) -> T:
        """A free resource, waiting for it in ``scope``'s flow (the current request's)."""
        if self._free:
            return self._free.popleft()
        scope = scope or current_scope()
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        flows = self._levels.setdefault(scope.priority, OrderedDict())
        flows.setdefault(scope.flow, deque()).append(waiter)
        self.waiting += 1
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.put(waiter.result())  # handed over just as we gave up: pass it on
            else:
                self.waiting -= 1
            raise

    def free(self) -> int:
        return len(self._free)
