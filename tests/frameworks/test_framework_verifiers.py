"""The verifiers (0.4) reward, called by verifiers' own scoring helpers, against the service.

verifiers' package entry imports the SDKs of every runtime it supports (mcp, anthropic, openai,
prime sandboxes and tunnels), more than a test environment should install; its scoring path is
in ``verifiers/v1/utils/decorators.py`` (standard library only), loaded here by path:
``Task.score`` calls ``invoke_all(rewards, {"task": ..., "trace": ...})`` and takes ``float()``
of each result. A plugged ``fn = "pkg.module:function"`` is imported as verifiers' ``plugged_fn``
does.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest
from frameworks_env import FRAMEWORKS
from pydantic import BaseModel, ConfigDict

import trainer_client.integrations.verl as verl_module
from trainer_client.integrations.prime_verifiers import VerifiersRewardError

pytestmark = pytest.mark.e2e

PLUGGED = "trainer_client.integrations.prime_verifiers:verifier_reward"


class MathTask(BaseModel):
    """A task's data as a verifiers taskset defines it (a frozen pydantic model)."""

    model_config = ConfigDict(frozen=True)
    prompt: str | list[dict[str, str]]
    answer: Any


class Trace:
    """The part of verifiers' Trace a reward reads: the root agent's final reply."""

    def __init__(self, reply: str) -> None:
        self.last_reply = reply.strip()


def _decorators() -> ModuleType:
    path = FRAMEWORKS / "verifiers" / "v1" / "utils" / "decorators.py"
    spec = importlib.util.spec_from_file_location("verifiers_decorators", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plugged(path: str) -> Any:
    module_path, _, attr = path.rpartition(":")
    return getattr(importlib.import_module(module_path), attr)


def _score(url: str, cases: list[tuple[MathTask, Trace]], monkeypatch: Any) -> list[float]:
    monkeypatch.setenv("VERIFIER_URL", url)
    invoke = _decorators().invoke
    reward = _plugged(PLUGGED)

    async def score() -> list[float]:
        try:
            calls = [invoke(reward, {"task": t, "trace": tr}) for t, tr in cases]
            return [float(r) for r in await asyncio.gather(*calls)]
        finally:
            await verl_module.aclose_clients()

    return asyncio.run(score())


def test_verifiers_reward_scores_last_reply(service_url: str, monkeypatch: Any) -> None:
    code = {"task": "code", "language": "python",
            "tests": [{"stdin": "1 2\n", "expected_stdout": "3\n"}]}  # fmt: skip
    program = "<think>add</think>\n```python\nprint(sum(map(int, input().split())))\n```"
    cases = [
        (MathTask(prompt="1+1?", answer="2"), Trace("<think>1+1</think> \\boxed{2}")),
        (MathTask(prompt="1+2?", answer="3"), Trace("<think>1+2</think> \\boxed{4}")),
        (MathTask(prompt=[{"role": "user", "content": "Add."}], answer=code), Trace(program)),
        (MathTask(prompt="Add.", answer=json.dumps(code)), Trace(program)),
    ]
    assert _score(service_url, cases, monkeypatch) == [2.0, 1.0, 2.0, 2.0]


def test_verifiers_reward_failure_raises(service_url: str, monkeypatch: Any) -> None:
    unusable = (MathTask(prompt="?", answer={"task": "code"}), Trace("x"))
    with pytest.raises(VerifiersRewardError, match="invalid_input"):
        _score(service_url, [unusable], monkeypatch)
