"""The real service over HTTP on loopback: batches, hostile input, concurrency, the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

THINK = "<think>" + "Let me compute this carefully. " * 40 + "</think>"


def _verify(url: str, items: list[dict[str, str]], timeout: float = 120) -> list[dict]:
    reply = httpx.post(f"{url}/v1/math/verify", json={"items": items}, timeout=timeout)
    assert reply.status_code == 200, reply.text
    results: list[dict] = reply.json()["results"]
    assert len(results) == len(items)
    return results


def test_e2e_grpo_group_graded_in_order(service_url: str) -> None:
    answers = ["42", "41", "42", "43", "42", "42", "40", "42"] * 2
    items = [{"response": f"{THINK} So \\boxed{{{a}}}.", "reference": "42"} for a in answers]
    results = _verify(service_url, items)
    assert [r["correct"] for r in results] == [a == "42" for a in answers]
    assert [r["extracted"] for r in results] == answers


PATHOLOGICAL = [
    "5^{5^{5^{5^{5}}}}",
    "10^{10^{10^{10}}}",
    "1000000!",
    "(x+1)^{100000}",
    "{" * 5000 + "1" + "}" * 5000,
    "9" * 100_000,
    "\\frac{" * 2000 + "1" + "}{2}" * 2000,
]


@pytest.mark.timeout(120)
def test_e2e_pathological_answers_end_within_limit_and_service_stays_healthy(
    service_url: str,
) -> None:
    limit_s = 2.0  # the fixture's VERIFIER_MATH_TIMEOUT_S
    for answer in PATHOLOGICAL:
        started = time.monotonic()
        (result,) = _verify(service_url, [{"response": f"\\boxed{{{answer}}}", "reference": "7"}])
        elapsed = time.monotonic() - started
        assert elapsed < limit_s + 1.5, f"{answer[:40]!r} took {elapsed:.1f} s"
        # Either an outcome saying why (wrong / refused) or a coded error: never a reward.
        assert result["correct"] is not True
        if result["error"] is not None:
            assert result["error"]["code"] in {"timeout", "resource_limit", "worker_crashed"}
        else:
            assert result["reason"]
    # The service still grades normally afterwards.
    (after,) = _verify(service_url, [{"response": "\\boxed{7}", "reference": "7"}])
    assert after["correct"] is True
    assert httpx.get(f"{service_url}/healthz").status_code == 200


def test_e2e_pathological_item_does_not_fail_its_batch(service_url: str) -> None:
    items = [
        {"response": "\\boxed{5^{5^{5^{5^{5}}}}}", "reference": "3"},
        {"response": "\\boxed{3}", "reference": "3"},
    ]
    results = _verify(service_url, items)
    assert results[1]["correct"] is True
    assert results[0]["correct"] is not True


@pytest.mark.timeout(120)
def test_e2e_concurrent_clients_get_their_own_answers(service_url: str) -> None:
    async def client(n: int, http: httpx.AsyncClient) -> None:
        items = [
            {"response": f"\\boxed{{{n + k}}}", "reference": str(n + (k % 2))} for k in range(20)
        ]
        reply = await http.post(f"{service_url}/v1/math/verify", json={"items": items})
        results = reply.json()["results"]
        assert [r["correct"] for r in results] == [k in (0, 1) for k in range(20)]

    async def main() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            await asyncio.gather(*(client(n * 100, http) for n in range(16)))

    asyncio.run(main())


def test_e2e_api_key_enforced_by_env(start_service) -> None:  # type: ignore[no-untyped-def]
    with start_service(workers="1", api_keys="secret-1") as url:
        body = {"items": [{"response": "\\boxed{1}", "reference": "1"}]}
        assert httpx.post(f"{url}/v1/math/verify", json=body).status_code == 401
        ok = httpx.post(
            f"{url}/v1/math/verify", json=body, headers={"Authorization": "Bearer secret-1"}
        )
        assert ok.status_code == 200
        assert ok.json()["results"][0]["correct"] is True


def _write_jsonl(path: Path, rows: list[object]) -> None:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n{broken json\n")


_GRADE = [sys.executable, "-m", "verifier_service.cli", "grade"]

CLI_ROWS = [
    {"id": "a", "response": "\\boxed{4}", "reference": "4"},
    {"id": "b", "response": "\\boxed{5}", "reference": "4"},
    {"id": "c", "response": "no answer at all", "reference": "4"},
    {"id": "d", "response": "\\boxed{1}"},
]


def _check_cli_output(out: Path, stderr: str) -> None:
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line.get("id") for line in lines] == ["a", "b", "c", "d", None]
    assert [line["correct"] for line in lines[:3]] == [True, False, False]
    assert lines[3]["error"]["code"] == "invalid_input"
    assert "reference" in lines[3]["error"]["message"]
    assert "not JSON" in lines[4]["error"]["message"]
    assert "grading summary" in stderr
    assert "accuracy" in stderr


def test_e2e_cli_grade_in_process(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_jsonl(source, CLI_ROWS)
    done = subprocess.run(
        [*_GRADE, str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"VERIFIER_WORKERS": "1", "PATH": "/usr/bin:/bin", "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    _check_cli_output(out, done.stderr)


def test_e2e_cli_grade_through_service(service_url: str, tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_jsonl(source, CLI_ROWS)
    done = subprocess.run(
        [*_GRADE, str(source), "-o", str(out), "--url", service_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    _check_cli_output(out, done.stderr)
