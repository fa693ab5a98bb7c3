"""The online audit on the real service: a second verifier finds what the rules miss, and can
never change or slow a response, whatever it does."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_openai import FakeOpenAI, FakeReply, user_message
from service import running_service

from verifier_service.golden import load_golden_file

pytestmark = pytest.mark.e2e

THINK = "<think>Let me work this out step by step and check it twice.</think>"
# The rules read a final answer in a box; "one half" in words is a class they miss.
CLEAN = [{"response": f"{THINK} So \\boxed{{7}}.", "reference": "7"}] * 20
IN_WORDS = [
    {"response": f"{THINK} The answer is one half (case {i}).", "reference": "\\frac{1}{2}"}
    for i in range(10)
]
WRONG = [{"response": f"{THINK} So \\boxed{{{8 + i}}}.", "reference": "7"} for i in range(10)]


def _judge_accepts_words(request: dict[str, Any]) -> FakeReply:
    accepted = "one half" in user_message(request)
    return FakeReply(content=f"Final Decision: {'Yes' if accepted else 'No'}")


def _audit(url: str, settled: int, timeout: float = 90) -> dict[str, Any]:
    """/v1/audit once ``settled`` math items have an outcome or an error."""
    deadline = time.monotonic() + timeout
    while True:
        report: dict[str, Any] = httpx.get(f"{url}/v1/audit", timeout=10).json()
        math = report["components"].get("math", {})
        done = math.get("audited", 0) + sum(math.get("errors", {}).values())
        if done >= settled or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def _metric(url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(_judge_accepts_words)
    yield server
    server.close()


def _judged_service(judge: FakeOpenAI, **env: str) -> Any:
    return running_service(
        workers="1",
        sandbox_backend="none",
        judge_backend="openai",
        judge_base_url=f"{judge.base_url}/v1",
        judge_model="fake-judge",
        judge_max_retries="0",
        **env,
    )


def test_e2e_audit_finds_the_class_the_rules_miss(judge: FakeOpenAI, tmp_path: Path) -> None:
    log = tmp_path / "disagreements.jsonl"
    with _judged_service(judge, audit_rate="1", audit_log=str(log)) as url:
        items = CLEAN + IN_WORDS + WRONG
        reply = httpx.post(f"{url}/v1/math/verify", json={"items": items}, timeout=60)
        results = reply.json()["results"]
        # The audit observes: the rules' verdicts are what they are without it.
        assert [r["correct"] for r in results] == [True] * 20 + [False] * 20
        report = _audit(url, settled=len(items))
        math = report["components"]["math"]
        assert math["audited"] == 40, report
        assert math["comparisons"]["judge"]["rules_reject_judge_accepts"] == 10
        assert math["comparisons"]["judge"]["agree"] == 10  # the wrong answers
        assert math["comparisons"]["math_verify"]["agree"] == 40
        fn = math["false_negative_rate"]
        assert (fn["hits"], fn["n"], fn["estimate"]) == (10, 20, 0.5)
        assert fn["low"] < 0.5 < fn["high"] and fn["low"] > 0.25
        assert math["false_positive_rate"]["hits"] == 0
        counted = _metric(
            url, "verifier_audit_comparisons_total", outcome="rules_reject_judge_accepts"
        )
        assert counted == 10
        assert _metric(url, "verifier_audit_estimated_rate", kind="false_negative") == 0.5
        # Only the clean items never reached the judge: it rules where the rules reject.
        assert not any("\\boxed{7}" in user_message(r) for r in judge.requests)

    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rows) == 10
    assert all("one half" in row["response"] for row in rows)
    assert all(row["audit"]["judge"] == "correct" for row in rows)
    assert all(row["audit"]["rules"] == "incorrect" for row in rows)
    # The log is a golden file waiting for its expectations.
    assert len(load_golden_file(log, require_expect=False).cases) == 10


def test_e2e_audit_log_becomes_golden_cases(judge: FakeOpenAI, tmp_path: Path) -> None:
    log = tmp_path / "disagreements.jsonl"
    with _judged_service(judge, audit_rate="1", audit_log=str(log)) as url:
        httpx.post(f"{url}/v1/math/verify", json={"items": IN_WORDS[:3]}, timeout=60)
        _audit(url, settled=3)
        review = tmp_path / "review.jsonl"  # the live log keeps growing: review a copy
        review.write_bytes(log.read_bytes())
        check = [sys.executable, "-m", "verifier_service.cli", "check", str(review)]
        updated = subprocess.run([*check, "--url", url, "--update"], capture_output=True)
        assert updated.returncode == 0, updated.stdout + updated.stderr
    rows = [json.loads(line) for line in review.read_text().splitlines()]
    assert [row["expect"] for row in rows] == [{"correct": False}] * 3


def test_e2e_audit_samples_rewards_and_uses_the_prompt(judge: FakeOpenAI) -> None:
    with _judged_service(judge, audit_rate="0") as url:
        item = {
            "prompt": "How much is a half of one? (prompt marker)",
            "response": IN_WORDS[0]["response"],
            "reference": "\\frac{1}{2}",
            "task": "math",
        }
        body = {"items": [item], "audit_rate": 1.0}
        reply = httpx.post(f"{url}/v1/rewards", json=body, timeout=60)
        assert reply.json()["results"][0]["components"]["accuracy"] == 0.0
        report = _audit(url, settled=1)
        assert report["components"]["math"]["comparisons"]["judge"] == {
            "rules_reject_judge_accepts": 1
        }
        assert any("(prompt marker)" in user_message(r) for r in judge.requests)
        # Without the request's rate, the service's own (0) holds: nothing more is sampled.
        httpx.post(f"{url}/v1/rewards", json={"items": [item]}, timeout=60)
        assert _metric(url, "verifier_audit_sampled_total") == 1


def _hanging_or_failing(request: dict[str, Any]) -> FakeReply:
    if "one half" in user_message(request):
        return FakeReply(delay_s=60)  # hangs past the audit's budget
    return FakeReply(status=500)


# Math-Verify hangs on towers of powers; the rules refuse them before parsing.
TOWER = {"response": f"{THINK} \\boxed{{5^{{5^{{5^{{5^{{5}}}}}}}}}}", "reference": "3"}


def test_e2e_audit_failures_never_touch_a_response(tmp_path: Path) -> None:
    broken = FakeOpenAI(_hanging_or_failing)
    items = CLEAN[:4] + IN_WORDS[:4] + WRONG[:4] + [TOWER] * 2
    try:
        with running_service(workers="1", sandbox_backend="none") as url:
            plain = httpx.post(f"{url}/v1/math/verify", json={"items": items}, timeout=60)
        with _judged_service(broken, audit_rate="1", audit_timeout_s="2") as url:
            audited = httpx.post(f"{url}/v1/math/verify", json={"items": items}, timeout=60)
            # Answered while the audit (several 2 s budgets, one item at a time) is still busy.
            early = httpx.get(f"{url}/v1/audit", timeout=10).json()
            report = _audit(url, settled=len(items))
    finally:
        broken.close()
    assert audited.status_code == plain.status_code == 200
    assert audited.json() == plain.json()
    settled_early = early["components"].get("math", {})
    assert settled_early.get("audited", 0) + sum(settled_early.get("errors", {}).values()) < len(
        items
    ), "the response waited for the audit"
    errors = report["components"]["math"]["errors"]
    # Hung judge calls and a killed Math-Verify are counted as the audit's failures.
    assert errors.get("timeout", 0) >= 4, report
    assert sum(errors.values()) >= 6, report


def test_e2e_audit_reruns_code_in_the_sandbox() -> None:
    program = "a, b = map(int, input().split())\nprint(a + b)"
    tests = [
        {"stdin": "1 2\n", "expected_stdout": "3\n"},
        {"stdin": "2 2\n", "expected_stdout": "5\n"},
    ]
    items = [
        {"language": "python", "code": program, "tests": tests[:1]},  # AC
        {"language": "python", "code": program, "tests": tests},  # WA on the second test
    ]
    with running_service(workers="1", sandbox_backend="docker", audit_rate="1") as url:
        reply = httpx.post(f"{url}/v1/code/run", json={"items": items}, timeout=120)
        assert [r["verdict"] for r in reply.json()["results"]] == ["AC", "WA"]
        deadline = time.monotonic() + 120
        while True:
            code = httpx.get(f"{url}/v1/audit", timeout=10).json()["components"].get("code", {})
            if code.get("audited", 0) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    # A deterministic program gets the same verdict again: the re-run agrees both ways.
    assert code["comparisons"] == {"rerun": {"agree": 2}}, code
    assert (code["rules_accepted"], code["rules_rejected"]) == (1, 1)
