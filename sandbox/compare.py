"""Output comparison rules; expected outputs are compared here, outside the sandbox.

Rules for stdout (compare_stdout), chosen to be strict because every lenient rule in use
elsewhere (prefix matching, case folding, token sets) is a reward an RL policy can exploit:

1. Line endings: "\\r\\n" and "\\n" are the same (a trailing "\\r" is trailing whitespace).
2. Trailing whitespace at the end of each line is ignored.
3. Trailing blank lines at the end of the output are ignored.
4. Everything else is exact: leading whitespace, spaces inside lines, case, line count, order.
5. Optional float tolerance (per test set): each line is split on whitespace and must have the
   same number of tokens; tokens that both parse as finite decimal numbers are equal when
   |a - b| <= tol * max(1, |b|) (absolute below 1, relative above); other tokens are exact.
   Whitespace inside a line then no longer matters, but line breaks still do.

Function-call results (compare_json) are compared as JSON after serialisation, so a tuple and a
list are the same; with a float tolerance, numbers (not booleans) compare as in rule 5.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class Comparison:
    """Whether an output matched, and where it first differs when it did not."""

    equal: bool
    reason: str = ""


def _normalised_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _numbers_close(actual: float, expected: float, tolerance: float) -> bool:
    return abs(actual - expected) <= tolerance * max(1.0, abs(expected))


def _tokens_equal(actual: str, expected: str, tolerance: float) -> bool:
    if actual == expected:
        return True
    if not (_NUMBER.fullmatch(actual) and _NUMBER.fullmatch(expected)):
        return False
    a, b = float(actual), float(expected)
    return math.isfinite(a) and math.isfinite(b) and _numbers_close(a, b, tolerance)


def _lines_equal(actual: str, expected: str, tolerance: float | None) -> bool:
    if tolerance is None:
        return actual == expected
    got, want = actual.split(), expected.split()
    return len(got) == len(want) and all(
        _tokens_equal(a, b, tolerance) for a, b in zip(got, want, strict=True)
    )


def compare_stdout(
    actual: str, expected: str, *, float_tolerance: float | None = None
) -> Comparison:
    """Compare a program's stdout with the expected one under the module's rules."""
    got, want = _normalised_lines(actual), _normalised_lines(expected)
    for number, (a, b) in enumerate(zip(got, want, strict=False), start=1):
        if not _lines_equal(a, b, float_tolerance):
            return Comparison(False, f"line {number} differs: got {a[:80]!r}, want {b[:80]!r}")
    if len(got) != len(want):
        return Comparison(False, f"got {len(got)} lines, want {len(want)}")
    return Comparison(True)


def _json_equal(actual: Any, expected: Any, tolerance: float | None) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        if tolerance is None or (isinstance(actual, int) and isinstance(expected, int)):
            return actual == expected
        return _numbers_close(float(actual), float(expected), tolerance)
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            _json_equal(a, b, tolerance) for a, b in zip(actual, expected, strict=True)
        )
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            _json_equal(actual[key], expected[key], tolerance) for key in actual
        )
    return type(actual) is type(expected) and actual == expected


def normalise_json(value: Any) -> Any:
    """A value as it reads back from JSON (tuples become lists); TypeError if not JSON."""
    return json.loads(json.dumps(value))


def compare_json(actual: Any, expected: Any, *, float_tolerance: float | None = None) -> Comparison:
    """Compare a function's JSON result with the expected value (normalised the same way)."""
    want = normalise_json(expected)
    if _json_equal(actual, want, float_tolerance):
        return Comparison(True)
    return Comparison(False, f"got {json.dumps(actual)[:120]}, want {json.dumps(want)[:120]}")
