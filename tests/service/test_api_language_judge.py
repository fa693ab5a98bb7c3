"""Language and judge through the HTTP contract, with a real fake judge server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fake_openai import FakeOpenAI, FakeReply, user_message
from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.settings import Settings

ZH = "<think>我们先计算这个数的平方然后再检查结果是否正确。</think> 答案是 \\boxed{4}"
EN = "<think>First we square the number and then check the result again.</think> \\boxed{4}"


def _script(request: dict[str, Any]) -> FakeReply:
    # The fake judge accepts "four" and rejects everything else; "garble" gets no verdict.
    prompt = user_message(request)
    if "garble" in prompt:
        return FakeReply(content="I think maybe")
    if "broken" in prompt:
        return FakeReply(status=400)
    return FakeReply(content="Final Decision: Yes" if "four" in prompt else "Final Decision: No")


@pytest.fixture(scope="module")
def judge_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(_script)
    yield server
    server.close()


@pytest.fixture(scope="module")
def client(judge_server: FakeOpenAI) -> Iterator[TestClient]:
    settings = Settings(
        workers=1,
        judge_backend="openai",
        judge_base_url=judge_server.base_url,
        judge_model="fake-judge",
        judge_max_retries=0,
        sandbox_backend="none",
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def no_judge_client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(workers=1, sandbox_backend="none"))) as client:
        yield client


def test_api_language_scores_share_of_target_words(client: TestClient) -> None:
    items = [
        {"text": "这是一个完全用中文写的句子。", "target": "zh"},
        {"text": "This sentence is written entirely in English words.", "target": "zh"},
        {"text": "$x^2 + 1$ 12345", "target": "en"},
        {"text": "hello", "target": "klingon"},
    ]
    results = client.post("/v1/language", json={"items": items}).json()["results"]
    assert results[0]["score"] == 1.0
    assert results[0]["counts"] == {"zh": 13}
    assert results[1]["score"] == 0.0
    assert results[2]["score"] is None and "no words" in results[2]["reason"]
    assert results[3]["error"]["code"] == "invalid_input"
    assert results[0]["error"] is None


def test_api_rewards_language_component_added(client: TestClient) -> None:
    items = [
        {"id": "zh", "response": ZH, "reference": "4", "target_language": "zh"},
        {"id": "en", "response": EN, "reference": "4", "target_language": "zh"},
    ]
    by_id = {
        r["id"]: r for r in client.post("/v1/rewards", json={"items": items}).json()["results"]
    }
    assert by_id["zh"]["components"] == {"format": 1.0, "accuracy": 1.0, "language": 1.0}
    assert by_id["zh"]["reward"] == 3.0
    assert by_id["en"]["components"]["language"] == 0.0
    assert by_id["en"]["reward"] == 2.0


def test_api_language_and_rewards_agree_on_the_reasoning(client: TestClient) -> None:
    # A Chinese reasoning, a Japanese answer after it: R1 scores the reasoning only.
    response = "<think>我们先计算这个数的平方。</think>答えは\\boxed{4}です。"
    language = client.post(
        "/v1/language", json={"items": [{"text": response, "target": "zh"}]}
    ).json()["results"][0]
    rewards = client.post(
        "/v1/rewards",
        json={"items": [{"response": response, "reference": "4", "target_language": "zh"}]},
    ).json()["results"][0]
    assert language["score"] == rewards["components"]["language"] == 1.0
    whole = client.post(
        "/v1/language", json={"items": [{"text": response, "target": "zh"}], "scope": "whole"}
    ).json()["results"][0]
    assert whole["counts"] == {"zh": 11, "ja": 5}


def test_api_language_empty_reasoning_is_null_with_a_reason(client: TestClient) -> None:
    items = [{"text": "<think></think>The answer is four.", "target": "en"}]
    body = client.post("/v1/language", json={"items": items}).json()
    assert body["results"][0]["score"] is None
    assert "no words" in body["results"][0]["reason"]
    bad = client.post("/v1/language", json={"items": items, "scope": "all"})
    assert bad.status_code == 422


def test_api_judge_endpoint_asks_the_judge(client: TestClient, judge_server: FakeOpenAI) -> None:
    items = [
        {"question": "How many legs?", "reference": "4", "response": "<think>x</think> four"},
        {"question": "How many legs?", "reference": "4", "response": "<think>x</think> five"},
        {"question": "How many legs?", "reference": "4", "response": "<think>x</think> garble"},
        {"question": "q", "reference": "4", "response": "<think>x</think> :"},
    ]
    results = client.post("/v1/judge", json={"items": items, "mode": "judge"}).json()["results"]
    assert [r["correct"] for r in results] == [True, False, False, False]
    assert results[0]["decided_by"] == "judge"
    assert results[0]["raw"] == "Final Decision: Yes"
    assert results[2]["error"]["code"] == "judge_unparseable"
    assert results[3]["decided_by"] == "precheck"


def test_api_judge_cascade_lets_rules_accept(client: TestClient, judge_server: FakeOpenAI) -> None:
    before = len(judge_server.requests)
    items = [{"question": "2+2?", "reference": "4", "response": "\\boxed{4}"}]
    results = client.post("/v1/judge", json={"items": items, "mode": "cascade"}).json()["results"]
    assert results[0]["correct"] is True
    assert results[0]["decided_by"] == "rules"
    assert len(judge_server.requests) == before


def test_api_rewards_judge_task(client: TestClient) -> None:
    items = [
        {
            "id": "yes",
            "prompt": "Legs?",
            "response": "<think>x</think> four",
            "task": "judge",
            "reference": "4",
        },
        {
            "id": "no",
            "prompt": "Legs?",
            "response": "<think>x</think> five",
            "task": "judge",
            "reference": "4",
        },
        {
            "id": "fail",
            "prompt": "broken",
            "response": "<think>x</think> six",
            "task": "judge",
            "reference": "4",
        },
    ]
    by_id = {
        r["id"]: r for r in client.post("/v1/rewards", json={"items": items}).json()["results"]
    }
    assert by_id["yes"]["components"]["accuracy"] == 1.0
    assert by_id["no"]["components"]["accuracy"] == 0.0
    assert by_id["no"]["details"]["accuracy"]["decided_by"] == "judge"
    # A judge that fails gives no reward and says why: never a silent 0.
    assert by_id["fail"]["reward"] is None
    assert by_id["fail"]["error"]["code"] == "judge_error"


def test_api_readyz_reports_judge(client: TestClient) -> None:
    judge = client.get("/readyz").json()["judge"]
    assert judge["backend"] == "openai"
    assert judge["ready"] is True


def test_api_without_judge_items_get_a_clear_error(no_judge_client: TestClient) -> None:
    items = [{"question": "q", "reference": "4", "response": "four"}]
    result = no_judge_client.post("/v1/judge", json={"items": items}).json()["results"][0]
    assert result["correct"] is None
    assert result["error"]["code"] == "judge_not_configured"
    assert "VERIFIER_JUDGE_BACKEND" in result["error"]["message"]
    reward_items = [{"response": "four", "task": "judge", "reference": "4"}]
    reward = no_judge_client.post("/v1/rewards", json={"items": reward_items}).json()["results"][0]
    assert reward["reward"] is None
    assert reward["error"]["code"] == "judge_not_configured"
    assert no_judge_client.get("/readyz").json()["judge"]["backend"] == "none"
