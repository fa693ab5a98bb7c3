"""A real service for tests: ``verifier serve`` as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_service(**env: str) -> Iterator[str]:
    """Start the service with ``VERIFIER_*`` overrides; yield its base URL; stop it."""
    port = free_port()
    environ = {**os.environ, **{f"VERIFIER_{k.upper()}": v for k, v in env.items()}}
    # The log goes to a file, never an unread pipe, which would fill and stall the server.
    with tempfile.TemporaryFile() as log:
        yield from _serve(port, environ, log)


def _serve(port: int, environ: dict[str, str], log: IO[bytes]) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "verifier_service.cli", "serve", "--port", str(port)],
        env=environ,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"service exited: {log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("service did not become ready in 60 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rewards_requests(url: str) -> int:
    """How many ``/v1/rewards`` calls the service has answered, from its metrics."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    pattern = r'verifier_requests_total\{endpoint="/v1/rewards",status="200"\} (\S+)'
    match = re.search(pattern, text)
    return 0 if match is None else int(float(match.group(1)))
