"""Tests of the math pipeline's front: grade_answer and verify, their results and errors."""

from __future__ import annotations

import pytest

from verifier_service.engine.math import (
    MathConfig,
    MathResult,
    grade_answer,
    parse_reference,
    verify,
)
from verifier_service.engine.math.parse import PARSE_CACHE
from verifier_service.errors import InvalidReferenceError


def test_grade_answer_explains_a_match() -> None:
    result = grade_answer(r"\frac{1}{2}", "0.5")
    assert result == MathResult(
        True, r"\frac{1}{2}", "1/2 equals 1/2 exactly", "numeric_equal", "1/2", "1/2"
    )


def test_grade_answer_explains_a_mismatch() -> None:
    result = grade_answer("0.29", r"28\%")
    assert (result.correct, result.rule, result.parsed_reference) == (
        False,
        "percent_unequal",
        "28 [percent]",
    )


def test_grade_answer_reads_a_solution_reference() -> None:
    reference = r"So the total is $2 + 3 = \boxed{5}$."
    assert grade_answer("5", reference).correct


@pytest.mark.parametrize(
    "prediction",
    [r"5^{5^{5^{5^5}}}", "1000000!", r"10^{10^{10}}", "9" * 5000],
    ids=["tower", "factorial", "double-exponent", "too-long"],
)
def test_grade_answer_refuses_a_prediction_as_an_outcome(prediction: str) -> None:
    result = grade_answer(prediction, "5")
    assert (result.correct, result.rule) == (False, "refused")
    assert result.reason.startswith("prediction refused")


def test_grade_answer_unparsable_prediction_is_an_outcome() -> None:
    result = grade_answer(r"\frac{1}{", "5")
    assert (result.correct, result.rule, result.parsed_reference) == (False, "unparsable", "5")


@pytest.mark.parametrize(
    "reference",
    [r"5^{5^{5^{5^5}}}", r"\frac{1}{", "", r"\boxed{}"],
    ids=["refused", "unparsable", "empty", "empty-box"],
)
def test_grade_answer_bad_reference_raises(reference: str) -> None:
    with pytest.raises(InvalidReferenceError):
        grade_answer("5", reference)


def test_parse_reference_is_cached() -> None:
    reference = r"\frac{123}{457} + \sqrt{7}"
    parse_reference(reference)
    hits = PARSE_CACHE.hits
    for _ in range(15):
        grade_answer(r"\sqrt{7}", reference)
    assert PARSE_CACHE.hits >= hits + 15


def test_grade_answer_respects_the_config() -> None:
    config = MathConfig(rounded_decimal_places=4)
    assert grade_answer("0.3333", r"\frac13", config=config).correct
    assert not grade_answer("0.3333", r"\frac13").correct


def test_verify_runs_extraction_then_grading() -> None:
    result = verify(r"<think>maybe 3</think> The answer is \boxed{\dfrac{1}{2}}.", "0.5")
    assert (result.correct, result.extracted) == (True, r"\dfrac{1}{2}")


def test_verify_without_answer_is_no_answer() -> None:
    result = verify("I think it is probably five.", "5")
    assert (result.correct, result.rule, result.extracted) == (False, "no_answer", None)


def test_verify_rejects_listed_alternatives() -> None:
    result = verify(r"\boxed{1 \text{ or } 2}", "1")
    assert (result.correct, result.rule) == (False, "alternatives")


def test_verify_unit_mismatch() -> None:
    result = verify(r"\boxed{5\text{ km}}", r"5\text{ m}")
    assert (result.correct, result.rule) == (False, "unit_mismatch")


def test_config_rejects_bad_limits() -> None:
    with pytest.raises(ValueError, match="max_exponent"):
        MathConfig(max_exponent=0)
