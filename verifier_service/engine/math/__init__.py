"""Symbolic grading of math answers: find the final answer, parse it, compare it.

``verify`` is the whole pipeline for library use. The service splits it: it extracts in the
request process (cheap, linear-time) so equal answers can share one cached grading, and runs
``grade_answer`` (parsing + comparison, which can be slow) in killable worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from verifier_service.engine.math.config import DEFAULT_MATH_CONFIG, MathConfig
from verifier_service.engine.math.extract import Extraction, extract_final_answer

__all__ = [
    "DEFAULT_MATH_CONFIG",
    "Extraction",
    "MathConfig",
    "MathResult",
    "extract_final_answer",
    "grade_answer",
    "verify",
]


@dataclass(frozen=True)
class MathResult:
    """The verdict on one response, with everything that explains it.

    rule: the machine-readable name of the rule that decided (e.g. "numeric_equal",
        "no_answer", "unit_mismatch"); reason: the same for humans.
    """

    correct: bool
    extracted: str | None
    reason: str
    rule: str
    parsed_prediction: str | None = None
    parsed_reference: str | None = None


def grade_answer(
    extracted: str, reference: str, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> MathResult:
    """Compare an already extracted answer with the reference (placeholder: exact text)."""
    correct = extracted.strip() == reference.strip()
    return MathResult(correct, extracted, "exact text comparison", "text_equal")


def verify(
    response: str, reference: str, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> MathResult:
    """Grade ``response`` against ``reference``: extraction, then parsing and comparison."""
    extraction = extract_final_answer(response, last_number_fallback=config.last_number_fallback)
    if extraction.answer is None:
        return MathResult(False, None, extraction.reason, "no_answer")
    result = grade_answer(extraction.answer, reference, config=config)
    return replace(result, extracted=extraction.answer)
