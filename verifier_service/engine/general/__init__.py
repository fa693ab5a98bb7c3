"""Rewards for general data, as in DeepSeek-R1's last RL stage: helpfulness and harmlessness.

``views`` decides what each scorer reads (helpfulness: the prompt and the final summary;
harmlessness: the prompt and the whole response), ``rubrics`` holds the judge's rubric prompts as
data, ``scores`` reads scores strictly and normalises them, ``length`` measures and removes the
length bias, and ``scorers`` / ``reward_model`` are the two kinds of scorer. ``reward_model`` is
imported lazily: the service imports this package without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from verifier_service.engine.general.length import LengthReport, length_controlled, length_report
from verifier_service.engine.general.rubrics import PAIRWISE, RATINGS, Rubric
from verifier_service.engine.general.scorers import (
    Comparison,
    JudgeScorer,
    Preferred,
    Rating,
    Scorer,
    ScorerKind,
)
from verifier_service.engine.general.scores import (
    Normalization,
    RunningStats,
    normalise,
    parse_better,
    parse_score,
)
from verifier_service.engine.general.views import (
    Conversation,
    NoSummary,
    harmlessness_view,
    helpfulness_view,
)

if TYPE_CHECKING:
    from verifier_service.engine.general.reward_model import RewardModelScorer

__all__ = [
    "COMPONENTS",
    "PAIRWISE",
    "RATINGS",
    "Comparison",
    "Conversation",
    "JudgeScorer",
    "LengthReport",
    "NoSummary",
    "Normalization",
    "Preferred",
    "Rating",
    "RewardModelScorer",
    "Rubric",
    "RunningStats",
    "Scorer",
    "ScorerKind",
    "harmlessness_view",
    "helpfulness_view",
    "length_controlled",
    "length_report",
    "normalise",
    "parse_better",
    "parse_score",
]

COMPONENTS = ("helpfulness", "harmlessness")


def __getattr__(name: str) -> Any:
    if name == "RewardModelScorer":
        from verifier_service.engine.general.reward_model import RewardModelScorer

        return RewardModelScorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
