"""Tests of combining reward components into one reward."""

from __future__ import annotations

import math

import pytest

from verifier_service.engine.combine import DEFAULT_WEIGHTS, combine_components
from verifier_service.errors import InvalidInputError

CASES = [
    pytest.param({"accuracy": 1.0, "format": 1.0, "language": 1.0}, DEFAULT_WEIGHTS, 3.0, id="all"),
    pytest.param({"accuracy": 0.0, "format": 1.0, "language": 0.5}, DEFAULT_WEIGHTS, 1.5, id="mix"),
    pytest.param({"format": 1.0}, DEFAULT_WEIGHTS, 1.0, id="absent-components-ignored"),
    pytest.param({}, DEFAULT_WEIGHTS, 0.0, id="no-components"),
    pytest.param(
        {"accuracy": 1.0, "format": 1.0}, {"accuracy": 2.0, "format": 0.5}, 2.5, id="weighted"
    ),
    pytest.param({"accuracy": 1.0, "format": 1.0}, {"format": 0.0}, 1.0, id="unnamed-weighs-1"),
    pytest.param({"accuracy": 1.0, "length": -0.25}, {}, 0.75, id="no-weights-plain-sum"),
    pytest.param({"accuracy": 1.0}, {"accuracy": -1.0}, -1.0, id="negative-weight"),
    pytest.param({"accuracy": 1.0}, {"accuracy": 1.0, "judge": 5.0}, 1.0, id="extra-weight"),
]


@pytest.mark.parametrize(("components", "weights", "expected"), CASES)
def test_combine_components_weighted_sum(
    components: dict[str, float], weights: dict[str, float], expected: float
) -> None:
    assert combine_components(components, weights) == pytest.approx(expected)


def test_combine_components_default_weights_are_r1_rewards() -> None:
    assert dict(DEFAULT_WEIGHTS) == {"accuracy": 1.0, "format": 1.0, "language": 1.0}


def test_combine_components_default_weights_are_read_only() -> None:
    with pytest.raises(TypeError):
        DEFAULT_WEIGHTS["accuracy"] = 2.0  # type: ignore[index]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_combine_components_rejects_non_finite_component(bad: float) -> None:
    with pytest.raises(InvalidInputError, match="component 'accuracy' must be a finite number"):
        combine_components({"accuracy": bad, "format": 1.0}, DEFAULT_WEIGHTS)


@pytest.mark.parametrize("bad", [math.nan, math.inf], ids=["nan", "inf"])
def test_combine_components_rejects_non_finite_weight(bad: float) -> None:
    with pytest.raises(InvalidInputError, match="weight 'language' must be a finite number"):
        combine_components({"accuracy": 1.0}, {"language": bad})
