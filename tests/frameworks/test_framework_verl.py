"""verl 0.9.1's own reward loop, configured as documented, rewarded by the real service.

The config is composed by Hydra from trainer_client/integrations/verl_reward.yaml the way
``verl.trainer.main_ppo`` composes it; verl's RewardLoopManager (its workers as Ray actors, as
the trainer runs them) or a RewardLoopWorker in process loads the reward manager and the custom
function from it and scores a DataProto (see drivers/verl_reward_loop.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from frameworks_env import FRAMEWORKS, run_driver
from service import rewards_requests

import trainer_client.integrations.verl as verl_module

pytestmark = pytest.mark.e2e

ADD = "```python\nprint(sum(map(int, input().split())))\n```"
ADD_TESTS = {"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]}
SAMPLES: list[dict[str, Any]] = [
    {"data_source": "math", "prompt": "1+1?", "response": "<think>1+1</think> \\boxed{2}",
     "ground_truth": "2"},
    {"data_source": "math", "prompt": "2+1?", "response": "<think>2+1</think> \\boxed{4}",
     "ground_truth": "3"},
    {"data_source": "code", "prompt": "Add.", "response": f"<think>add</think>\n{ADD}",
     "ground_truth": json.dumps(ADD_TESTS)},
    {"data_source": "math", "prompt": "Seven?", "extra_info": {"target_language": "en"},
     "response": "<think>Seven is the answer here.</think> \\boxed{7}", "ground_truth": "7"},
    {"data_source": "math", "prompt": "?", "response": "\\boxed{1}",
     "ground_truth": json.dumps({"task": "code"})},  # unusable: a counted failure
]  # fmt: skip
CONFIG_DIR = str(Path(verl_module.__file__).parent)


def _reward_loop(url: str, *overrides: str, ray: bool = False) -> dict[str, Any]:
    config = {
        "ray": ray,
        "config_dir": CONFIG_DIR,
        "config_name": "verl_reward",
        "overrides": [f"reward.custom_reward_function.path={verl_module.__file__}", *overrides],
        "samples": SAMPLES,
        "env": {"VERIFIER_URL": url},
    }
    answer: dict[str, Any] = run_driver("verl_reward_loop", config)
    return answer


def _check(answer: dict[str, Any]) -> None:
    assert answer["scores"] == [2.0, 1.0, 2.0, 3.0, 0.0]
    infos = answer["infos"]
    assert infos["acc"] == [1.0, 0.0, 1.0, 1.0, 0.0]
    assert infos["language"] == [None, None, None, 1.0, 0.0]
    assert infos["failed"] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert infos["error"] == ["", "", "", "", "invalid_input"]
    # A component that does not apply must not turn verl's validation means into NaN.
    assert answer["nan_metrics"] == []
    assert answer["metrics"]["math/language/mean@1"] == 0.5


def test_verl_example_config_on_ray_coalesces(service_url: str) -> None:
    """The trainer's path: RewardLoopManager runs the reward worker as a Ray actor."""
    before = rewards_requests(service_url)
    answer = _reward_loop(
        service_url,
        "reward.num_workers=1",
        "+reward.custom_reward_function.reward_kwargs.batch_window_s=0.5",
        ray=True,
    )
    assert (answer["manager"], answer["function"]) == ("NaiveRewardManager", "compute_score_async")
    _check(answer)
    # The worker's five concurrent samples (four valid) went out as one request.
    assert rewards_requests(service_url) - before == 1


def test_verl_dapo_manager_sync_function(service_url: str) -> None:
    answer = _reward_loop(
        service_url,
        "reward.reward_manager.name=dapo",
        "reward.custom_reward_function.name=compute_score",
    )
    assert (answer["manager"], answer["function"]) == ("DAPORewardManager", "compute_score")
    _check(answer)


def test_verl_sandbox_fusion_reward_runs_on_run_code(service_url: str) -> None:
    """verl's own sandbox_fusion reward (reward.sandbox_fusion.url) against POST /run_code."""
    wrong = "```python\nprint(0)\n```"
    samples = [
        {"data_source": "codecontests", "prompt": "Add.", "response": ADD,
         "ground_truth": json.dumps(ADD_TESTS)},
        {"data_source": "codecontests", "prompt": "Add.", "response": wrong,
         "ground_truth": json.dumps(ADD_TESTS)},
    ]  # fmt: skip
    config = {
        "config_dir": str(FRAMEWORKS / "verl" / "trainer" / "config"),
        "config_name": "ppo_trainer",
        "overrides": [f"reward.sandbox_fusion.url={service_url}/run_code"],
        "samples": samples,
    }
    answer = run_driver("verl_reward_loop", config)
    assert answer["scores"] == [1.0, 0.0]
