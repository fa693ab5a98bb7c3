"""API keys (inline and rotated from a file), refusing open binds, rate limits, backpressure,
request ids and structured logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.auth import ApiKeys
from verifier_service.logs import JsonFormatter
from verifier_service.settings import Settings

BODY = {"items": [{"response": "\\boxed{2}", "reference": "2"}]}


def _settings(**overrides: object) -> Settings:
    return Settings(workers=1, sandbox_backend="none", **overrides)  # type: ignore[arg-type]


def test_api_keys_file_rotates_without_restart(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("old-key\n# a comment\n\n")
    with TestClient(create_app(_settings(api_keys_file=keys_file))) as client:
        auth = {"Authorization": "Bearer old-key"}
        assert client.post("/v1/math/verify", json=BODY, headers=auth).status_code == 200
        keys_file.write_text("new-key\n")
        os.utime(keys_file, ns=(time.time_ns() + 10**9,) * 2)  # a new mtime, even on coarse clocks
        assert client.post("/v1/math/verify", json=BODY, headers=auth).status_code == 401
        new = {"Authorization": "Bearer new-key"}
        assert client.post("/v1/math/verify", json=BODY, headers=new).status_code == 200


def test_api_keys_inline_and_file_both_count(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("from-file\n")
    keys = ApiKeys("inline-1, inline-2", keys_file)
    assert keys.required
    assert all(keys.accepts(k) for k in ("inline-1", "inline-2", "from-file"))
    assert not any(keys.accepts(k) for k in ("", "inline", "from-file\n", "INLINE-1"))


def test_api_keys_none_configured_means_open() -> None:
    keys = ApiKeys("", None)
    assert not keys.required


def test_api_keys_missing_file_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        ApiKeys("", tmp_path / "absent")


def test_api_unauthorized_is_counted_and_key_never_echoed() -> None:
    with TestClient(create_app(_settings(api_keys="right"))) as client:
        reply = client.post("/v1/math/verify", json=BODY, headers={"Authorization": "Bearer wr0ng"})
        assert reply.status_code == 401
        assert "wr0ng" not in reply.text
        metrics = client.get("/metrics", headers={"Authorization": "Bearer right"}).text
        assert 'verifier_rejections_total{reason="unauthorized"} 1.0' in metrics


def _serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier_service.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "VERIFIER_SANDBOX_BACKEND": "none", **env},
    )


def test_serve_refuses_open_bind_without_keys() -> None:
    done = _serve("--host", "0.0.0.0", "--port", "1", env={"VERIFIER_API_KEYS": ""})
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 without API keys" in done.stderr


def test_rate_limit_answers_429_with_retry_after() -> None:
    with TestClient(create_app(_settings(rate_limit_per_s=0.5, rate_limit_burst=2))) as client:
        codes = [client.post("/v1/math/verify", json=BODY).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.post("/v1/math/verify", json=BODY)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        # Probes are never limited.
        assert client.get("/healthz").status_code == 200
        assert 'reason="rate_limited"' in client.get("/metrics").text


def test_full_queue_answers_429_and_memory_stays_bounded() -> None:
    with TestClient(create_app(_settings(max_queued_items=3))) as client:
        grader = client.app.state.grader  # type: ignore[attr-defined]
        # Three items are being graded (held here); one more does not fit.
        with grader.admit(3):
            rejected = client.post("/v1/math/verify", json=BODY)
        accepted = client.post("/v1/math/verify", json=BODY)
        metrics = client.get("/metrics").text
    assert rejected.status_code == 429
    assert rejected.headers["retry-after"] == "1"
    assert "VERIFIER_MAX_QUEUED_ITEMS" in rejected.json()["detail"]
    assert accepted.status_code == 200
    assert 'verifier_rejections_total{reason="overloaded"} 1.0' in metrics


def test_full_queue_admits_a_request_when_nothing_else_runs() -> None:
    # A request larger than the queue still runs when it is alone, or it could never run.
    with TestClient(create_app(_settings(max_queued_items=1))) as client:
        items = [{"response": "\\boxed{2}", "reference": "2"}] * 3
        reply = client.post("/v1/math/verify", json={"items": items})
    assert reply.status_code == 200


@pytest.fixture
def captured_logs() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    handler = Keep()
    logger = logging.getLogger("verifier.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)


def test_request_id_returned_and_logged_as_json(captured_logs: list[str]) -> None:
    with TestClient(create_app(_settings(api_keys="secret-key"))) as client:
        reply = client.post(
            "/v1/math/verify",
            json=BODY,
            headers={"X-Request-ID": "trace-42", "Authorization": "Bearer secret-key"},
        )
        made = client.get("/healthz").headers["x-request-id"]
    assert reply.headers["x-request-id"] == "trace-42"
    assert len(made) == 32
    entries = [json.loads(line) for line in captured_logs]
    mine = next(e for e in entries if e.get("request_id") == "trace-42")
    assert mine["path"] == "/v1/math/verify"
    assert mine["status"] == 200
    assert mine["duration_ms"] >= 0
    assert all("secret-key" not in line for line in captured_logs)
