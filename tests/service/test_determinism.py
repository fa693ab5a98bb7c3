"""The same input gives the same output: across runs, processes, worker counts, cache states
and concurrent requests."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.settings import Settings

CASES = Path(__file__).parents[1] / "engine" / "math" / "data" / "math_verify_cases.jsonl"


def _math_items() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    items = [{"response": r["pred"], "reference": r["gold"]} for r in rows if "gold" in r]
    # Each response also as a boxed final answer, so the comparison rules run, not only "no
    # answer found".
    items += [{"response": f"\\boxed{{{r['pred']}}}", "reference": r["gold"]} for r in rows[:120]]
    return items


LANGUAGE_ITEMS = [
    {"text": "我们先算一下 then we check the answer carefully 再验证一次。", "target": "zh"},
    {"text": "Давайте проверим this step again.", "target": "ru"},
    {"text": "$x^2$ only math 42", "target": "en"},
]


def _grade(client: TestClient, items: list[dict[str, str]]) -> list[dict[str, Any]]:
    reply = client.post("/v1/math/verify", json={"items": items})
    assert reply.status_code == 200
    results: list[dict[str, Any]] = reply.json()["results"]
    return results


def _app(**overrides: Any) -> TestClient:
    return TestClient(create_app(Settings(sandbox_backend="none", **overrides)))


def test_determinism_across_workers_cache_and_concurrency() -> None:
    items = _math_items()
    with _app(workers=1, cache_bytes=0) as one_worker_no_cache:
        baseline = _grade(one_worker_no_cache, items)
        language_baseline = one_worker_no_cache.post(
            "/v1/language", json={"items": LANGUAGE_ITEMS}
        ).json()
    assert sum(r["correct"] is True for r in baseline) > 50  # the corpus exercises real rules

    with _app(workers=2) as two_workers:
        cold = _grade(two_workers, items)
        warm = _grade(two_workers, items)  # served from the cache
        order = list(range(len(items)))
        random.Random(7).shuffle(order)

        def shuffled_request(_: int) -> list[dict[str, Any]]:
            graded = _grade(two_workers, [items[i] for i in order])
            unshuffled: list[dict[str, Any]] = [{}] * len(items)
            for position, index in enumerate(order):
                unshuffled[index] = graded[position]
            return unshuffled

        with ThreadPoolExecutor(max_workers=6) as pool:
            concurrent = list(pool.map(shuffled_request, range(6)))
        language = two_workers.post("/v1/language", json={"items": LANGUAGE_ITEMS}).json()

    assert cold == baseline
    assert warm == baseline
    for run in concurrent:
        assert run == baseline
    assert language == language_baseline


_OTHER_PROCESS = """
import json, sys
from verifier_service.engine.math import verify
from verifier_service.errors import VerifierError
items = json.load(sys.stdin)
out = []
for item in items:
    try:
        r = verify(item["response"], item["reference"])
    except VerifierError as exc:
        out.append([None, None, exc.code, exc.message, None, None])
        continue
    out.append([r.correct, r.extracted, r.rule, r.reason, r.parsed_prediction, r.parsed_reference])
print(json.dumps(out))
"""


def test_determinism_across_processes() -> None:
    items = [i for i in _math_items() if "\\boxed" in i["response"]][:80]

    def in_a_fresh_process() -> list[Any]:
        done = subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS],
            input=json.dumps(items),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        result: list[Any] = json.loads(done.stdout)
        return result

    first, second = in_a_fresh_process(), in_a_fresh_process()
    assert first == second
    with _app(workers=1) as client:
        served = _grade(client, items)
    assert [[r["correct"], r["extracted"], r["rule"] or r["error"]["code"]] for r in served] == [
        row[:3] for row in first
    ]


def test_every_response_carries_grader_version() -> None:
    with _app(workers=1) as client:
        version = client.get("/v1/version").json()
        body = {"items": [{"response": "\\boxed{1}", "reference": "1"}]}
        replies = [
            client.post("/v1/math/verify", json=body),
            client.post("/v1/rewards", json=body),
            client.post("/v1/language", json={"items": LANGUAGE_ITEMS[:1]}),
            client.post("/get_reward", json={"query": ["\\boxed{1}"], "labels": ["1"]}),
        ]
    assert version["grader_version"]
    assert version["libraries"]["sympy"] == "1.14.0"
    assert len(version["language_model_sha256"]) == 64
    for reply in replies:
        assert reply.json()["grader_version"] == version["grader_version"]
