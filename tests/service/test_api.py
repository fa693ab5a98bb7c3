"""The HTTP contract, in process: shapes, per-item errors, limits, auth, metrics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.settings import Settings

BOXED_TWO = "<think>1+1 is 2</think> The answer is \\boxed{2}."


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(
        workers=1,
        max_items=50,
        max_item_bytes=4096,
        max_body_bytes=200_000,
        sandbox_backend="none",
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def keyed_client() -> Iterator[TestClient]:
    with TestClient(
        create_app(Settings(workers=1, api_keys="k1,k2", sandbox_backend="none"))
    ) as client:
        yield client


def test_api_math_verify_grades_each_item_in_order(client: TestClient) -> None:
    items = [
        {"response": BOXED_TWO, "reference": "2"},
        {"response": BOXED_TWO, "reference": "3"},
        {"response": "I am not sure.", "reference": "2"},
    ]
    reply = client.post("/v1/math/verify", json={"items": items})
    assert reply.status_code == 200
    results = reply.json()["results"]
    assert [r["correct"] for r in results] == [True, False, False]
    assert results[0]["extracted"] == "2"
    assert results[2]["extracted"] is None
    assert results[2]["rule"] == "no_answer"
    assert all(r["error"] is None and r["reason"] for r in results)


def test_api_oversized_item_is_an_item_error_not_a_batch_failure(client: TestClient) -> None:
    items = [
        {"response": "x" * 5000 + "\\boxed{2}", "reference": "2"},
        {"response": BOXED_TWO, "reference": "2"},
    ]
    results = client.post("/v1/math/verify", json={"items": items}).json()["results"]
    assert results[0]["correct"] is None
    assert results[0]["error"]["code"] == "invalid_input"
    assert "VERIFIER_MAX_ITEM_BYTES" in results[0]["error"]["message"]
    assert results[1]["correct"] is True


def test_api_malformed_request_is_422_with_readable_message(client: TestClient) -> None:
    reply = client.post("/v1/math/verify", json={"items": [{"response": "x"}]})
    assert reply.status_code == 422
    assert "items.0.reference: Field required" in reply.json()["message"]


def test_api_not_json_is_422(client: TestClient) -> None:
    reply = client.post(
        "/v1/math/verify", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 422


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", None])
def test_api_body_that_is_not_json_is_422_never_500(
    client: TestClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    reply = client.post("/v1/math/verify", content=b'{"items": []}\xff', headers=headers)
    assert reply.status_code == 422
    assert reply.json()["message"]


def test_api_too_many_items_is_413(client: TestClient) -> None:
    items = [{"response": BOXED_TWO, "reference": "2"}] * 51
    reply = client.post("/v1/math/verify", json={"items": items})
    assert reply.status_code == 413
    assert "VERIFIER_MAX_ITEMS" in reply.json()["detail"]


def test_api_body_over_limit_is_413(client: TestClient) -> None:
    reply = client.post(
        "/v1/math/verify",
        content=b'{"items": [], "pad": "' + b"x" * 300_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 413


def test_api_rewards_components_and_sum(client: TestClient) -> None:
    items = [
        {"id": "right", "response": BOXED_TWO, "reference": "2"},
        {"id": "wrong", "response": BOXED_TWO, "reference": "5"},
        {"id": "noformat", "response": "\\boxed{2}", "reference": "2"},
        {"id": "fmt-only", "response": BOXED_TWO, "task": "none"},
    ]
    results = client.post("/v1/rewards", json={"items": items}).json()["results"]
    by_id = {r["id"]: r for r in results}
    assert by_id["right"]["components"] == {"format": 1.0, "accuracy": 1.0}
    assert by_id["right"]["reward"] == 2.0
    assert by_id["wrong"]["reward"] == 1.0
    assert by_id["noformat"]["components"] == {"format": 0.0, "accuracy": 1.0}
    assert by_id["fmt-only"]["components"] == {"format": 1.0}
    assert by_id["right"]["details"]["accuracy"]["extracted"] == "2"


def test_api_rewards_weights_scale_components(client: TestClient) -> None:
    body = {
        "items": [{"response": BOXED_TWO, "reference": "2"}],
        "weights": {"accuracy": 2.0, "format": 0.5},
    }
    result = client.post("/v1/rewards", json=body).json()["results"][0]
    assert result["reward"] == 2.5


def test_api_rewards_format_style_per_request(client: TestClient) -> None:
    response = "<think>x</think><answer>2</answer>"
    body = {"items": [{"response": response, "reference": "2"}], "format_style": "r1_zero"}
    result = client.post("/v1/rewards", json=body).json()["results"][0]
    assert result["components"]["format"] == 1.0
    assert result["details"]["format"]["style"] == "r1_zero"


def test_api_rewards_failed_item_has_null_reward_and_error(client: TestClient) -> None:
    items = [{"id": "a", "response": BOXED_TWO}, {"id": "b", "response": BOXED_TWO, "task": "code"}]
    results = client.post("/v1/rewards", json={"items": items}).json()["results"]
    for result in results:
        assert result["reward"] is None
        assert result["error"]["code"] == "invalid_input"


def test_api_get_reward_speaks_openrlhf(client: TestClient) -> None:
    prompt = "What is 1+1? "
    body = {
        "query": [prompt + BOXED_TWO, prompt + BOXED_TWO],
        "prompts": [prompt, prompt],
        "labels": ["2", "7"],
    }
    reply = client.post("/get_reward", json=body).json()
    assert reply["rewards"] == [2.0, 1.0]
    assert reply["scores"] == [1.0, 0.0]
    assert reply["extra_logs"]["accuracy"] == [1.0, 0.0]
    assert reply["extra_logs"]["format"] == [1.0, 1.0]


def test_api_get_reward_length_mismatch_is_422(client: TestClient) -> None:
    reply = client.post("/get_reward", json={"query": ["a", "b"], "labels": ["1"]})
    assert reply.status_code == 422
    assert "must match" in reply.json()["detail"]


def test_api_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["workers"]["processes"] == 1


def test_api_metrics_count_requests_and_items(client: TestClient) -> None:
    client.post("/v1/math/verify", json={"items": [{"response": BOXED_TWO, "reference": "2"}]})
    text = client.get("/metrics").text
    assert 'verifier_requests_total{endpoint="/v1/math/verify",status="200"}' in text
    assert 'verifier_items_total{component="math",outcome="correct"}' in text
    assert "verifier_grading_seconds_bucket" in text
    assert "verifier_queue_depth" in text


def test_api_openapi_docs_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert "/v1/math/verify" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "k1"}, {"Authorization": "Basic k1"}],
    ids=["missing", "wrong-key", "no-scheme", "wrong-scheme"],
)
def test_api_keys_reject_requests_without_a_valid_key(
    keyed_client: TestClient, headers: dict[str, str]
) -> None:
    body = {"items": [{"response": BOXED_TWO, "reference": "2"}]}
    reply = keyed_client.post("/v1/math/verify", json=body, headers=headers)
    assert reply.status_code == 401
    assert keyed_client.get("/metrics", headers=headers).status_code == 401


@pytest.mark.parametrize("key", ["k1", "k2"])
def test_api_keys_accept_every_configured_key(keyed_client: TestClient, key: str) -> None:
    body = {"items": [{"response": BOXED_TWO, "reference": "2"}]}
    reply = keyed_client.post(
        "/v1/math/verify", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert reply.status_code == 200
    assert reply.json()["results"][0]["correct"] is True


def test_api_keys_leave_health_open(keyed_client: TestClient) -> None:
    assert keyed_client.get("/healthz").status_code == 200
    assert keyed_client.get("/readyz").status_code == 200
