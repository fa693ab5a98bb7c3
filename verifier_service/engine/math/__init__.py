"""Symbolic grading of math answers: find the final answer, parse it, compare it.

``verify`` is the whole pipeline for library use. The service splits it: it extracts in the
request process (cheap, linear-time) so equal answers can share one cached grading, and runs
``grade_answer`` (parsing + comparison, which can be slow) in killable worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from verifier_service.engine.math.compare import compare_answers
from verifier_service.engine.math.config import DEFAULT_MATH_CONFIG, MathConfig
from verifier_service.engine.math.extract import (
    Extraction,
    extract_final_answer,
    extract_reference,
)
from verifier_service.engine.math.parse import AnswerParseError, ParsedAnswer, parse_answer
from verifier_service.errors import InvalidReferenceError

__all__ = [
    "DEFAULT_MATH_CONFIG",
    "Extraction",
    "MathConfig",
    "MathResult",
    "extract_final_answer",
    "grade_answer",
    "parse_reference",
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
    """Parse an already extracted answer and the reference, and compare them.

    ``reference`` is the gold answer as stored (a bare answer, or a solution with a box).
    A prediction that cannot be parsed, or is refused (too long, a tower of powers, a huge
    factorial), is an incorrect result saying so; a reference that cannot be parsed raises
    InvalidReferenceError.
    """
    parsed_reference = parse_reference(reference, config=config)
    try:
        prediction = parse_answer(extracted, role="prediction", config=config)
    except AnswerParseError as error:
        rule = "refused" if error.refused else "unparsable"
        reason = f"prediction refused: {error.reason}" if error.refused else error.reason
        return MathResult(
            False, extracted, reason, rule, parsed_reference=parsed_reference.describe()
        )
    verdict = compare_answers(prediction, parsed_reference, config=config)
    return MathResult(
        verdict.correct,
        extracted,
        verdict.reason,
        verdict.rule,
        parsed_prediction=prediction.describe(),
        parsed_reference=parsed_reference.describe(),
    )


def parse_reference(reference: str, *, config: MathConfig = DEFAULT_MATH_CONFIG) -> ParsedAnswer:
    """The parsed gold answer (cached: a group of samples shares one reference).

    Raises InvalidReferenceError when it holds no answer, cannot be parsed or is refused.
    """
    answer = extract_reference(reference)
    try:
        return parse_answer(answer, role="reference", config=config)
    except AnswerParseError as error:
        raise InvalidReferenceError(f"reference {answer[:80]!r}: {error.reason}") from error


def verify(
    response: str, reference: str, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> MathResult:
    """Grade ``response`` against ``reference``: extraction, then parsing and comparison."""
    extraction = extract_final_answer(response, last_number_fallback=config.last_number_fallback)
    if extraction.answer is None:
        return MathResult(False, None, extraction.reason, "no_answer")
    result = grade_answer(extraction.answer, reference, config=config)
    return replace(result, extracted=extraction.answer)
