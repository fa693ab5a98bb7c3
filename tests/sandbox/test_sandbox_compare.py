"""Comparison rules: strict by default, documented leniency only."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.compare import compare_json, compare_stdout

STDOUT_CASES = [
    ("exact", "3\n", "3\n", None, True),
    ("missing final newline", "3", "3\n", None, True),
    ("trailing spaces", "1 2   \n3\t\n", "1 2\n3\n", None, True),
    ("crlf", "1\r\n2\r\n", "1\n2\n", None, True),
    ("trailing blank lines", "3\n\n\n", "3\n", None, True),
    ("leading space differs", " 3\n", "3\n", None, False),
    ("inner spaces differ", "1  2\n", "1 2\n", None, False),
    ("case differs", "YES\n", "yes\n", None, False),
    ("prefix only", "1\n", "1\n2\n", None, False),
    ("extra line", "1\n2\n", "1\n", None, False),
    ("blank line inside", "1\n\n2\n", "1\n2\n", None, False),
    ("token order", "2 1\n", "1 2\n", None, False),
    ("empty vs something", "", "0\n", None, False),
    ("empty vs empty", "\n", "", None, True),
    ("float exact without tolerance", "0.333333\n", "0.3333333\n", None, False),
    ("float within tolerance", "0.333333\n", "0.3333333\n", 1e-6, True),
    ("float outside tolerance", "0.3334\n", "0.3333333\n", 1e-6, False),
    ("relative tolerance large", "1000000.1\n", "1000000\n", 1e-6, True),
    ("tolerance keeps words exact", "Yes 0.5\n", "yes 0.5\n", 1e-6, False),
    ("tolerance keeps token count", "0.5 0.5\n", "0.5\n", 1e-6, False),
    ("tolerance rejects nan", "nan\n", "1.0\n", 1e-6, False),
    ("tolerance keeps line breaks", "1\n2\n", "1 2\n", 1e-6, False),
]


@pytest.mark.parametrize(
    ("actual", "expected", "tolerance", "equal"),
    [case[1:] for case in STDOUT_CASES],
    ids=[case[0] for case in STDOUT_CASES],
)
def test_compare_stdout_rules(
    actual: str, expected: str, tolerance: float | None, equal: bool
) -> None:
    assert compare_stdout(actual, expected, float_tolerance=tolerance).equal is equal


JSON_CASES: list[tuple[str, Any, Any, float | None, bool]] = [
    ("list equals tuple", [1, 2], (1, 2), None, True),
    ("nested tuples", [[1, 2], [3]], ((1, 2), (3,)), None, True),
    ("int equals float value", 2, 2.0, None, True),
    ("bool is not int", True, 1, None, False),
    ("int is not bool", 1, True, None, False),
    ("string is not number", "3", 3, None, False),
    ("order matters", [2, 1], [1, 2], None, False),
    ("dict keys", {"a": 1}, {"a": 1}, None, True),
    ("dict extra key", {"a": 1, "b": 2}, {"a": 1}, None, False),
    ("float within tolerance", 0.30000000000000004, 0.3, 1e-9, True),
    ("float outside tolerance", 0.31, 0.3, 1e-9, False),
    ("null", None, None, None, True),
    ("null is not zero", None, 0, None, False),
]


@pytest.mark.parametrize(
    ("actual", "expected", "tolerance", "equal"),
    [case[1:] for case in JSON_CASES],
    ids=[case[0] for case in JSON_CASES],
)
def test_compare_json_rules(
    actual: Any, expected: Any, tolerance: float | None, equal: bool
) -> None:
    assert compare_json(actual, expected, float_tolerance=tolerance).equal is equal


def test_compare_stdout_reason_names_the_line() -> None:
    result = compare_stdout("1\n5\n", "1\n4\n")
    assert not result.equal
    assert "line 2" in result.reason
