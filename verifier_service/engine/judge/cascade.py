"""The cascade: rules decide first, the judge only hears what the rules did not accept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from verifier_service.engine.math import MathResult

__all__ = ["CascadeDecision", "JudgeMode", "decide_cascade"]

JudgeMode = Literal["judge", "cascade"]


@dataclass(frozen=True)
class CascadeDecision:
    """Whether to ask the judge about an item, given the math grader's result.

    ask_judge: True when the judge must decide; correct is then None.
    correct: the rules' decision when they settle the item.
    reason: why.
    """

    ask_judge: bool
    correct: bool | None
    reason: str


def decide_cascade(
    math_result: MathResult | None, *, mode: JudgeMode = "cascade"
) -> CascadeDecision:
    """Decide whether ``math_result`` settles the item or the judge must be asked.

    Only a rule's acceptance settles an item: a rejection may be a false negative of the rules
    (an answer in words, an equivalent form they do not know) and goes to the judge, and so does
    an item the rules could not grade (``math_result`` None: no answer found, reference
    unparsable). In ``judge`` mode the judge is always asked.
    """
    if mode == "judge":
        return CascadeDecision(True, None, "judge mode: the judge decides every item")
    if math_result is None:
        return CascadeDecision(True, None, "the rules could not grade the item")
    if math_result.correct:
        return CascadeDecision(False, True, f"the rules accepted the answer ({math_result.rule})")
    return CascadeDecision(True, None, f"the rules rejected the answer ({math_result.rule})")
