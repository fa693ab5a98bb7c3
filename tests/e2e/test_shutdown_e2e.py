"""Graceful shutdown: on SIGTERM the requests in flight finish, then the sandboxes go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
from service import free_port

from sandbox.backends.docker import LABEL, owner_identity

pytestmark = pytest.mark.e2e

SLOW = "import time\ntime.sleep(1.5)\nprint('done')\n"


def _containers_of(owner: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", f"--filter=label={LABEL}.owner={owner}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


@pytest.mark.timeout(120)
def test_shutdown_finishes_in_flight_requests_then_removes_sandboxes() -> None:
    port = free_port()
    env = {**os.environ, "VERIFIER_SANDBOX_BACKEND": "docker", "VERIFIER_WORKERS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "verifier_service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        owner = owner_identity(process.pid)
        assert _containers_of(owner), "the service runs its sandbox pool"
        reply: dict[str, Any] = {}

        def in_flight() -> None:
            item = {"language": "python", "code": SLOW, "tests": [{"expected_stdout": "done\n"}]}
            answer = httpx.post(f"{url}/v1/code/run", json={"items": [item]}, timeout=60)
            reply["status"] = answer.status_code
            reply["verdict"] = answer.json()["results"][0]["verdict"]

        thread = threading.Thread(target=in_flight)
        thread.start()
        time.sleep(0.5)  # the program is running in the sandbox now
        process.send_signal(signal.SIGTERM)
        thread.join(timeout=60)
        # uvicorn drains, shuts the app down, then re-raises the signal it caught.
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert reply == {"status": 200, "verdict": "AC"}
    assert _containers_of(owner) == []
