"""Reading a judge's score strictly, and putting scores of either scorer on a chosen scale.

A judge's reply counts only when its last non-blank line is ``Score: N`` with N a whole number
from 1 to 10 (or ``Better: A``/``Better: B`` for a comparison; light Markdown emphasis and a
final full stop are tolerated) and no other ``Score:`` line in the reply says something else.
Anything else raises JudgeUnparseableError: an unreadable reply is never a score.

A reward model's raw score (a logit) is unbounded; :func:`normalise` maps it as the settings
say: ``raw`` as is, ``sigmoid`` into (0, 1), or ``standardized`` against the running mean and
standard deviation of the scores seen so far (:class:`RunningStats`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from verifier_service.errors import JudgeUnparseableError

__all__ = [
    "SCORE_RANGE",
    "Normalization",
    "RunningStats",
    "judge_scale",
    "normalise",
    "parse_better",
    "parse_score",
]

SCORE_RANGE = (1, 10)
_PREVIEW = 80


class Normalization(StrEnum):
    """How a reward model's raw score becomes a reward component."""

    RAW = "raw"
    SIGMOID = "sigmoid"
    STANDARDIZED = "standardized"


def parse_score(reply: str, *, finish_reason: str | None = None) -> int:
    """The N of the reply's final ``Score: N`` line (1 to 10); JudgeUnparseableError otherwise."""
    choice = _final_choice(reply, "Score", r"\d{1,3}", finish_reason)
    value = int(choice)
    low, high = SCORE_RANGE
    if not low <= value <= high:
        raise JudgeUnparseableError(f"the score {value} is outside {low} to {high}")
    return value


def parse_better(reply: str, *, finish_reason: str | None = None) -> Literal["A", "B"]:
    """``A`` or ``B`` from the reply's final ``Better: …`` line; JudgeUnparseableError otherwise."""
    choice = _final_choice(reply, "Better", r"[AB]", finish_reason).upper()
    return "A" if choice == "A" else "B"


def judge_scale(score: int) -> float:
    """A 1–10 judge score on [0, 1]: 1 → 0.0, 10 → 1.0."""
    low, high = SCORE_RANGE
    return (score - low) / (high - low)


@dataclass
class RunningStats:
    """Mean and standard deviation of every score seen (Welford's update: one pass, stable)."""

    count: int = 0
    mean: float = 0.0
    _m2: float = 0.0

    def update(self, value: float) -> None:
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (value - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self._m2 / (self.count - 1)) if self.count > 1 else 0.0


def normalise(raw: float, mode: Normalization, stats: RunningStats) -> float:
    """``raw`` on the scale ``mode`` names; ``stats`` should already include ``raw``.

    The first scores standardise against too little history: until two scores have been seen,
    or while they are all equal, a standardised score is 0.0.
    """
    if mode is Normalization.RAW:
        return raw
    if mode is Normalization.SIGMOID:
        # Written for both signs so that a large logit never overflows exp().
        if raw >= 0:
            return 1.0 / (1.0 + math.exp(-raw))
        exp = math.exp(raw)
        return exp / (1.0 + exp)
    std = stats.std
    return (raw - stats.mean) / std if std > 0 else 0.0


def _final_choice(reply: str, label: str, choice: str, finish_reason: str | None) -> str:
    cut = " (the reply was cut at its token limit)" if finish_reason == "length" else ""
    lines = [line for line in reply.splitlines() if line.strip()]
    if not lines:
        raise JudgeUnparseableError(f"the judge's reply is empty{cut}")
    head = rf"{label}[*_]*[ \t]*[:：][*_ \t]*(?P<choice>{choice})"
    line = re.compile(rf"[*_ \t]*{head}[*_]*[ \t]*(?:/[ \t]*10)?\.?[*_ \t]*", re.IGNORECASE)
    match = line.fullmatch(lines[-1])
    if match is None:
        raise JudgeUnparseableError(
            f"the reply's last line {_preview(lines[-1])} is not '{label}: <value>'{cut}"
        )
    final = match.group("choice").upper()
    anywhere = re.compile(rf"{label}[*_]*[ \t]*[:：][*_ \t]*(?P<choice>\S+)", re.IGNORECASE)
    for other in anywhere.finditer(reply):
        written = other.group("choice").strip("*_.").upper()
        if written.removesuffix("/10") != final:
            raise JudgeUnparseableError(
                f"the reply names two values: {_preview(other.group(0))} and {_preview(lines[-1])}"
            )
    return final


def _preview(text: str) -> str:
    text = text.strip()
    return repr(text[:_PREVIEW] + "…" if len(text) > _PREVIEW else text)
