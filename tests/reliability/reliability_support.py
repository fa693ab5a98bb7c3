"""Helpers of the reliability tests: a real service with the Docker sandbox, a fake judge, load.

RELIABILITY_SCALE stretches every bounded number here (load duration, fuzz examples): 1 in
`make test`, larger in `make soak`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fake_openai import FakeOpenAI

from sandbox.backends.docker import LABEL, owner_identity

ROOT = Path(__file__).resolve().parents[2]
IMAGE_DIR = ROOT / "sandbox" / "image"
LOADGEN = Path(__file__).resolve().parent / "loadgen.py"
SCALE = float(os.environ.get("RELIABILITY_SCALE", "1"))
KEY = "reliability-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Service:
    """A running ``verifier serve`` process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {KEY}"}

    def post(self, path: str, items: list[dict[str, Any]], timeout: float = 120) -> list[Any]:
        reply = httpx.post(
            f"{self.url}{path}", json={"items": items}, headers=self.headers, timeout=timeout
        )
        assert reply.status_code == 200, reply.text
        results: list[Any] = reply.json()["results"]
        assert len(results) == len(items)
        return results

    def owner_label(self) -> str:
        """The owner label its sandbox containers carry."""
        return owner_identity(self.process.pid)

    def grading_workers(self) -> list[psutil.Process]:
        """The grading worker processes: children of the pool's fork server."""
        children = psutil.Process(self.process.pid).children()
        forkservers = [c for c in children if "forkserver" in " ".join(c.cmdline())]
        return [w for server in forkservers for w in server.children()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sandbox_containers(**labels: str) -> list[str]:
    """Ids of the sandbox containers (running or not) with these io.verifier.sandbox labels."""
    filters = [f"--filter=label={LABEL}.{key}={value}" for key, value in labels.items()]
    out = subprocess.run(
        ["docker", "ps", "-aq", f"--filter=label={LABEL}=1", *filters],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()


def ensure_docker() -> None:
    subprocess.run([str(IMAGE_DIR / "ensure_docker.sh")], check=True)


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Docker answers and the sandbox image exists (idempotent; minutes on a fresh host)."""
    ensure_docker()
    subprocess.run([str(IMAGE_DIR / "build_image.sh")], check=True, stdout=subprocess.DEVNULL)


def _wait_ready(service: Service, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"service exited: {service.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{service.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"service not ready in {deadline_s:.0f} s: {service.log.read_text()[-3000:]}"
    )


@contextmanager
def running_service(log_dir: Path, **settings: str) -> Iterator[Service]:
    """``verifier serve`` with API keys, the Docker sandbox and these ``VERIFIER_*`` settings.

    On exit it is stopped with SIGTERM (as an orchestrator does), must exit by itself within
    its drain time, and must leave no sandbox container behind.
    """
    port = free_port()
    environ = {
        **os.environ,
        "VERIFIER_API_KEYS": KEY,
        "VERIFIER_WORKERS": "2",
        "VERIFIER_SANDBOX_BACKEND": "docker",
        **{f"VERIFIER_{k.upper()}": v for k, v in settings.items()},
    }
    log = log_dir / f"service-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "verifier_service.cli", "serve", "--port", str(port)],
            env=environ,
            stdout=sink,
            stderr=sink,
        )
    service = Service(f"http://127.0.0.1:{port}", process, log)
    owner = ""
    try:
        _wait_ready(service, 90)
        owner = service.owner_label()
        yield service
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=45)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            process.wait()
            raise AssertionError(f"the service ignored SIGTERM: {log.read_text()[-3000:]}") from exc
    # uvicorn re-raises the signal once it has shut down cleanly: -SIGTERM is a clean exit.
    assert code in {0, -signal.SIGTERM}, log.read_text()[-3000:]
    assert "Application shutdown complete" in log.read_text()
    if owner:
        assert sandbox_containers(owner=owner) == [], "sandbox containers left after shutdown"


@pytest.fixture
def fake_judge() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    try:
        yield server
    finally:
        server.close()


@dataclass(frozen=True)
class LoadRun:
    """A load generator process started against a service."""

    process: subprocess.Popen[str]

    def result(self, timeout: float) -> dict[str, Any]:
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, err[-3000:]
        report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return report


def _start_load(
    service: Service, *, duration_s: float, clients: int = 64, mix: str = "math,math,format,code"
) -> LoadRun:
    command = [
        sys.executable,
        str(LOADGEN),
        *("--url", service.url, "--key", KEY, "--clients", str(clients)),
        *("--duration", str(duration_s), "--mix", mix),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return LoadRun(process)


@pytest.fixture
def start_load() -> Iterator[Callable[..., LoadRun]]:
    """Start the load generator as its own process (so it does not share the test's CPU time).

    Arguments: the Service, duration_s, clients (64), mix (kinds, comma-separated). A run the
    test did not collect (it failed first) is stopped at teardown.
    """
    runs: list[LoadRun] = []

    def start(service: Service, **options: Any) -> LoadRun:
        runs.append(_start_load(service, **options))
        return runs[-1]

    yield start
    for run in runs:
        if run.process.poll() is None:
            run.process.kill()
        run.process.communicate()


@pytest.fixture
def start_service(docker_ready: None, tmp_path: Path) -> Callable[..., Any]:
    """Start a service with settings; it is stopped and checked for leaks at the end."""

    def start(**settings: str) -> Any:
        return running_service(tmp_path, **settings)

    return start
