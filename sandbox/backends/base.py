"""What every backend shares: the frame protocol, a worker's contract and the warm worker pool.

A worker is one warm runner (a container, or a namespaced process) that serves one submission
at a time over a byte stream of length-prefixed JSON frames. The pool keeps `size` of them
ready, hands one to each job, and replaces any worker that broke or could not be cleaned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from sandbox.errors import SandboxError
from sandbox.jobs import Collector, Job, build_job
from sandbox.types import Limits, Program, RunResult, Test, Verdict

_HEADER = struct.Struct(">I")
logger = logging.getLogger(__name__)


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=True).encode()
    return _HEADER.pack(len(body)) + body


class FrameBuffer:
    """Splits a byte stream into frames."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes) -> None:
        self._data += data

    def next_frame(self) -> dict[str, Any] | None:
        if len(self._data) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self._data)
        if len(self._data) < _HEADER.size + size:
            return None
        body = bytes(self._data[_HEADER.size : _HEADER.size + size])
        del self._data[: _HEADER.size + size]
        message = json.loads(body)
        if not isinstance(message, dict):
            raise SandboxError("runner sent a frame that is not an object")
        return message


class Worker(Protocol):
    """One warm runner."""

    async def send(self, message: dict[str, Any]) -> None: ...

    async def receive(self) -> dict[str, Any]:
        """The next frame; SandboxError when the stream ended."""
        ...

    async def prepare(self, job: Job) -> None:
        """Adjust the worker for a job (e.g. its memory limit) before it is sent."""
        ...

    async def destroy(self) -> None: ...


class BrokenWorkerError(SandboxError):
    """The worker's stream broke, or it ran past the job's budget; it must be replaced."""


async def drive_job(worker: Worker, job: Job) -> tuple[RunResult, bool]:
    """Run a job on a worker; the result and whether the worker may serve again."""
    collector = Collector(job)
    await worker.prepare(job)
    await worker.send(job.payload)
    stop_sent = False
    try:
        async with asyncio.timeout(job.budget_s):
            while not collector.finished:
                if collector.feed(await worker.receive()) and not stop_sent:
                    await worker.send({"type": "stop"})
                    stop_sent = True
    except TimeoutError as exc:
        raise BrokenWorkerError(f"runner did not finish within {job.budget_s:.0f}s") from exc
    if not collector.clean:
        logger.info("sandbox worker left unclean (%s): replacing it", collector.left or "files")
    return collector.result(), collector.clean and not collector.fault


class WorkerPool:
    """A fixed number of warm workers; broken or unclean ones are replaced in the background.

    When workers cannot be made (the Docker engine is down), replacement keeps trying with a
    growing pause, and a job that finds no worker for ``starved_after_s`` while none is busy
    gets an SE result instead of waiting forever.
    """

    def __init__(
        self,
        create: Callable[[], Awaitable[Worker]],
        *,
        size: int,
        starved_after_s: float = 30.0,
    ) -> None:
        if size < 1:
            raise ValueError("pool size must be at least 1")
        self._create = create
        self._size = size
        self.starved_after_s = starved_after_s
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._busy: set[Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._failures = 0
        self._last_error = ""

    async def start(self) -> None:
        """Create every worker; SandboxError if none can be made."""
        results = await asyncio.gather(
            *(self._create() for _ in range(self._size)), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        for result in results:
            if not isinstance(result, BaseException):
                self._idle.put_nowait(result)
        if errors:
            for worker in list(self._drain_idle()):
                await worker.destroy()
            raise SandboxError(f"cannot start sandbox workers: {errors[0]}") from errors[0]

    def stats(self) -> dict[str, int | str]:
        """Workers wanted, idle, busy and being replaced, and the last failure to make one."""
        return {
            "size": self._size,
            "idle": self._idle.qsize(),
            "busy": len(self._busy),
            "replacing": len(self._tasks),
            "last_error": self._last_error,
        }

    @property
    def serving(self) -> bool:
        """Whether any worker exists to take a job now or soon."""
        return self._idle.qsize() + len(self._busy) > 0

    def _drain_idle(self) -> list[Worker]:
        workers = []
        while not self._idle.empty():
            workers.append(self._idle.get_nowait())
        return workers

    async def run_submission(
        self,
        program: Program,
        tests: Sequence[Test],
        limits: Limits,
        *,
        stop_on_first_failure: bool,
        float_tolerance: float | None,
        address_space: bool,
    ) -> RunResult:
        """Build the runner's job for a submission and run it.

        InvalidSubmissionError when the submission is unusable.
        """
        job = build_job(
            program,
            tests,
            limits,
            stop_on_first_failure=stop_on_first_failure,
            float_tolerance=float_tolerance,
            address_space=address_space,
        )
        return await self.run(job)

    async def run(self, job: Job) -> RunResult:
        """Run a job, retrying once on a fresh worker if the first one broke."""
        for attempt in range(2):
            try:
                worker = await self._acquire()
            except SandboxError as exc:
                return RunResult(Verdict.SE, 0, len(job.tests), reason=str(exc))
            self._busy.add(worker)
            try:
                result, reusable = await drive_job(worker, job)
            except (SandboxError, OSError, ValueError) as exc:
                logger.warning("sandbox worker broke (attempt %d): %s", attempt + 1, exc)
                self._retire(worker)
                if attempt == 1:
                    return RunResult(Verdict.SE, 0, len(job.tests), reason=str(exc))
                continue
            except BaseException:  # cancelled mid-job: the worker's state is unknown
                self._retire(worker)
                raise
            if reusable:
                self._busy.discard(worker)
                self._idle.put_nowait(worker)
            else:
                self._retire(worker)
            if result.verdict is not Verdict.SE or attempt == 1:
                return result
        raise AssertionError("unreachable")

    async def _acquire(self) -> Worker:
        """An idle worker; SandboxError when none came for a while and none is busy."""
        waited = 0.0
        step = min(5.0, self.starved_after_s)
        while True:
            try:
                async with asyncio.timeout(step):
                    return await self._idle.get()
            except TimeoutError:
                waited += step
                if not self._busy and self._failures and waited >= self.starved_after_s:
                    raise SandboxError(
                        f"no sandbox worker could be made for {waited:.0f}s: {self._last_error}"
                    ) from None

    def _retire(self, worker: Worker) -> None:
        self._busy.discard(worker)
        task = asyncio.get_running_loop().create_task(self._replace(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _replace(self, worker: Worker) -> None:
        try:
            await worker.destroy()
        except Exception as exc:  # the engine may be down: making a new one matters more
            logger.warning("could not destroy a broken sandbox worker: %r", exc)
        while not self._closed:
            try:
                fresh = await self._create()
            except Exception as exc:  # engine down or restarting: keep trying, slower
                self._failures += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
                logger.error("cannot replace a sandbox worker: %s", self._last_error)
                await asyncio.sleep(min(10.0, 0.25 * 2 ** min(self._failures, 6)))
                continue
            self._failures = 0
            self._last_error = ""
            if self._closed:
                await fresh.destroy()
            else:
                self._idle.put_nowait(fresh)
            return

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        workers = self._drain_idle() + list(self._busy)
        self._busy.clear()
        await asyncio.gather(*(worker.destroy() for worker in workers), return_exceptions=True)
