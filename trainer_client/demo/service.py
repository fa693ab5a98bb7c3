"""Start ``verifier serve`` as a subprocess on a free loopback port, for the demo and tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx


class ServiceStartError(RuntimeError):
    """The reward service exited or did not become ready; the message ends with its log."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def local_service(*, workers: int = 1, ready_timeout_s: float = 60.0) -> Iterator[str]:
    """Run the service until the block ends; yield its base URL once ``/readyz`` answers 200."""
    port = _free_port()
    env = {**os.environ, "VERIFIER_WORKERS": str(workers), "VERIFIER_SANDBOX_BACKEND": "none"}
    command = [sys.executable, "-m", "verifier_service.cli", "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    # The log goes to a file, never an unread pipe, which would fill and stall the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            _wait_until_ready(process, url, log, ready_timeout_s)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(
    process: subprocess.Popen[bytes], url: str, log: IO[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise ServiceStartError(f"verifier serve exited: {_tail(log)}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise ServiceStartError(f"verifier serve not ready in {timeout_s:.0f} s: {_tail(log)}")
        time.sleep(0.1)


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]
