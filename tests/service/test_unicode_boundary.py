"""Unicode at the HTTP boundary: a lone surrogate in a request is 422 with its location, never a
500; a response never carries one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.settings import Settings
from verifier_service.wire import SafeJSONResponse, find_lone_surrogate


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(workers=1, sandbox_backend="none"))) as client:
        yield client


def _post(client: TestClient, path: str, body: str):  # type: ignore[no-untyped-def]
    return client.post(path, content=body.encode(), headers={"content-type": "application/json"})


LONE = [
    ("/v1/math/verify", '{"items": [{"response": "\\\\boxed{2} \\ud800", "reference": "2"}]}'),
    ("/v1/math/verify", '{"items": [{"response": "\\\\boxed{\\udfff}", "reference": "2"}]}'),
    (
        "/v1/rewards",
        '{"items": [{"prompt": "p", "response": "\\ud800", "task": "math", "reference": "1"}]}',
    ),
    (
        "/v1/code/run",
        '{"items": [{"language": "python", "code": "print(1)#\\ud800",'
        ' "tests": [{"stdin": "", "expected_stdout": "1"}]}]}',
    ),
    (
        "/v1/code/run",
        '{"items": [{"language": "python", "code": "print(1)",'
        ' "tests": [{"stdin": "\\udc80", "expected_stdout": "1"}]}]}',
    ),
    ("/v1/language", '{"items": [{"text": "hello \\ud83d", "target": "en"}]}'),
    ("/get_reward", '{"query": ["\\ud800"], "labels": ["1"]}'),
]


@pytest.mark.parametrize(("path", "body"), LONE, ids=[f"{p}-{i}" for i, (p, _) in enumerate(LONE)])
def test_unicode_lone_surrogate_in_request_is_422(client: TestClient, path: str, body: str) -> None:
    reply = _post(client, path, body)
    assert reply.status_code == 422, reply.text
    assert "lone surrogate" in reply.json()["message"]


def test_unicode_surrogate_pairs_are_fine(client: TestClient) -> None:
    body = '{"items": [{"response": "\\ud83d\\ude00 \\\\boxed{2}", "reference": "2"}]}'
    reply = _post(client, "/v1/math/verify", body)
    assert reply.status_code == 200
    assert reply.json()["results"][0]["correct"] is True


def test_unicode_lone_surrogate_is_located() -> None:
    value = {"items": [{"a": "ok"}, {"b": ["x", "y\ud800"]}]}
    assert find_lone_surrogate(value) == "items.1.b.1"
    assert find_lone_surrogate({"items": ["\U0001f600"]}) is None


def test_unicode_response_never_carries_a_surrogate() -> None:
    body = SafeJSONResponse({"out": "a\udcff", "n": float("nan")}).body
    assert body.decode() == '{"out":"a\ufffd","n":null}'
