"""General items through the framework adapters, against the real service and a loopback judge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI, FakeReply
from service import running_service

from trainer_client.integrations.trl import VerifierReward
from trainer_client.integrations.verl import close_clients, compute_score_batch

RESPONSE = "<think>plan the answer</think> Knead the dough and bake it."


@pytest.fixture(scope="module")
def general_service() -> Iterator[str]:
    judge = FakeOpenAI(lambda request: FakeReply(content="Score: 10"))
    env = {
        "judge_backend": "openai",
        "judge_base_url": judge.base_url,
        "judge_model": "fake-judge",
        "sandbox_backend": "none",
        "workers": "1",
    }
    try:
        with running_service(**env) as url:
            yield url
    finally:
        judge.close()


def test_verl_ground_truth_task_general_is_scored(general_service: str) -> None:
    try:
        results = compute_score_batch(
            ["chat"],
            [RESPONSE],
            [{"task": "general"}],
            [{"prompt": "Bread?"}],
            url=general_service,
        )
    finally:
        close_clients()
    # format 1 + helpfulness 1 + harmlessness 1 (a 10/10 judge).
    assert results[0]["score"] == pytest.approx(3.0) and results[0]["failed"] == 0.0


def test_trl_task_general_with_component_views(general_service: str) -> None:
    reward = VerifierReward(general_service, task="general")
    helpfulness = reward.component("helpfulness")
    try:
        batch = {"prompts": ["Bread?", "Bread?"], "completions": [RESPONSE, "<think>no end"]}
        assert reward(**batch)[0] == pytest.approx(3.0)
        assert helpfulness(**batch) == [1.0, 0.0]  # no summary: the documented floor
    finally:
        reward.close()
