"""Grading worker processes with a hard wall-clock limit and a memory cap per item.

Grading symbolic math can run away (a tower of powers, a huge factorial) and no timeout that
lives inside the grading process is reliable: ``signal.alarm`` only works in the main thread,
and C code inside sympy/gmpy ignores it. So grading runs in a pebble ``ProcessPool``: a worker
that overruns its item's limit is killed and replaced, and only that item fails.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import resource
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessFuture, ProcessPool

from verifier_service.errors import (
    GradingResourceError,
    GradingTimeoutError,
    VerifierError,
    WorkerCrashedError,
)

T = TypeVar("T")

# Imported once by the fork server, so a worker (also the replacement of a killed one) starts
# in milliseconds with sympy and the LaTeX parser imported and warm, not in a second or two.
_PRELOAD = ["verifier_service.warmup"]


def _noop() -> None:
    return None


def _init_worker(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class WorkerPool:
    """A pool of killable grading processes.

    ``call`` runs a picklable function in a worker and converts every way it can go wrong
    into a ``VerifierError`` with a code: the caller never sees a pebble or pickling error.
    """

    def __init__(self, *, workers: int, memory_mb: int) -> None:
        self.workers = workers
        self.memory_mb = memory_mb
        self._pool = self._new_pool()
        self.in_flight = 0
        self.rebuilds = 0

    def _new_pool(self) -> ProcessPool:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return ProcessPool(
            max_workers=self.workers,
            initializer=_init_worker,
            initargs=(self.memory_mb,),
            context=context,
        )

    def _schedule(
        self, function: Callable[..., T], args: Any, kwargs: Any, timeout: float
    ) -> ProcessFuture[T]:
        try:
            return self._pool.schedule(function, args=args, kwargs=kwargs, timeout=timeout)
        except RuntimeError:
            # pebble marks the whole pool broken when a worker dies while it runs no task (the
            # OOM killer, a stray SIGKILL) and refuses work from then on: start a new pool.
            self._rebuild()
            return self._pool.schedule(function, args=args, kwargs=kwargs, timeout=timeout)

    def _rebuild(self) -> None:
        broken, self._pool = self._pool, self._new_pool()
        self.rebuilds += 1
        broken.stop()

    async def start(self) -> None:
        """Start the workers now (pebble starts them lazily) so no request pays for it."""
        await self.call(_noop, timeout=120)

    @property
    def active(self) -> bool:
        return bool(self._pool.active)

    async def call(
        self, function: Callable[..., T], *args: Any, timeout: float, **kwargs: Any
    ) -> T:
        """Run ``function(*args, **kwargs)`` in a worker, killed past ``timeout`` seconds.

        Grading functions are pure, so an item caught in a pool that broke under it (another
        worker died while idle) is run once more on the restarted pool.
        """
        self.in_flight += 1
        try:
            for attempt in range(2):
                pool = self._pool
                future = self._schedule(function, args, kwargs, timeout)
                try:
                    return await asyncio.wrap_future(future)
                except BrokenProcessPool as exc:
                    if pool is self._pool:  # the first item to see it restarts the pool
                        self._rebuild()
                    if attempt == 1:
                        raise WorkerCrashedError(
                            "grading workers kept dying; the pool was restarted"
                        ) from exc
            raise AssertionError("unreachable: the loop returns or raises")
        except concurrent.futures.TimeoutError as exc:
            raise GradingTimeoutError(
                f"grading took longer than {timeout:g} s; the worker was stopped"
            ) from exc
        except MemoryError as exc:
            raise GradingResourceError("grading ran out of its memory allowance") from exc
        except ProcessExpired as exc:
            raise WorkerCrashedError(
                f"the grading worker died (exit code {exc.exitcode}); it was replaced"
            ) from exc
        except VerifierError:
            raise
        except Exception as exc:  # a grader bug must still come back as a per-item error
            raise VerifierError(f"grading failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.in_flight -= 1

    def close(self) -> None:
        self._pool.stop()
        self._pool.join(timeout=5)
