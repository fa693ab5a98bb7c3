"""The code reward: find the program in a response, describe its tests, score the outcome.

Running the program is the sandbox's job (``sandbox`` package); this module is pure: it turns
the wire format's plain data into sandbox values and a sandbox result into a reward.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sandbox import AssertTest, CallTest, Limits, RunResult, StdioTest, Test, Verdict
from sandbox.languages import ALIASES, get_language
from verifier_service.engine.format import final_part
from verifier_service.errors import InvalidInputError, sandbox_boundary

Scoring = Literal["binary", "fraction"]

# A fence opens a line with three or more backticks (or tildes) and an optional info string.
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$", re.MULTILINE)


@dataclass(frozen=True)
class ProgramExtraction:
    """The program found in a response, or None with the reason."""

    code: str | None
    reason: str


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info word, body) of every closed fenced block, in order."""
    blocks: list[tuple[str, str]] = []
    position = 0
    while True:
        opening = _FENCE.search(text, position)
        if opening is None:
            return blocks
        fence = opening.group(1)
        # The block ends at the next line that is only a fence of the same kind, as long or longer.
        closing = re.compile(
            rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE
        ).search(text, opening.end())
        if closing is None:
            return blocks  # an unclosed block is a truncated program: not taken
        blocks.append((opening.group(2).lower(), text[opening.end() + 1 : closing.start()]))
        position = closing.end()


def _language_names(language: str) -> set[str]:
    with sandbox_boundary():
        name = get_language(language).name
    return {name} | {alias for alias, target in ALIASES.items() if target == name}


def extract_program(response: str, language: str) -> ProgramExtraction:
    """The last fenced block in ``language`` after ``</think>``.

    A block tagged with the language (or an alias: ``py``, ``c++``, ``js``…) wins; without
    one, the last untagged block is taken. A block tagged with another language never is.
    """
    answer = final_part(response)
    if answer is None:
        return ProgramExtraction(None, "the response opens <think> and never closes it")
    names = _language_names(language)
    blocks = _fenced_blocks(answer)
    tagged = [body for info, body in blocks if info in names]
    untagged = [body for info, body in blocks if not info]
    body = tagged[-1] if tagged else untagged[-1] if untagged else None
    if body is None or not body.strip():
        return ProgramExtraction(None, f"no fenced {language} code block after the reasoning")
    source = "tagged" if tagged else "untagged"
    return ProgramExtraction(body, f"the last {source} fenced block after the reasoning")


def build_tests(tests: Sequence[Mapping[str, Any]]) -> list[Test]:
    """Sandbox tests from the wire format; InvalidInputError names the first bad one."""
    if not tests:
        raise InvalidInputError("a code item needs at least one test")
    built: list[Test] = []
    for index, test in enumerate(tests):
        keys = set(test)
        if keys == {"stdin", "expected_stdout"} or keys == {"expected_stdout"}:
            stdin = test.get("stdin") or ""
            _require_types(index, test, stdin=str, expected_stdout=str)
            built.append(StdioTest(stdin, test["expected_stdout"]))
        elif keys == {"fn_name", "args", "expected"}:
            _require_types(index, test, fn_name=str, args=list)
            built.append(CallTest(test["fn_name"], list(test["args"]), test["expected"]))
        elif keys == {"test_code"}:
            _require_types(index, test, test_code=str)
            built.append(AssertTest(test["test_code"]))
        else:
            raise InvalidInputError(
                f"test {index} has fields {sorted(keys)}; a test is one of "
                "{stdin, expected_stdout}, {fn_name, args, expected} or {test_code}"
            )
    return built


def _require_types(index: int, test: Mapping[str, Any], **types: type) -> None:
    for name, kind in types.items():
        value = (test.get(name) or "") if name == "stdin" else test[name]  # null stdin: none
        if not isinstance(value, kind):
            raise InvalidInputError(
                f"test {index}: {name!r} must be a {kind.__name__}, not {type(value).__name__}"
            )


def build_limits(time_s: float, memory_mb: int) -> Limits:
    """Sandbox limits; InvalidInputError (not ValueError) for values out of range."""
    try:
        return Limits(time_s=time_s, memory_mb=memory_mb)
    except ValueError as exc:
        raise InvalidInputError(f"limits: {exc}") from exc


def score_run(result: RunResult, scoring: Scoring) -> float:
    """Binary: 1 when every test passed. Fraction: the share of tests passed."""
    if scoring == "binary":
        return 1.0 if result.verdict is Verdict.AC else 0.0
    return result.score
