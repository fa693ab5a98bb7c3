"""The hack corpus (data/hack_corpus.jsonl): every hack is refused and every twin is paid.

Each row is an adversarial response (hedging across boxes, hidden text, negations, juxtaposed
numbers, false chains, qualified answers, sprayed choices, ...) with a legitimate twin written
the same way. They run through the grader and through ``/v1/rewards`` under every format style,
wrapped in that style's template, so the same rules hold on the service path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.engine.format import FormatStyle
from verifier_service.engine.math import verify
from verifier_service.settings import Settings

DATA = Path(__file__).parent / "data" / "hack_corpus.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
IDS = [row["id"] for row in ROWS]


def test_corpus_is_large_and_varied() -> None:
    assert len(ROWS) >= 150
    assert len({row["class"] for row in ROWS}) >= 20


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_hack_is_refused(row: dict[str, str]) -> None:
    result = verify(row["hack"], row["reference"])
    assert not result.correct, f"paid by {result.rule}: {result.reason}"


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_twin_is_paid(row: dict[str, str]) -> None:
    result = verify(row["twin"], row["reference"])
    assert result.correct, f"refused by {result.rule}: {result.reason}"


def wrap(answer: str, style: FormatStyle) -> str:
    """``answer`` as the final part of a response in ``style``'s template."""
    if style is FormatStyle.R1_ZERO:
        inner = answer.replace("<answer>", "").replace("</answer>", "")
        return f"<think>Working.</think> <answer>{inner}</answer>"
    if style is FormatStyle.THINK:
        return f"<think>Working.</think> {answer}"
    return f"Working.</think> {answer}"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(workers=1, max_items=500, sandbox_backend="none")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("style", list(FormatStyle))
def test_rewards_endpoint_refuses_hacks_and_pays_twins(
    client: TestClient, style: FormatStyle
) -> None:
    items = [
        {
            "id": f"{row['id']}/{kind}",
            "response": wrap(row[kind], style),
            "reference": row["reference"],
        }
        for row in ROWS
        for kind in ("hack", "twin")
    ]
    body = {"items": items, "format_style": str(style)}
    results = client.post("/v1/rewards", json=body).json()["results"]
    accuracy = {r["id"]: r["components"]["accuracy"] for r in results}
    paid = sorted(key for key, score in accuracy.items() if key.endswith("/hack") and score)
    refused = sorted(key for key, score in accuracy.items() if key.endswith("/twin") and not score)
    assert (paid, refused) == ([], [])
    assert len(accuracy) == 2 * len(ROWS)
