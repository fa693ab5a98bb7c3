"""OpenRLHF 0.11.2's own rollout and experience code, rewarded by the real service.

OpenRLHF posts one sample per request, decoded with the chat template's end token, and turns
every number of the answer into a tensor: a null, an end token left on the response or a key
missing from one sample's extra_logs breaks training (see drivers/openrlhf_rollout.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from frameworks_env import run_driver

import trainer_client.integrations.openrlhf_reward as openrlhf_reward

pytestmark = pytest.mark.e2e

USER = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
ADD_TESTS = [{"stdin": "1 2\n", "expected_stdout": "3\n"}]
ADD = {"task": "code", "language": "python", "tests": ADD_TESTS}
ADD_PROGRAM = "```python\nprint(sum(map(int, input().split())))\n```"
SAMPLES: list[dict[str, Any]] = [
    # (prompt, label, response): a plain math label, no target language
    {"prompt": USER.format("1+1?"), "label": "2", "response": "<think>1+1=2</think> \\boxed{2}"},
    {"prompt": USER.format("2+1?"), "label": "4", "response": "<think>2+1=3</think> \\boxed{3}"},
    {
        "prompt": USER.format("Add two numbers."),
        "label": json.dumps(ADD),
        "response": "<think>read, add</think>\n" + ADD_PROGRAM,
    },
    {
        "prompt": USER.format("3+3?"),
        "label": json.dumps({"task": "math", "reference": "6", "format_style": "r1_zero"}),
        "response": "<think>3+3=6</think> <answer>\\boxed{6}</answer>",
    },
    {
        "prompt": USER.format("Say 7 in English."),
        "label": json.dumps({"task": "math", "reference": "7", "target_language": "en"}),
        "response": "<think>The answer is seven, written as a number.</think> \\boxed{7}",
    },
    # an unusable label: the sample fails, OpenRLHF still gets numbers
    {"prompt": USER.format("?"), "label": json.dumps({"task": "code"}), "response": "x"},
]


def _rollout(remote_url: str, **env: str) -> dict[str, Any]:
    config = {"remote_url": remote_url, "samples": SAMPLES, "env": env}
    answer: dict[str, Any] = run_driver("openrlhf_rollout", config, fake_vllm=True)
    return answer


def _check(batch: dict[str, Any]) -> None:
    info = batch["info"]
    assert batch["rewards"] == [2.0, 1.0, 2.0, 2.0, 3.0, 0.0]
    assert batch["scores"] == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    assert info["accuracy"] == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    assert info["format"] == [1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert info["language"] == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert info["failed"] == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]


def test_openrlhf_executor_and_experience_batch_over_http(service_url: str) -> None:
    _check(_rollout(f"{service_url}/get_reward"))


def test_openrlhf_reward_func_file(service_url: str) -> None:
    path = Path(openrlhf_reward.__file__)
    assert path.suffix == ".py"
    _check(_rollout(str(path), VERIFIER_URL=service_url))
