"""A reward for PrimeIntellect's verifiers (0.4): the service scores ``trace.last_reply``.

Plug it into a task's config (``TaskConfig.rewards``), e.g. in the environment's TOML::

    [env.taskset.task.rewards.verifier]
    fn = "trainer_client.integrations.prime_verifiers:verifier_reward"
    weight = 1.0

verifiers calls reward functions with the arguments they name (``task``, ``trace``), awaits
them and takes ``float()`` of the result. The reference is the task's ``answer`` (or
``reference``, ``solution``, ``ground_truth``): a math reference, or an object with a ``task``
as in OpenRLHF labels (``{"task": "code", "language": "python", "tests": [...]}``); a task
field ``target_language`` asks for the language component. The service is ``VERIFIER_URL``
(``VERIFIER_API_KEY`` if it has keys). Concurrent calls of one event loop share a request.

A sample the service cannot grade raises :class:`VerifiersRewardError`, as verifiers expects
of a failed reward: it records the failure on the trace instead of a made-up score.
"""

from typing import Any

from trainer_client.client import RewardClientError
from trainer_client.integrations.verl import compute_score_async

REFERENCE_FIELDS = ("answer", "reference", "solution", "ground_truth")


class VerifiersRewardError(RewardClientError):
    """The service could not grade the reply."""

    code = "item_failed"


def _field(task: Any, name: str) -> Any:
    if isinstance(task, dict):
        return task.get(name)
    return getattr(task, name, None)


def _prompt_text(prompt: Any) -> str:
    """The prompt, or the last user message of a chat prompt (the judge's question)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        users = [_field(m, "content") for m in prompt if _field(m, "role") == "user"]
        if users and isinstance(users[-1], str):
            return users[-1]
    return ""


async def verifier_reward(task: Any, trace: Any) -> float:
    """The service's reward for the trace's last reply against the task's reference."""
    reference = next((v for n in REFERENCE_FIELDS if (v := _field(task, n)) is not None), None)
    extra = {
        "question": _prompt_text(_field(task, "prompt")),
        "target_language": _field(task, "target_language"),
    }
    try:
        result = await compute_score_async(
            "verifiers", trace.last_reply, reference, extra, raise_on_failure=True
        )
    except RewardClientError as exc:  # VerlRewardError included
        raise VerifiersRewardError(str(exc)) from exc
    return float(result["score"])
