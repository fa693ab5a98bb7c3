"""OpenRLHF's remote reward protocol, translated to and from the service's reward items.

OpenRLHF (``--remote_rm_url``) posts ``{"query": [...], "prompts": [...], "labels": [...]}``
where each query is prompt + response, and reads ``{"rewards", "scores", "extra_logs"}``. A
label is a math reference, or a JSON object with a ``task`` for the other kinds of item:
``{"task": "code", "language": "python", "tests": [...]}``, ``{"task": "judge", "reference":
"…"}``, ``{"task": "general"}``, optionally with ``target_language``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from verifier_service.errors import InvalidInputError
from verifier_service.schemas import (
    ItemError,
    OpenRLHFRequest,
    OpenRLHFResponse,
    RewardItem,
    RewardResult,
)

_LOGGED = ("accuracy", "format", "language")


def reward_items(body: OpenRLHFRequest) -> list[RewardItem | InvalidInputError]:
    """One reward item per query (or the reason its label is unusable), in order.

    The caller has checked that prompts and labels, when given, match the queries one to one.
    """
    labels = body.labels or []
    items: list[RewardItem | InvalidInputError] = []
    for index, query in enumerate(body.query):
        prompt = body.prompts[index] if body.prompts is not None else ""
        # OpenRLHF sends prompt + response; only the response is graded.
        response = query[len(prompt) :] if prompt and query.startswith(prompt) else query
        items.append(_item(prompt, response, labels[index]))
    return items


def _item(prompt: str, response: str, label: str) -> RewardItem | InvalidInputError:
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
    results: list[RewardResult | InvalidInputError],
) -> OpenRLHFResponse:
    """rewards: the weighted sum; scores: accuracy (else the reward); extra_logs: components."""
    rewards: list[float | None] = []
    scores: list[float | None] = []
    logs: dict[str, list[float | None]] = {name: [] for name in _LOGGED}
    errors: list[ItemError | None] = []
    for result in results:
        if isinstance(result, InvalidInputError):
            result = RewardResult(error=ItemError(**result.as_dict()))
        rewards.append(result.reward)
        # Items without accuracy (general, none) score their reward: OpenRLHF needs a number.
        scores.append(result.components.get("accuracy", result.reward))
        for name in _LOGGED:
            logs[name].append(result.components.get(name))
        errors.append(result.error)
    return OpenRLHFResponse(rewards=rewards, scores=scores, extra_logs=logs, errors=errors)
