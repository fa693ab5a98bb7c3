"""/get_reward as OpenRLHF reads it: numbers only, the same keys always, end tokens stripped."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.openrlhf import EXTRA_LOG_KEYS, strip_special_suffixes
from verifier_service.settings import Settings

ENDS = Settings().openrlhf_suffixes


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(workers=1, sandbox_backend="none", openrlhf_failure_reward=-1.0)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{2}<|im_end|>", "\\boxed{2}"),
        ("<answer>2</answer>\n<|eot_id|>", "<answer>2</answer>"),
        ("```\nx\n```<|im_end|><|endoftext|>", "```\nx\n```"),
        ("the end token <|im_end|> mid-text stays", "the end token <|im_end|> mid-text stays"),
        ("no token, trailing space  ", "no token, trailing space  "),
    ],
    ids=["chatml", "llama3-after-newline", "two-tokens", "inside-text", "none"],
)
def test_openrlhf_strips_end_tokens(text: str, expected: str) -> None:
    assert strip_special_suffixes(text, ENDS) == expected


def test_openrlhf_strip_is_configurable() -> None:
    assert strip_special_suffixes("x<|im_end|>", ()) == "x<|im_end|>"
    assert Settings(openrlhf_strip_suffixes="[END], <eos>").openrlhf_suffixes == ("[END]", "<eos>")


def test_openrlhf_answer_has_numbers_and_the_same_keys(client: TestClient) -> None:
    """A failed sample gets the failure reward and failed=1.0; a missing component is 0.0."""
    for label in ("2", json.dumps({"task": "code"}), json.dumps({"task": "none"})):
        body = {"query": ["<think>x</think> \\boxed{2}<|im_end|>"], "labels": [label]}
        reply = client.post("/get_reward", json=body).json()
        assert set(reply["extra_logs"]) == set(EXTRA_LOG_KEYS)
        logged = [v for values in reply["extra_logs"].values() for v in values]
        values = [*reply["rewards"], *reply["scores"], *logged]
        assert all(isinstance(v, float) and math.isfinite(v) for v in values), reply
    failed = client.post(
        "/get_reward", json={"query": ["x"], "labels": [json.dumps({"task": "code"})]}
    ).json()
    assert failed["rewards"] == failed["scores"] == [-1.0]
    assert failed["extra_logs"]["failed"] == [1.0]
    assert failed["errors"][0]["code"] == "invalid_input"


def test_openrlhf_end_token_does_not_spoil_the_format(client: TestClient) -> None:
    body = {
        "query": ["<think>3+3</think> <answer>6</answer><|im_end|>"],
        "labels": [json.dumps({"task": "math", "reference": "6", "format_style": "r1_zero"})],
    }
    reply = client.post("/get_reward", json=body).json()
    assert reply["extra_logs"]["format"] == [1.0]
    assert reply["extra_logs"]["accuracy"] == [1.0]
