"""The known length bias of helpfulness scorers: measured per batch, and optionally removed.

Reward models and judges alike tend to score longer answers higher, and a policy trained on
them learns to pad. Each batch reports how its helpfulness scores go with the length of the
summaries they judged (Pearson's correlation and the least-squares slope). With length control
on, each score is replaced by its residual from that line, moved back to the batch's mean:
``h - slope * (chars - mean_chars)``, so within a batch length no longer pays.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LengthReport", "length_controlled", "length_report"]

_MIN_ITEMS = 3  # a line through two points always fits: no evidence of a bias


@dataclass(frozen=True)
class LengthReport:
    """How helpfulness went with summary length in one batch.

    items: scored summaries in the batch.
    mean_chars: their mean length in characters.
    correlation: Pearson's r between length and score; None with fewer than three items or
        when every length (or every score) is the same.
    slope_per_1k_chars: the score gained per 1000 more characters (least squares), or None.
    """

    items: int
    mean_chars: float
    correlation: float | None
    slope_per_1k_chars: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "items": self.items,
            "mean_chars": round(self.mean_chars, 1),
            "correlation": _rounded(self.correlation),
            "slope_per_1k_chars": _rounded(self.slope_per_1k_chars),
        }


def length_report(lengths: Sequence[int], scores: Sequence[float]) -> LengthReport:
    """The length bias of one batch of (summary length, helpfulness score) pairs."""
    if len(lengths) != len(scores):
        raise ValueError("length_report needs one length per score")
    mean = statistics.fmean(lengths) if lengths else 0.0
    slope = _slope(lengths, scores)
    correlation = None
    if slope is not None and len(set(scores)) > 1:
        correlation = statistics.correlation([float(n) for n in lengths], list(scores))
    per_1k = None if slope is None else slope * 1000
    return LengthReport(len(scores), mean, correlation, per_1k)


def length_controlled(lengths: Sequence[int], scores: Sequence[float]) -> list[float]:
    """``scores`` with their linear dependence on ``lengths`` in this batch removed.

    Unchanged when the batch is too small or every length is the same.
    """
    slope = _slope(lengths, scores)
    if slope is None:
        return list(scores)
    mean = statistics.fmean(lengths)
    return [score - slope * (length - mean) for length, score in zip(lengths, scores, strict=True)]


def _slope(lengths: Sequence[int], scores: Sequence[float]) -> float | None:
    if len(scores) < _MIN_ITEMS or len(set(lengths)) < 2:
        return None
    return statistics.linear_regression([float(n) for n in lengths], list(scores)).slope


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
