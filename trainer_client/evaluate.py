"""Greedy answers to held-out prompts, graded by the reward service in one call."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from trainer_client.client import RewardClient, RewardOutcome
from trainer_client.data import Example
from trainer_client.rollout import generate_rollouts


@dataclass(frozen=True)
class Evaluation:
    """Held-out figures: the share of correct greedy answers, of well-formatted ones, length."""

    accuracy: float
    format: float
    mean_length: float
    failed: int
    """Items the service could not score; left out of the means."""
    texts: list[str]

    def metrics(self) -> dict[str, float]:
        return {
            "eval/accuracy": self.accuracy,
            "eval/format": self.format,
            "eval/mean_length": self.mean_length,
        }


def _component_mean(outcomes: Sequence[RewardOutcome], name: str) -> float:
    values = [o.components[name] for o in outcomes if o.error is None and name in o.components]
    return sum(values) / len(values) if values else math.nan


def evaluate_greedy(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[Example],
    client: RewardClient,
    *,
    max_new_tokens: int,
    weights: Mapping[str, float] | None = None,
    format_style: str | None = None,
) -> Evaluation:
    """Answer every example greedily and score the answers with one ``/v1/rewards`` call."""
    rollout = generate_rollouts(
        model,
        tokenizer,
        [e.prompt for e in examples],
        group_size=1,
        max_new_tokens=max_new_tokens,
        greedy=True,
    )
    items = [
        e.reward_item(t, item_id=f"eval-{i}")
        for i, (e, t) in enumerate(zip(examples, rollout.texts, strict=True))
    ]
    outcomes = client.score(items, weights=weights, format_style=format_style)
    return Evaluation(
        accuracy=_component_mean(outcomes, "accuracy"),
        format=_component_mean(outcomes, "format"),
        mean_length=rollout.lengths.float().mean().item(),
        failed=sum(o.error is not None for o in outcomes),
        texts=rollout.texts,
    )
