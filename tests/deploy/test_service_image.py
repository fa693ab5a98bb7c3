"""The service image, built offline and run: health, auth, grading, the sandbox, non-root."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "deploy" / "build_image.sh"
SANDBOX_IMAGE_DIR = ROOT / "sandbox" / "image"
KEY = "image-test-" + uuid.uuid4().hex
SANDBOX_LABEL = "io.verifier.sandbox"


@dataclass(frozen=True)
class RunningImage:
    """A started service container and how to reach it."""

    name: str
    url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True)


@pytest.fixture(scope="module")
def image() -> str:
    """The image of this tree: built once, then reused while the sources do not change."""
    subprocess.run([str(SANDBOX_IMAGE_DIR / "ensure_docker.sh")], check=True)
    subprocess.run([str(SANDBOX_IMAGE_DIR / "build_image.sh")], check=True, capture_output=True)
    subprocess.run([str(BUILD)], check=True, capture_output=True, timeout=900)
    tag = subprocess.run([str(BUILD), "--print-tag"], check=True, capture_output=True, text=True)
    return tag.stdout.strip()


def _run_args(name: str, port: int, keys: Path) -> list[str]:
    # No bridge network on this host (no published ports): the container shares the host's
    # network and binds loopback only. Its own hostname keeps its sandbox labels apart.
    docker_gid = os.stat("/var/run/docker.sock").st_gid
    return [
        *("run", "-d", "--name", name, "--hostname", name, "--network", "host"),
        *("-e", "VERIFIER_HOST=127.0.0.1", "-e", f"VERIFIER_PORT={port}"),
        *("-e", "VERIFIER_WORKERS=1", "-e", "VERIFIER_SANDBOX_BACKEND=docker"),
        *("-e", "VERIFIER_API_KEYS_FILE=/run/keys/api-keys"),
        *("-v", f"{keys}:/run/keys/api-keys:ro"),
        *("-v", "/var/run/docker.sock:/var/run/docker.sock", "--group-add", str(docker_gid)),
        *("--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"),
        *("--security-opt", "no-new-privileges", "--health-interval", "1s"),
    ]


def _wait_ready(url: str, name: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        state = _docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip()
        if state != "true":
            logs = _docker("logs", name, check=False)
            raise RuntimeError(f"container exited: {logs.stdout[-2000:]}{logs.stderr[-2000:]}")
        time.sleep(0.5)
    raise RuntimeError("the service in the container was not ready in 120 s")


@pytest.fixture(scope="module")
def running(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningImage]:
    keys = tmp_path_factory.mktemp("keys") / "api-keys"
    keys.write_text(f"{KEY}\n")
    keys.chmod(0o644)
    name = f"verifier-image-test-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    _docker(*_run_args(name, port, keys), image)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, name)
        yield RunningImage(name, url)
    finally:
        _docker("rm", "-f", name, check=False)


def _sandboxes_of(hostname: str) -> list[str]:
    out = _docker("ps", "-aq", f"--filter=label={SANDBOX_LABEL}.host={hostname}", check=True).stdout
    return out.split()


def test_image_is_reused_by_recipe_hash(image: str) -> None:
    again = subprocess.run([str(BUILD)], check=True, capture_output=True, text=True, timeout=120)
    assert f"{image} present" in again.stdout
    config = json.loads(_docker("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "10000:10000"
    assert "/opt/verifier/healthcheck.py" in config["Healthcheck"]["Test"]


def test_image_grades_math_with_the_api_key_only(running: RunningImage) -> None:
    body = {"items": [{"response": "so \\boxed{\\frac{1}{2}}", "reference": "0.5"}]}
    anonymous = httpx.post(f"{running.url}/v1/math/verify", json=body, timeout=30)
    assert anonymous.status_code == 401
    headers = {"Authorization": f"Bearer {KEY}"}
    reply = httpx.post(f"{running.url}/v1/math/verify", json=body, headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    (result,) = reply.json()["results"]
    assert result["correct"] is True


def test_image_runs_code_in_the_host_sandbox_through_the_socket(running: RunningImage) -> None:
    item = {
        "language": "python",
        "code": "print(sum(map(int, input().split())))",
        "tests": [{"stdin": "1 2\n", "expected_stdout": "3\n"}],
    }
    reply = httpx.post(
        f"{running.url}/v1/code/run",
        json={"items": [item]},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["results"][0]["verdict"] == "AC"
    assert _sandboxes_of(running.name), "the sandbox containers carry the container's hostname"


def test_image_service_runs_as_non_root_and_becomes_healthy(running: RunningImage) -> None:
    uid = _docker("exec", running.name, "id", "-u").stdout.strip()
    assert uid == "10000"
    status = _docker("exec", running.name, "cat", "/proc/1/status").stdout
    real_uid = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1]
    assert real_uid == "10000"
    deadline = time.monotonic() + 30
    health = ""
    while time.monotonic() < deadline and health != "healthy":
        health = _docker("inspect", "-f", "{{.State.Health.Status}}", running.name).stdout.strip()
        time.sleep(0.5)
    assert health == "healthy"


def test_image_stops_gracefully_and_removes_its_sandboxes(running: RunningImage) -> None:
    assert _sandboxes_of(running.name)
    _docker("stop", "-t", "45", running.name)
    exit_code = _docker("inspect", "-f", "{{.State.ExitCode}}", running.name).stdout.strip()
    assert exit_code == "0"
    assert _sandboxes_of(running.name) == []


def test_image_refuses_to_start_without_api_keys(image: str) -> None:
    started = _docker("run", "--rm", "--network", "none", image, check=False)
    assert started.returncode == 64
    assert "API keys are required" in started.stderr
