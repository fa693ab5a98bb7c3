"""Rejection sampling: the drop reasons as a table, the checks they rest on, the file run."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from verifier_service import filtering
from verifier_service.engine.language import LanguageResult
from verifier_service.errors import GradingTimeoutError, InvalidInputError, VerifierError
from verifier_service.filtering import (
    FilterOptions,
    filter_file,
    filter_reasons,
    has_code_block,
    longest_paragraph,
    score_language,
)

CORRECT = {"correct": True, "extracted": "4", "error": None}
WRONG = {"correct": False, "extracted": "5", "error": None}
NO_ANSWER = {"correct": False, "extracted": None, "error": None}
FAILED = {"correct": None, "error": {"code": "timeout", "message": "too slow"}}
ENGLISH = LanguageResult(1.0, {"en": 20}, 20, "20 of 20 words are en")
MIXED = LanguageResult(0.6, {"en": 12, "zh": 8}, 20, "12 of 20 words are en")
NEARLY = LanguageResult(0.96, {"en": 24, "zh": 1}, 25, "24 of 25 words are en")
NO_WORDS = LanguageResult(None, {}, 0, "no words left")
LANGUAGE_FAILED = VerifierError("language scoring failed: boom")
CLEAN = "<think>Add two and two.</think> The answer is \\boxed{4}."
CODE_IN_THINK = "<think>Check:\n```python\nprint(2 + 2)\n```\n</think> \\boxed{4}"
CODE_AFTER_THINK = "<think>Add them.</think>\n```python\nprint(4)\n```\n\\boxed{4}"
LONG = "<think>" + "word " * 500 + "</think> \\boxed{4}"
LONG_SPLIT = "<think>" + ("word " * 100 + "\n\n") * 5 + "</think> \\boxed{4}"
DEFAULT = FilterOptions()
NO_CODE_CHECK = FilterOptions(allow_code_in_reasoning=True)
NO_PARAGRAPH_CHECK = FilterOptions(max_paragraph_chars=None)

REASONS = [
    pytest.param(CLEAN, CORRECT, ENGLISH, DEFAULT, [], id="kept"),
    pytest.param(CLEAN, WRONG, ENGLISH, DEFAULT, ["incorrect"], id="incorrect"),
    pytest.param(CLEAN, NO_ANSWER, ENGLISH, DEFAULT, ["incorrect"], id="no-answer"),
    pytest.param(CLEAN, FAILED, ENGLISH, DEFAULT, ["grading_error"], id="grading-failed"),
    pytest.param(CLEAN, CORRECT, MIXED, DEFAULT, ["mixed_language"], id="mixed-language"),
    pytest.param(CLEAN, CORRECT, NEARLY, DEFAULT, [], id="above-threshold"),
    pytest.param(
        CLEAN,
        CORRECT,
        NEARLY,
        FilterOptions(min_language_score=0.99),
        ["mixed_language"],
        id="stricter-threshold",
    ),
    pytest.param(CLEAN, CORRECT, NO_WORDS, DEFAULT, [], id="no-words-not-mixed"),
    pytest.param(CLEAN, CORRECT, LANGUAGE_FAILED, DEFAULT, ["language_error"], id="lang-error"),
    pytest.param(LONG, CORRECT, ENGLISH, DEFAULT, ["long_paragraph"], id="long-paragraph"),
    pytest.param(LONG_SPLIT, CORRECT, ENGLISH, DEFAULT, [], id="long-text-short-paragraphs"),
    pytest.param(LONG, CORRECT, ENGLISH, NO_PARAGRAPH_CHECK, [], id="paragraph-check-off"),
    pytest.param(CODE_IN_THINK, CORRECT, ENGLISH, DEFAULT, ["code_in_reasoning"], id="code"),
    pytest.param(CODE_IN_THINK, CORRECT, ENGLISH, NO_CODE_CHECK, [], id="code-allowed"),
    pytest.param(CODE_AFTER_THINK, CORRECT, ENGLISH, DEFAULT, [], id="code-after-think"),
    pytest.param(
        CODE_IN_THINK,
        WRONG,
        MIXED,
        DEFAULT,
        ["incorrect", "mixed_language", "code_in_reasoning"],
        id="every-reason-listed",
    ),
]


@pytest.mark.parametrize(("response", "graded", "language", "options", "expected"), REASONS)
def test_filter_reasons_table(
    response: str,
    graded: dict[str, Any],
    language: LanguageResult | VerifierError,
    options: FilterOptions,
    expected: list[str],
) -> None:
    sample = {"response": response, "reference": "4"}
    assert filter_reasons(sample, graded, language, options) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("one paragraph", 13, id="one"),
        pytest.param("short\n\n  a longer one  \n\nmid", 12, id="trimmed"),
        pytest.param("line one\nline two", 17, id="single-break-joins"),
        pytest.param("a\n \t\nbb", 2, id="blank-line-with-spaces"),
    ],
)
def test_longest_paragraph_counts_characters(text: str, expected: int) -> None:
    assert longest_paragraph(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("```python\nx = 1\n```", True, id="backticks"),
        pytest.param("text\n~~~\ncode\n~~~", True, id="tildes"),
        pytest.param("text\n   ```\nunclosed", True, id="indented-unclosed"),
        pytest.param("use `x = 1` inline", False, id="inline-code"),
        pytest.param("the string ``` inside a line", False, id="mid-line-backticks"),
        pytest.param("    indented = 1", False, id="indented-block"),
    ],
)
def test_has_code_block_finds_fences(text: str, expected: bool) -> None:
    assert has_code_block(text) is expected


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({"target_language": "klingon"}, "unknown target", id="language"),
        pytest.param({"min_language_score": 1.5}, "min_language_score", id="score"),
        pytest.param({"max_paragraph_chars": 0}, "max_paragraph_chars", id="paragraph"),
    ],
)
def test_filter_options_reject_bad_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        FilterOptions(**settings)


def test_score_language_scores_the_reasoning() -> None:
    result = score_language(
        "<think>Let me add these two numbers and then check the result.</think> 4", DEFAULT
    )
    assert isinstance(result, LanguageResult)
    assert result.score == 1.0


def test_score_language_turns_a_scorer_failure_into_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(text: str, *, target: str) -> LanguageResult:
        raise RuntimeError("model file is corrupt")

    monkeypatch.setattr(filtering, "language_consistency", broken)
    result = score_language("anything", DEFAULT)
    assert isinstance(result, VerifierError)
    assert "RuntimeError: model file is corrupt" in result.message


# --- the file run, with a fake grader -------------------------------------------------------


async def _grade_by_box(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for response, reference in pairs:
        if reference == "slow":
            results.append({"correct": None, "error": GradingTimeoutError("slow").as_dict()})
        else:
            results.append({"correct": response.endswith(f"\\boxed{{{reference}}}"), "error": None})
    return results


def test_filter_file_keeps_lines_verbatim_and_explains_drops(tmp_path: Path) -> None:
    english = "<think>Let me add these two numbers and then check the result.</think> "
    rows = [
        '{"id":"kept",  "response": "' + english + '\\\\boxed{4}", "reference": "4"}',
        json.dumps({"id": "wrong", "response": english + "\\boxed{5}", "reference": "4"}),
        json.dumps({"id": "slow", "response": english + "\\boxed{5}", "reference": "slow"}),
        "not json at all",
        json.dumps({"id": "no-reference", "response": english}),
        "",
        json.dumps({"id": "kept-2", "response": english + "\\boxed{7}", "reference": "7"}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    kept, dropped = io.StringIO(), io.StringIO()
    stages: list[tuple[str, int, int]] = []

    report = asyncio.run(
        filter_file(
            source,
            kept,
            dropped,
            _grade_by_box,
            DEFAULT,
            batch_size=2,
            on_progress=lambda *call: stages.append(call),
        )
    )

    assert kept.getvalue().splitlines() == [rows[0], rows[6]]
    drops = [json.loads(line) for line in dropped.getvalue().splitlines()]
    assert [(d["line"], d["reasons"]) for d in drops] == [
        (2, ["incorrect"]),
        (3, ["grading_error"]),
        (4, ["invalid_line"]),
        (5, ["invalid_line"]),
    ]
    assert drops[0]["record"]["id"] == "wrong"
    assert drops[0]["details"]["language"]["score"] == 1.0
    assert drops[1]["details"]["grading"]["error"]["code"] == "timeout"
    assert drops[2]["raw"] == "not json at all"
    assert "reference" in drops[3]["details"]["message"]
    assert (report.lines, report.kept, report.dropped) == (6, 2, 4)
    assert report.reasons == {"incorrect": 1, "grading_error": 1, "invalid_line": 2}
    assert [number for number, _ in report.invalid] == [4, 5]
    assert stages[-1] == ("filtering", 6, 6)
