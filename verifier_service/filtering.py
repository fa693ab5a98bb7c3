"""Rejection sampling: keep correct samples that read well, and say why each other was dropped.

DeepSeek-R1 kept only correct samples and filtered out reasoning with mixed languages, long
paragraphs and code blocks. A sample here is dropped for every reason that applies:

    reason             when
    invalid_line       the line is not JSON, or lacks a string ``response`` / ``reference``
    grading_error      its answer could not be graded (timeout, unparsable reference, ...)
    incorrect          its answer is graded wrong against the reference (or it has none)
    mixed_language     the language-consistency score of its reasoning is below the threshold
    language_error     its language could not be scored
    long_paragraph     a paragraph of the response (blank-line separated) is too long
    code_in_reasoning  a fenced code block in the reasoning (the ``<think>`` part)

``filter_reasons`` is the decision, pure; ``filter_file`` streams a JSONL file through grading
(an injected ``grade_pairs``) and in-process language scoring, writing kept lines verbatim.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rich.table import Table

from verifier_service.engine.language import (
    LanguageResult,
    language_consistency,
    normalize_target,
    reasoning_part,
)
from verifier_service.errors import InvalidInputError, VerifierError
from verifier_service.evaluation import GradePairs, InputLine, ProgressHook, read_lines
from verifier_service.schemas import to_item_error

__all__ = [
    "REASONS",
    "FilterOptions",
    "FilterReport",
    "count_lines",
    "filter_file",
    "filter_reasons",
    "has_code_block",
    "longest_paragraph",
    "report_table",
    "score_language",
]

INVALID_LINE = "invalid_line"
GRADING_ERROR = "grading_error"
INCORRECT = "incorrect"
MIXED_LANGUAGE = "mixed_language"
LANGUAGE_ERROR = "language_error"
LONG_PARAGRAPH = "long_paragraph"
CODE_IN_REASONING = "code_in_reasoning"
REASONS = (
    INVALID_LINE,
    GRADING_ERROR,
    INCORRECT,
    MIXED_LANGUAGE,
    LANGUAGE_ERROR,
    LONG_PARAGRAPH,
    CODE_IN_REASONING,
)

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# A fence opens a line (CommonMark allows up to three spaces before it); unclosed counts too.
_FENCE = re.compile(r"^ {0,3}(?:```|~~~)", re.MULTILINE)


@dataclass(frozen=True)
class FilterOptions:
    """What a kept sample must satisfy.

    target_language: ISO 639-1 code the reasoning must be written in.
    min_language_score: lowest share of target-language words kept (a reasoning with no words
        at all, only math, has no score and is not dropped for language).
    max_paragraph_chars: longest paragraph kept, in characters; None turns the check off.
    allow_code_in_reasoning: keep fenced code blocks inside the reasoning.
    """

    target_language: str = "en"
    min_language_score: float = 0.95
    max_paragraph_chars: int | None = 2000
    allow_code_in_reasoning: bool = False

    def __post_init__(self) -> None:
        normalize_target(self.target_language)  # raises for a code the scorer does not know
        if not 0.0 <= self.min_language_score <= 1.0:
            raise InvalidInputError("min_language_score must lie in [0, 1]")
        if self.max_paragraph_chars is not None and self.max_paragraph_chars < 1:
            raise InvalidInputError("max_paragraph_chars must be at least 1 (or None for off)")


def longest_paragraph(text: str) -> int:
    """Characters in the longest blank-line-separated paragraph of ``text``, spaces trimmed."""
    return max((len(part.strip()) for part in _PARAGRAPH_BREAK.split(text)), default=0)


def has_code_block(text: str) -> bool:
    """Whether ``text`` holds a fenced code block (```` ``` ```` or ``~~~`` opening a line)."""
    return _FENCE.search(text) is not None


def filter_reasons(
    sample: Mapping[str, Any],
    graded: Mapping[str, Any],
    language_result: LanguageResult | VerifierError,
    options: FilterOptions,
) -> list[str]:
    """Why ``sample`` must be dropped, in the order of REASONS; empty when it is kept.

    ``graded`` is its math grading as ``/v1/math/verify`` answers it (``correct``, ``error``);
    ``language_result`` the language consistency of its reasoning, or why there is none.
    """
    reasons = []
    if graded.get("error"):
        reasons.append(GRADING_ERROR)
    elif graded.get("correct") is not True:
        reasons.append(INCORRECT)
    if isinstance(language_result, VerifierError):
        reasons.append(LANGUAGE_ERROR)
    elif language_result.score is not None and language_result.score < options.min_language_score:
        reasons.append(MIXED_LANGUAGE)
    response = str(sample.get("response", ""))
    limit = options.max_paragraph_chars
    if limit is not None and longest_paragraph(response) > limit:
        reasons.append(LONG_PARAGRAPH)
    if not options.allow_code_in_reasoning and has_code_block(reasoning_part(response)):
        reasons.append(CODE_IN_REASONING)
    return reasons


def score_language(response: str, options: FilterOptions) -> LanguageResult | VerifierError:
    """The language consistency of a response's reasoning, or the error that prevented it."""
    try:
        return language_consistency(response, target=options.target_language)
    except VerifierError as exc:
        return exc
    except Exception as exc:  # a scorer bug on one odd text must drop that line, not the run
        return VerifierError(f"language scoring failed: {type(exc).__name__}: {exc}")


# --- the file -------------------------------------------------------------------------------


def count_lines(path: Path) -> int:
    """Non-blank lines of ``path`` (valid or not): the work a run has ahead of it."""
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


@dataclass(frozen=True)
class FilterReport:
    """What a filtering run kept and dropped, and why."""

    lines: int
    kept: int
    reasons: dict[str, int]
    invalid: tuple[tuple[int, str], ...]
    seconds: float

    @property
    def dropped(self) -> int:
        return self.lines - self.kept


async def filter_file(
    source: Path,
    kept: IO[str],
    dropped: IO[str] | None,
    grade_pairs: GradePairs,
    options: FilterOptions,
    *,
    batch_size: int = 256,
    on_progress: ProgressHook | None = None,
) -> FilterReport:
    """Filter ``source`` line by line: kept lines verbatim to ``kept``, the rest to ``dropped``.

    A dropped line is ``{"line", "reasons", "record" (or "raw"), "details"}``.
    """
    started = time.perf_counter()
    total = count_lines(source)
    done = kept_count = 0
    reasons: Counter[str] = Counter()
    invalid: list[tuple[int, str]] = []
    for chunk in _chunks(read_lines(source, required=("response", "reference")), batch_size):
        for decision in await _decide_batch(chunk, grade_pairs, options):
            done += 1
            reasons.update(decision.reasons)
            if not decision.reasons:
                kept_count += 1
                kept.write(decision.line.raw + "\n")
                continue
            if decision.line.problem is not None:
                invalid.append((decision.line.number, decision.line.problem))
            if dropped is not None:
                dropped.write(json.dumps(decision.dropped_record(), ensure_ascii=False) + "\n")
        if on_progress is not None:
            on_progress("filtering", done, total)
    return FilterReport(
        done, kept_count, dict(reasons), tuple(invalid), time.perf_counter() - started
    )


@dataclass(frozen=True)
class _Decision:
    """One line's fate: the reasons to drop it (none: kept) and what they were based on."""

    line: InputLine
    reasons: tuple[str, ...]
    details: dict[str, Any]

    def dropped_record(self) -> dict[str, Any]:
        line = self.line
        source = {"record": line.record} if line.record is not None else {"raw": line.raw}
        return {
            "line": self.line.number,
            "reasons": list(self.reasons),
            **source,
            "details": self.details,
        }


def _chunks(lines: Iterator[InputLine], size: int) -> Iterator[list[InputLine]]:
    chunk: list[InputLine] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _decide_batch(
    chunk: Sequence[InputLine], grade_pairs: GradePairs, options: FilterOptions
) -> list[_Decision]:
    usable = [(line, line.record) for line in chunk if line.problem is None and line.record]
    pairs = [(record["response"], record["reference"]) for _, record in usable]
    grades = dict(
        zip(
            (line.number for line, _ in usable),
            await grade_pairs(pairs) if pairs else [],
            strict=True,
        )
    )
    decisions = []
    for line in chunk:
        grade = grades.get(line.number)
        if grade is None or line.record is None:
            problem = line.problem or f"line {line.number} is unusable"
            decisions.append(_Decision(line, (INVALID_LINE,), {"message": problem}))
            continue
        response = line.record["response"]
        language = score_language(response, options)
        details = {
            "grading": {
                key: grade.get(key) for key in ("correct", "extracted", "reason", "rule", "error")
            },
            "language": _language_details(language),
            "longest_paragraph": longest_paragraph(response),
        }
        reasons = filter_reasons(line.record, grade, language, options)
        decisions.append(_Decision(line, tuple(reasons), details))
    return decisions


def _language_details(language: LanguageResult | VerifierError) -> dict[str, Any]:
    if isinstance(language, VerifierError):
        return {"error": to_item_error(language).model_dump()}
    return {"score": language.score, "counts": language.counts, "reason": language.reason}


def report_table(report: FilterReport) -> Table:
    """The summary table the CLI prints: kept, dropped, and the count of each reason."""
    table = Table(title="filtering summary")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("lines", str(report.lines))
    table.add_row("kept", str(report.kept))
    table.add_row("dropped", str(report.dropped))
    for reason in REASONS:
        table.add_row(f"  {reason}", str(report.reasons.get(reason, 0)))
    table.add_row("kept share", f"{report.kept / report.lines:.1%}" if report.lines else "n/a")
    table.add_row("time", f"{report.seconds:.2f} s")
    return table
