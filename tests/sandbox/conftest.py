"""Real sandboxes for the tests: Docker (brought up if missing) and the local backend.

Async backends run on one event loop in a background thread, so plain test functions can call
them and the warm pools live for the whole session.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sandbox import Limits, Program, RunResult, Test
from sandbox.backends.docker import LABEL, DockerBackend, DockerSettings
from sandbox.backends.local import LocalBackend

IMAGE_DIR = Path(__file__).resolve().parents[2] / "sandbox" / "image"
T = TypeVar("T")


class LoopThread:
    """An event loop in a thread; `call` runs a coroutine there and waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 240) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Runner:
    """A started backend, called synchronously."""

    def __init__(self, loop: LoopThread, backend: DockerBackend | LocalBackend) -> None:
        self.loop = loop
        self.backend = backend

    def run(
        self,
        language: str,
        code: str,
        tests: Sequence[Test],
        limits: Limits | None = None,
        **options: Any,
    ) -> RunResult:
        coro = self.backend.run(Program(language, code), tests, limits or Limits(), **options)
        return self.loop.call(coro)


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.stop()


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Docker answers and the sandbox image exists (both idempotent; minutes on a fresh host)."""
    subprocess.run([str(IMAGE_DIR / "ensure_docker.sh")], check=True)
    subprocess.run([str(IMAGE_DIR / "build_image.sh")], check=True, stdout=subprocess.DEVNULL)


def _sandbox_containers(labels: dict[str, str]) -> list[str]:
    filters = [f"--filter=label={key}={value}" for key, value in labels.items()]
    out = subprocess.run(
        ["docker", "ps", "-aq", *filters], check=True, capture_output=True, text=True
    ).stdout
    return out.split()


def pool_containers(backend: DockerBackend) -> list[str]:
    return _sandbox_containers({f"{LABEL}.pool": backend.labels[f"{LABEL}.pool"]})


@pytest.fixture(scope="session")
def docker(docker_ready: None, loop_thread: LoopThread) -> Iterator[Runner]:
    backend = DockerBackend(DockerSettings(pool_size=2))
    loop_thread.call(backend.start())
    yield Runner(loop_thread, backend)
    loop_thread.call(backend.close())
    assert pool_containers(backend) == []


@pytest.fixture(scope="session")
def docker_single(docker_ready: None, loop_thread: LoopThread) -> Iterator[Runner]:
    """A pool of one container: a probe run after a hostile one sees what it left behind."""
    backend = DockerBackend(DockerSettings(pool_size=1))
    loop_thread.call(backend.start())
    yield Runner(loop_thread, backend)
    loop_thread.call(backend.close())
    assert pool_containers(backend) == []


@pytest.fixture(scope="session")
def local(loop_thread: LoopThread) -> Iterator[Runner]:
    backend = LocalBackend(pool_size=1)
    loop_thread.call(backend.start())
    yield Runner(loop_thread, backend)
    loop_thread.call(backend.close())
