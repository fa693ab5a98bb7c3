"""``verifier serve --ray``: one command starts a local Ray instance, serves, and stops clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest
from ray_support import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "verifier serve --ray exited early"
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} never became ready")


def test_serve_ray_starts_local_ray_serves_and_stops_clean() -> None:
    port = free_port()
    env = {**os.environ, "VERIFIER_WORKERS": "1", "VERIFIER_SANDBOX_BACKEND": "none"}
    command = [sys.executable, "-m", "verifier_service.cli", "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--replicas", "1", "--ray"], env=env)
    ray_processes: list[psutil.Process] = []
    try:
        _wait_ready(f"http://127.0.0.1:{port}", process, timeout_s=120)
        ray_processes = psutil.Process(process.pid).children(recursive=True)
        reply = httpx.post(
            f"http://127.0.0.1:{port}/v1/math/verify",
            json={"items": [{"response": "\\boxed{\\frac12}", "reference": "0.5"}]},
            timeout=30,
        )
        assert reply.json()["results"][0]["correct"] is True
        assert reply.headers["x-verifier-replica"]

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        _, alive = psutil.wait_procs(ray_processes, timeout=30)
        for leftover in alive:
            leftover.kill()
    assert ray_processes  # Ray ran under the command
    assert not alive  # and went with it
