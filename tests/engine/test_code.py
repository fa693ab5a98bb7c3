"""The code reward's pure parts: finding the program, describing tests, scoring a run."""

from __future__ import annotations

import pytest

from sandbox import AssertTest, CallTest, RunResult, StdioTest, Verdict
from verifier_service.engine.code import build_limits, build_tests, extract_program, score_run
from verifier_service.errors import InvalidInputError

PY = "print(1)\n"

EXTRACTION_CASES = [
    ("tagged block", f"```python\n{PY}```", "python", PY),
    ("alias tag", f"```py\n{PY}```", "python", PY),
    ("last of several", f"```python\nprint(0)\n```\ntext\n```python\n{PY}```", "python", PY),
    (
        "after think only",
        f"<think>```python\nprint(0)\n```</think>\n```python\n{PY}```",
        "python",
        PY,
    ),
    ("untagged fallback", f"```\n{PY}```", "python", PY),
    ("tagged beats later untagged", f"```python\n{PY}```\n```\nls\n```", "python", PY),
    ("cpp alias", "```c++\nint main(){}\n```", "cpp", "int main(){}\n"),
    ("longer fence", f"````python\n```\n{PY}````", "python", f"```\n{PY}"),
    ("tilde fence", f"~~~python\n{PY}~~~", "python", PY),
]


@pytest.mark.parametrize(
    ("response", "language", "program"),
    [c[1:] for c in EXTRACTION_CASES],
    ids=[c[0] for c in EXTRACTION_CASES],
)
def test_code_extract_program_finds_the_last_block(
    response: str, language: str, program: str
) -> None:
    assert extract_program(response, language).code == program


NO_PROGRAM_CASES = [
    ("no block", "I would print one.", "python"),
    ("other language only", "```cpp\nint main(){}\n```", "python"),
    ("only inside think", f"<think>```python\n{PY}```</think> done", "python"),
    ("unclosed think", f"<think>```python\n{PY}```", "python"),
    ("unclosed block", f"```python\n{PY}", "python"),
    ("empty block", "```python\n\n```", "python"),
]


@pytest.mark.parametrize(
    ("response", "language"),
    [c[1:] for c in NO_PROGRAM_CASES],
    ids=[c[0] for c in NO_PROGRAM_CASES],
)
def test_code_extract_program_finds_nothing_and_says_why(response: str, language: str) -> None:
    extraction = extract_program(response, language)
    assert extraction.code is None
    assert extraction.reason


def test_code_extract_program_unknown_language_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="cobol"):
        extract_program("```cobol\nx\n```", "cobol")


@pytest.mark.timeout(20)
def test_code_extract_program_is_fast_on_hostile_input() -> None:
    hostile = "```python\n" * 200_000 + "x`" * 500_000
    assert extract_program(hostile, "python").code is None


def test_code_build_tests_of_each_kind() -> None:
    tests = build_tests(
        [
            {"stdin": "1\n", "expected_stdout": "2\n"},
            {"expected_stdout": "x"},
            {"fn_name": "f", "args": [1], "expected": None},
            {"test_code": "assert f(1) == 2"},
        ]
    )
    assert tests == [
        StdioTest("1\n", "2\n"),
        StdioTest("", "x"),
        CallTest("f", [1], None),
        AssertTest("assert f(1) == 2"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        [],
        [{"stdin": "1"}],
        [{"fn_name": "f", "args": []}],
        [{"test_code": "x", "stdin": ""}],
        [{"fn_name": None, "args": None, "expected": [None]}],
        [{"fn_name": "f", "args": "1, 2", "expected": 3}],
        [{"stdin": 1, "expected_stdout": "1"}],
        [{"expected_stdout": None}],
        [{"test_code": None}],
    ],
    ids=[
        "none",
        "no-expected",
        "no-expected-value",
        "mixed-kinds",
        "null-call",
        "args-not-a-list",
        "stdin-not-text",
        "null-stdout",
        "null-code",
    ],
)
def test_code_build_tests_rejects_malformed_tests(bad: list[dict[str, object]]) -> None:
    with pytest.raises(InvalidInputError):
        build_tests(bad)


def test_code_build_limits_out_of_range_is_invalid_input() -> None:
    assert build_limits(2, 256).memory_mb == 256
    with pytest.raises(InvalidInputError, match="time_s"):
        build_limits(0, 256)


def _run(verdict: Verdict, passed: int, total: int) -> RunResult:
    return RunResult(verdict, passed, total)


@pytest.mark.parametrize(
    ("run", "binary", "fraction"),
    [
        (_run(Verdict.AC, 4, 4), 1.0, 1.0),
        (_run(Verdict.WA, 3, 4), 0.0, 0.75),
        (_run(Verdict.CE, 0, 4), 0.0, 0.0),
        (_run(Verdict.TLE, 1, 4), 0.0, 0.25),
    ],
    ids=["all-pass", "one-wrong", "compile-error", "time-limit"],
)
def test_code_score_run_binary_and_fraction(run: RunResult, binary: float, fraction: float) -> None:
    assert score_run(run, "binary") == binary
    assert score_run(run, "fraction") == fraction
