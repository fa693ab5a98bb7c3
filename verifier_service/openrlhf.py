"""OpenRLHF's remote reward protocol, translated to and from the service's reward items.

OpenRLHF (``--reward.remote_url``) posts ``{"query": [...], "prompts": [...], "labels": [...]}``
where each query is prompt + response, decoded with the chat template's special tokens, and
reads ``{"rewards", "scores", "extra_logs"}``, turning every value into a tensor. A label is a
math reference, or a JSON object with a ``task`` for the other kinds of item:
``{"task": "code", "language": "python", "tests": [...]}``, ``{"task": "judge", "reference":
"…"}``, ``{"task": "general"}``, optionally with ``target_language``.

OpenRLHF cannot take a null (``torch.tensor([None])`` raises) and stacks ``extra_logs`` key by
key across samples, so the answer holds numbers only and always the same keys: a sample that
could not be graded gets the failure reward, ``extra_logs.failed`` 1.0 and its reason in
``errors``; a component that does not apply to a sample is 0.0 in ``extra_logs``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from verifier_service.errors import InvalidInputError
from verifier_service.schemas import (
    ItemError,
    OpenRLHFRequest,
    OpenRLHFResponse,
    RewardItem,
    RewardResult,
    to_item_error,
)

COMPONENTS = ("accuracy", "format", "language")
EXTRA_LOG_KEYS = (*COMPONENTS, "failed")


def reward_items(
    body: OpenRLHFRequest, *, strip_suffixes: Sequence[str] = ()
) -> list[RewardItem | InvalidInputError]:
    """One reward item per query (or the reason its label is unusable), in order.

    The caller has checked that prompts and labels, when given, match the queries one to one.
    """
    labels = body.labels or []
    items: list[RewardItem | InvalidInputError] = []
    for index, query in enumerate(body.query):
        prompt = body.prompts[index] if body.prompts is not None else ""
        # OpenRLHF sends prompt + response; only the response is graded.
        response = query[len(prompt) :] if prompt and query.startswith(prompt) else query
        response = strip_special_suffixes(response, strip_suffixes)
        items.append(label_item(prompt, response, labels[index]))
    return items


def strip_special_suffixes(text: str, suffixes: Sequence[str]) -> str:
    """The text without the chat template's end tokens (and padding) at its end.

    OpenRLHF decodes with ``skip_special_tokens=False``: a response ends in ``<|im_end|>`` or
    the like, which would spoil a code block, an ``<answer>`` tag or a format check.
    """
    end = text
    while suffix := next((s for s in suffixes if s and end.rstrip().endswith(s)), None):
        end = end.rstrip()[: -len(suffix)].rstrip()
    return end


def label_item(prompt: str, response: str, label: str) -> RewardItem | InvalidInputError:
    """The reward item of a label: a math reference, or a JSON object with a ``task``."""
    spec = _task_spec(label)
    if spec is None:
        return RewardItem(prompt=prompt, response=response, reference=label)
    try:
        return RewardItem.model_validate({**spec, "prompt": prompt, "response": response})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return InvalidInputError(f"label is not a valid reward item: {problems}")


def _task_spec(label: str) -> dict[str, Any] | None:
    """The label as a task object, or None when it is a plain reference."""
    if not label.lstrip().startswith("{"):
        return None
    try:
        spec = json.loads(label)
    except json.JSONDecodeError:
        return None  # a set such as {1, 2} is a math reference, not JSON
    return spec if isinstance(spec, dict) and "task" in spec else None


def openrlhf_response(
    results: list[RewardResult | InvalidInputError], *, failure_reward: float
) -> OpenRLHFResponse:
    """rewards: the weighted sum; scores: accuracy (the reward for items without accuracy:
    general, none); extra_logs: every component and ``failed``; errors: why a sample failed."""
    rewards: list[float] = []
    scores: list[float] = []
    logs: dict[str, list[float]] = {name: [] for name in EXTRA_LOG_KEYS}
    errors: list[ItemError | None] = []
    for result in results:
        if isinstance(result, InvalidInputError):
            result = RewardResult(error=to_item_error(result))
        failed = result.error is not None or result.reward is None
        reward = failure_reward if failed or result.reward is None else result.reward
        rewards.append(reward)
        scores.append(failure_reward if failed else result.components.get("accuracy", reward))
        for name in COMPONENTS:
            logs[name].append(failure_reward if failed else result.components.get(name, 0.0))
        logs["failed"].append(1.0 if failed else 0.0)
        if failed and result.error is None:
            result = RewardResult(error=ItemError(code="no_reward", message="no reward came out"))
        errors.append(result.error)
    return OpenRLHFResponse(rewards=rewards, scores=scores, extra_logs=logs, errors=errors)
