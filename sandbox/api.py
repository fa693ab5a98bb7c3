"""The sandbox's front: pick a backend, run submissions on it, close it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Literal, Protocol

from sandbox.types import Limits, Program, RunResult, Test

BackendName = Literal["auto", "docker", "local"]


class Backend(Protocol):
    """What the sandbox needs of a backend (DockerBackend, LocalBackend)."""

    name: str

    async def start(self) -> None: ...

    async def run(
        self,
        program: Program,
        tests: Sequence[Test],
        limits: Limits,
        *,
        stop_on_first_failure: bool = False,
        float_tolerance: float | None = None,
    ) -> RunResult: ...

    async def close(self) -> None: ...


async def _docker_reachable() -> bool:
    from sandbox.backends.engine import DockerEngine

    engine = DockerEngine()
    try:
        return await engine.ping()
    finally:
        await engine.close()


async def create_backend(name: BackendName = "auto") -> Backend:
    """A started backend: docker whenever a daemon answers (for "auto"), else local."""
    if name == "docker" or (name == "auto" and await _docker_reachable()):
        from sandbox.backends.docker import DockerBackend

        backend: Backend = DockerBackend()
    else:
        from sandbox.backends.local import LocalBackend

        backend = LocalBackend()
    await backend.start()
    return backend


class Sandbox:
    """An async context manager around one started backend."""

    def __init__(self, backend: Backend | BackendName = "auto") -> None:
        self._choice = backend
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError("the sandbox is not started: use `async with Sandbox()`")
        return self._backend

    async def start(self) -> None:
        if isinstance(self._choice, str):
            self._backend = await create_backend(self._choice)
        else:
            self._backend = self._choice
            await self._backend.start()

    async def run(
        self,
        program: Program,
        tests: Sequence[Test],
        limits: Limits | None = None,
        *,
        stop_on_first_failure: bool = False,
        float_tolerance: float | None = None,
    ) -> RunResult:
        """Compile once, run every test under the limits, judge each one."""
        return await self.backend.run(
            program,
            tests,
            limits or Limits(),
            stop_on_first_failure=stop_on_first_failure,
            float_tolerance=float_tolerance,
        )

    async def close(self) -> None:
        if self._backend is not None:
            await self._backend.close()
            self._backend = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def run_sync(
    program: Program,
    tests: Sequence[Test],
    limits: Limits | None = None,
    *,
    backend: BackendName = "auto",
    stop_on_first_failure: bool = False,
    float_tolerance: float | None = None,
) -> RunResult:
    """Run one submission from synchronous code (starts and closes a sandbox each call)."""

    async def _run() -> RunResult:
        async with Sandbox(backend) as box:
            return await box.run(
                program,
                tests,
                limits,
                stop_on_first_failure=stop_on_first_failure,
                float_tolerance=float_tolerance,
            )

    return asyncio.run(_run())
