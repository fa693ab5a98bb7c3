"""Grading worker processes with a hard wall-clock limit and a memory cap per item.

Grading symbolic math can run away (a tower of powers, a huge factorial) and no timeout that
lives inside the grading process is reliable: ``signal.alarm`` only works in the main thread,
and C code inside sympy/gmpy ignores it. So every item runs in a worker process; a worker that
overruns its item's limit is killed and replaced, and only that item fails.

Each worker has a pipe of its own and nothing else is shared: a worker killed at any moment
(its limit, the OOM killer, an operator) can take no other item with it. A pool whose workers
share a task channel guarded by cross-process locks (pebble's) deadlocks when a worker dies
holding the lock — measured here under load — which is why this small pool exists.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from verifier_service.cache import CacheStats, cache_stats, set_cache_budget
from verifier_service.errors import (
    GradingResourceError,
    GradingTimeoutError,
    VerifierError,
    WorkerCrashedError,
)
from verifier_service.scheduling import FairQueue

T = TypeVar("T")

# Imported once by the fork server, so a worker (also the replacement of a killed one) starts
# in milliseconds with sympy and the LaTeX parser imported and warm, not in a second or two.
_PRELOAD = ["verifier_service.warmup"]


def _serve(conn: Connection, memory_mb: int, cache_bytes: int) -> None:
    """A worker's life: run each (function, args, kwargs) received, send back its outcome and
    what its caches hold (for /metrics)."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    set_cache_budget(cache_bytes)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the parent's to handle
    while True:
        try:
            function, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        try:
            outcome: tuple[str, Any, list[CacheStats]] = ("ok", function(*args, **kwargs), [])
        except Exception as exc:
            outcome = ("error", exc.with_traceback(None), [])
        try:
            conn.send((*outcome[:2], cache_stats()))
        except Exception as exc:  # an outcome that cannot be pickled
            error = VerifierError(f"grading result could not be returned: {exc!r}")
            conn.send(("error", error, cache_stats()))


@dataclass(eq=False)  # identity, not field equality: workers live in a set
class _Worker:
    process: BaseProcess
    conn: Connection
    caches: list[CacheStats] = field(default_factory=list)  # as of its last reply


class WorkerPool:
    """A fixed number of killable grading processes.

    ``call`` runs a picklable function in a worker and converts every way it can go wrong
    into a ``VerifierError`` with a code. Idle workers go to waiting calls fairly
    (scheduling.FairQueue: by priority, then each request in turn). Use it from one event loop.
    """

    def __init__(self, *, workers: int, memory_mb: int, cache_bytes: int = 0) -> None:
        self.workers = workers
        self.memory_mb = memory_mb
        self.cache_bytes = cache_bytes
        self.in_flight = 0
        self.replaced = 0
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._idle: FairQueue[_Worker] | None = None
        self._retired: dict[str, CacheStats] = {}  # the counters of replaced workers' caches
        self._all: set[_Worker] = set()
        self._starting: asyncio.Lock | None = None
        self._closed = False

    async def start(self) -> None:
        """Start every worker (the first start also starts the fork server: a second or two)."""
        await self._queue()

    async def _queue(self) -> FairQueue[_Worker]:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._idle is None:
                idle: FairQueue[_Worker] = FairQueue()
                for _ in range(self.workers):
                    idle.put(await self._spawn())
                self._idle = idle
            return self._idle

    @property
    def active(self) -> bool:
        return self._idle is not None and not self._closed

    async def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, self.memory_mb, self.cache_bytes), daemon=True
        )
        await asyncio.to_thread(process.start)
        child.close()
        worker = _Worker(process, parent)
        self._all.add(worker)
        return worker

    async def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` (whatever it is doing) and put a fresh one in its place."""
        self._all.discard(worker)
        self._retire_stats(worker.caches)
        if worker.process.is_alive():
            worker.process.kill()
        await asyncio.to_thread(worker.process.join, 5)
        worker.conn.close()
        self.replaced += 1
        if not self._closed and self._idle is not None:
            self._idle.put(await self._spawn())

    async def call(
        self, function: Callable[..., T], *args: Any, timeout: float, **kwargs: Any
    ) -> T:
        """Run ``function(*args, **kwargs)`` in a worker, killed past ``timeout`` seconds."""
        queue = await self._queue()
        worker = await self._take(queue, (function, args, kwargs))
        self.in_flight += 1
        try:
            status, value, worker.caches = await self._receive(worker, timeout)
        except BaseException:  # timed out, died, or the caller gave up: its state is unknown
            await asyncio.shield(self._replace(worker))
            raise
        finally:
            self.in_flight -= 1
        queue.put(worker)
        if status == "ok":
            result: T = value
            return result
        if isinstance(value, MemoryError):
            raise GradingResourceError("grading ran out of its memory allowance")
        if isinstance(value, VerifierError):
            raise value
        # A grader bug must still come back as a per-item error, with what went wrong.
        raise VerifierError(f"grading failed: {type(value).__name__}: {value}")

    async def _take(self, queue: FairQueue[_Worker], task: Any) -> _Worker:
        """An idle worker that has accepted ``task``; dead ones met on the way are replaced
        (one killed while idle has run nothing, so nothing is lost)."""
        while True:
            worker = await queue.get()
            try:
                if worker.process.is_alive():
                    worker.conn.send(task)
                    return worker
            except OSError:
                pass
            await asyncio.shield(self._replace(worker))

    async def _receive(self, worker: _Worker, timeout: float) -> tuple[str, Any, list[CacheStats]]:
        try:
            async with asyncio.timeout(timeout):
                await _readable(worker.conn)
            outcome: tuple[str, Any, list[CacheStats]] = worker.conn.recv()
            return outcome
        except TimeoutError as exc:
            raise GradingTimeoutError(
                f"grading took longer than {timeout:g} s; the worker was stopped"
            ) from exc
        except (EOFError, OSError) as exc:
            await asyncio.to_thread(worker.process.join, 1)
            raise WorkerCrashedError(
                f"the grading worker died (exit code {worker.process.exitcode}); it was replaced"
            ) from exc

    @property
    def waiting(self) -> int:
        """Calls waiting for a worker."""
        return 0 if self._idle is None else self._idle.waiting

    def cache_stats(self) -> list[CacheStats]:
        """The workers' caches, summed by name: bytes and entries of the live workers,
        counters since the pool started (replaced workers' included)."""
        totals = dict(self._retired)
        for worker in self._all:
            for stats in worker.caches:
                totals[stats.name] = _add(totals.get(stats.name), stats, held=True)
        return list(totals.values())

    def _retire_stats(self, caches: list[CacheStats]) -> None:
        for stats in caches:
            self._retired[stats.name] = _add(self._retired.get(stats.name), stats)

    def close(self) -> None:
        self._closed = True
        for worker in list(self._all):
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join(5)
            worker.conn.close()
        self._all.clear()


def _add(total: CacheStats | None, stats: CacheStats, *, held: bool = False) -> CacheStats:
    """``total`` plus ``stats``: the counters always, the bytes and entries held if ``held``."""
    base = total or CacheStats(stats.name, 0, 0, 0, 0, 0, 0, 0)
    return CacheStats(
        stats.name,
        base.bytes + (stats.bytes if held else 0),
        base.max_bytes + (stats.max_bytes if held else 0),
        base.entries + (stats.entries if held else 0),
        base.hits + stats.hits,
        base.misses + stats.misses,
        base.evictions + stats.evictions,
        base.refused + stats.refused,
    )


async def _readable(conn: Connection) -> None:
    """Wait until ``conn`` has data (or its other end closed) without blocking the loop."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
        # uvloop leaves a watched fd non-blocking: a message larger than the pipe's buffer
        # (a 200 KB answer) would then fail half-read, as if the worker had died.
        os.set_blocking(fd, True)


def worker_pids(pool: WorkerPool) -> list[int]:
    """The process ids of a pool's live workers (for operators and tests)."""
    return [w.process.pid for w in pool._all if w.process.pid is not None and w.process.is_alive()]
