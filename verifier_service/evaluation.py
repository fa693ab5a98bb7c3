"""Offline evaluation of sampled responses: pass@1, unbiased pass@k and cons@k per prompt.

The input is JSONL, one graded sample a line: ``{"prompt_id", "response", "reference"}``
(``id`` or ``prompt`` stand in for a missing ``prompt_id``), k samples per prompt.

- **pass@1** of a prompt is the mean correctness of its graded samples.
- **pass@k** is the unbiased estimator of Chen et al. (2021), 1 − C(n−c, k) / C(n, k), computed
  as a product so that n = 64 or 1024 never builds huge binomials.
- **cons@k** is a majority vote over the samples' final answers, grouped by mathematical
  equivalence (``\\frac12``, ``0.5`` and ``1/2`` are one vote): greedy representatives in
  first-seen order, each round comparing every ungrouped answer with the next representative.
  The largest group wins, ties go to the group seen first; samples with no answer do not vote.

Grading and the equivalence checks go through an injected ``grade_pairs`` coroutine (the
worker pool in-process, or a running service), so everything here is testable without either.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from rich.console import Console
from rich.table import Table

from verifier_service.engine.math import extract_final_answer
from verifier_service.errors import InvalidInputError

__all__ = [
    "AnswerGroup",
    "AnswerGrouper",
    "EvalReport",
    "GradePairs",
    "InputLine",
    "PromptResult",
    "Sample",
    "SampleFile",
    "Vote",
    "evaluate_samples",
    "group_all",
    "group_answers",
    "load_samples",
    "pass_at_k",
    "print_invalid_lines",
    "read_lines",
    "report_dict",
    "report_table",
    "summarize_prompt",
]

# (response, reference) pairs in, one result per pair out, shaped like /v1/math/verify's.
GradePairs = Callable[[list[tuple[str, str]]], Awaitable[list[dict[str, Any]]]]
# (candidate, representative) pairs in; True/False per pair, None when it could not be decided.
EquivalenceCheck = Callable[[list[tuple[str, str]]], Awaitable[list[bool | None]]]
# (stage, completed, total): progress for a bar, called as work finishes.
ProgressHook = Callable[[str, int, int], None]

_PROMPT_FIELDS = ("prompt_id", "id", "prompt")


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputLine:
    """One non-blank line of a JSONL file: its record, or why it cannot be used."""

    number: int
    raw: str
    record: dict[str, Any] | None
    problem: str | None


def read_lines(path: Path, *, required: Sequence[str]) -> Iterator[InputLine]:
    """Yield every non-blank line; a bad line (not UTF-8, not JSON, fields) is never fatal."""
    with path.open("rb") as lines:
        for number, data in enumerate(lines, start=1):
            try:
                raw = data.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                yield InputLine(number, "", None, f"line {number} is not UTF-8")
                continue
            if raw.strip():
                yield _parse_line(number, raw, required)


def _parse_line(number: int, raw: str, required: Sequence[str]) -> InputLine:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        return InputLine(number, raw, None, f"line {number} is not JSON: {exc}")
    if not isinstance(record, dict):
        return InputLine(number, raw, None, f"line {number} is not a JSON object")
    # A \ud800 escape is valid JSON but no text: it would break every writer downstream.
    if "\\ud" in raw.lower() and not _is_valid_unicode(record):
        return InputLine(number, raw, None, f"line {number} holds a lone surrogate escape")
    missing = [name for name in required if not isinstance(record.get(name), str)]
    if missing:
        problem = f"line {number} lacks string field(s): {', '.join(missing)}"
        return InputLine(number, raw, record, problem)
    return InputLine(number, raw, record, None)


def _is_valid_unicode(record: dict[str, Any]) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Sample:
    """One usable sample: which prompt it answers, and what to grade."""

    line: int
    prompt_id: Any
    response: str
    reference: str


@dataclass(frozen=True)
class SampleFile:
    """The usable samples of a file, and the lines that were not (line, message)."""

    samples: tuple[Sample, ...]
    invalid: tuple[tuple[int, str], ...]


def load_samples(path: Path) -> SampleFile:
    """Read an evaluation file; raises OSError when it cannot be opened."""
    samples: list[Sample] = []
    invalid: list[tuple[int, str]] = []
    for line in read_lines(path, required=("response", "reference")):
        if line.problem is not None or line.record is None:
            invalid.append((line.number, line.problem or f"line {line.number} is unusable"))
            continue
        record = line.record
        prompt_field = next((name for name in _PROMPT_FIELDS if name in record), None)
        if prompt_field is None or record[prompt_field] is None:
            invalid.append((line.number, f"line {line.number} lacks prompt_id (or id, prompt)"))
            continue
        samples.append(
            Sample(line.number, record[prompt_field], record["response"], record["reference"])
        )
    return SampleFile(tuple(samples), tuple(invalid))


# --- pass@k ---------------------------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct: 1 − C(n−c, k) / C(n, k).

    C(n−c, k) / C(n, k) = Π_{i=n−c+1..n} (1 − k/i), which stays in floating range for any n.
    """
    if not 0 <= c <= n:
        raise InvalidInputError(f"pass@k needs 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise InvalidInputError(f"pass@k needs 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:  # every draw of k samples holds a correct one
        return 1.0
    all_wrong = 1.0
    for i in range(n - c + 1, n + 1):
        all_wrong *= 1.0 - k / i
    return 1.0 - all_wrong


# --- majority vote --------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerGroup:
    """Equivalent answers: the representative (first seen), the answers and sample indexes."""

    representative: str
    answers: tuple[str, ...]
    members: tuple[int, ...]

    @property
    def votes(self) -> int:
        return len(self.members)


@dataclass(frozen=True)
class Vote:
    """A prompt's majority vote.

    groups: in first-seen order; winner: None when no sample has an answer; no_answer: samples
    that did not vote; undecided: comparisons that failed (timeout, unparsable answer), whose
    answers were kept apart.
    """

    groups: tuple[AnswerGroup, ...]
    winner: AnswerGroup | None
    no_answer: int
    undecided: int


class AnswerGrouper:
    """Groups one prompt's answers by equivalence in rounds of independent comparisons.

    Each round compares every ungrouped distinct answer with the first of them (the next
    representative); the ones found equivalent join its group. ``pending`` gives a round's
    (candidate, representative) pairs, ``record`` takes their outcomes in the same order.
    Identical strings are merged up front, without a comparison.
    """

    def __init__(self, answers: Sequence[str | None]) -> None:
        self._indexes: dict[str, list[int]] = {}
        for index, answer in enumerate(answers):
            if answer is not None:
                self._indexes.setdefault(answer, []).append(index)
        self._no_answer = sum(answer is None for answer in answers)
        self._ungrouped = list(self._indexes)
        self._groups: list[AnswerGroup] = []
        self._undecided = 0
        self._settle()

    @property
    def done(self) -> bool:
        return not self._ungrouped

    def pending(self) -> list[tuple[str, str]]:
        representative = self._ungrouped[0] if self._ungrouped else ""
        return [(candidate, representative) for candidate in self._ungrouped[1:]]

    def record(self, outcomes: Sequence[bool | None]) -> None:
        candidates = self._ungrouped[1:]
        if len(outcomes) != len(candidates):
            raise InvalidInputError(f"expected {len(candidates)} outcomes, got {len(outcomes)}")
        joined = [self._ungrouped[0]]
        rest = []
        for candidate, outcome in zip(candidates, outcomes, strict=True):
            if outcome is True:
                joined.append(candidate)
            else:
                self._undecided += outcome is None
                rest.append(candidate)
        self._close_group(joined)
        self._ungrouped = rest
        self._settle()

    def vote(self) -> Vote:
        if not self.done:
            raise InvalidInputError("the vote is asked for before every answer is grouped")
        # Larger group first; among equals the one seen first (groups are in that order).
        winner = max(self._groups, key=lambda g: g.votes, default=None)
        return Vote(tuple(self._groups), winner, self._no_answer, self._undecided)

    def _close_group(self, answers: list[str]) -> None:
        members = sorted(index for answer in answers for index in self._indexes[answer])
        self._groups.append(AnswerGroup(answers[0], tuple(answers), tuple(members)))

    def _settle(self) -> None:
        # A lone ungrouped answer needs no comparison: it is its own group.
        if len(self._ungrouped) == 1:
            self._close_group(self._ungrouped)
            self._ungrouped = []


def group_answers(
    answers: Sequence[str | None], equivalent: Callable[[str, str], bool | None]
) -> Vote:
    """Group one prompt's answers with a synchronous ``equivalent(candidate, representative)``."""
    grouper = AnswerGrouper(answers)
    while not grouper.done:
        grouper.record([equivalent(c, r) for c, r in grouper.pending()])
    return grouper.vote()


async def group_all(
    answer_lists: Sequence[Sequence[str | None]],
    check: EquivalenceCheck,
    *,
    on_progress: ProgressHook | None = None,
) -> list[Vote]:
    """Group many prompts' answers, one ``check`` call per round for all of them together."""
    groupers = [AnswerGrouper(answers) for answers in answer_lists]
    while True:
        active = [g for g in groupers if not g.done]
        if on_progress is not None:
            on_progress("comparing answers", len(groupers) - len(active), len(groupers))
        if not active:
            break
        rounds = [g.pending() for g in active]
        outcomes = iter(await check([pair for pairs in rounds for pair in pairs]))
        for grouper, pairs in zip(active, rounds, strict=True):
            grouper.record([next(outcomes) for _ in pairs])
    return [grouper.vote() for grouper in groupers]


def check_by_grading(grade_pairs: GradePairs, *, batch_size: int) -> EquivalenceCheck:
    """Equivalence by grading: the candidate, boxed as a response, against the representative.

    A grading error (timeout, an answer that cannot serve as a reference) is None: undecided.
    """

    async def check(pairs: list[tuple[str, str]]) -> list[bool | None]:
        outcomes: list[bool | None] = []
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            graded = await grade_pairs([(f"\\boxed{{{c}}}", r) for c, r in chunk])
            outcomes.extend(None if g.get("error") else g.get("correct") is True for g in graded)
        return outcomes

    return check


# --- per prompt and overall -----------------------------------------------------------------


@dataclass(frozen=True)
class PromptResult:
    """One prompt's measures. Samples whose grading failed count in ``errors``, not in n."""

    prompt_id: Any
    samples: int
    graded: int
    correct: int
    errors: dict[str, int]
    pass_at_1: float | None
    pass_at_k: dict[int, float | None]
    vote: Vote
    cons_correct: bool | None
    cons_reason: str


def summarize_prompt(
    prompt_id: Any, grades: Sequence[Mapping[str, Any]], vote: Vote, *, ks: Sequence[int]
) -> PromptResult:
    """Measures of one prompt from its samples' gradings (in order) and its vote."""
    errors = Counter(g["error"]["code"] for g in grades if g.get("error"))
    graded = [g for g in grades if not g.get("error")]
    n, c = len(graded), sum(g.get("correct") is True for g in graded)
    cons_correct, cons_reason = _cons_outcome(grades, vote)
    return PromptResult(
        prompt_id=prompt_id,
        samples=len(grades),
        graded=n,
        correct=c,
        errors=dict(errors),
        pass_at_1=c / n if n else None,
        pass_at_k={k: pass_at_k(n, c, k) if k <= n else None for k in ks},
        vote=vote,
        cons_correct=cons_correct,
        cons_reason=cons_reason,
    )


def _cons_outcome(grades: Sequence[Mapping[str, Any]], vote: Vote) -> tuple[bool | None, str]:
    if vote.winner is None:
        return False, "no sample has an answer"
    # The winner graded against the reference: its first member whose grading succeeded.
    for index in vote.winner.members:
        if not grades[index].get("error"):
            verdict = "correct" if grades[index].get("correct") is True else "incorrect"
            return grades[index].get("correct") is True, f"{vote.winner.votes} votes, {verdict}"
    return None, "no sample of the winning answer could be graded"


@dataclass(frozen=True)
class EvalReport:
    """Every prompt's measures, in first-seen order, and the lines that could not be used."""

    prompts: tuple[PromptResult, ...]
    invalid: tuple[tuple[int, str], ...]
    ks: tuple[int, ...]
    seconds: float = 0.0

    @property
    def overall(self) -> dict[str, Any]:
        return _overall(self.prompts, self.ks, len(self.invalid))


def _overall(prompts: Sequence[PromptResult], ks: Sequence[int], invalid: int) -> dict[str, Any]:
    errors: Counter[str] = Counter()
    for prompt in prompts:
        errors.update(prompt.errors)
    sizes = [p.samples for p in prompts]
    measures = {"pass@1": [p.pass_at_1 for p in prompts]}
    measures |= {f"pass@{k}": [p.pass_at_k[k] for p in prompts] for k in ks if k != 1}
    measures["cons"] = [None if p.cons_correct is None else float(p.cons_correct) for p in prompts]
    counted = {name: [v for v in values if v is not None] for name, values in measures.items()}
    return {
        "prompts": len(prompts),
        "samples": sum(sizes),
        "samples_per_prompt": {"min": min(sizes, default=0), "max": max(sizes, default=0)},
        "graded": sum(p.graded for p in prompts),
        "errors": dict(sorted(errors.items())),
        "invalid_lines": invalid,
        **{name: fmean(values) if values else None for name, values in counted.items()},
        "prompts_counted": {name: len(values) for name, values in counted.items()},
        "no_answer_samples": sum(p.vote.no_answer for p in prompts),
        "undecided_comparisons": sum(p.vote.undecided for p in prompts),
    }


async def evaluate_samples(
    samples: Sequence[Sample],
    grade_pairs: GradePairs,
    *,
    ks: Sequence[int] = (),
    batch_size: int = 256,
    last_number_fallback: bool = False,
    on_progress: ProgressHook | None = None,
) -> list[PromptResult]:
    """Grade every sample, vote per prompt, and measure each prompt."""
    grades: list[dict[str, Any]] = []
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        grades.extend(await grade_pairs([(s.response, s.reference) for s in chunk]))
        if on_progress is not None:
            on_progress("grading", len(grades), len(samples))
    by_prompt: dict[str, list[int]] = {}
    for index, sample in enumerate(samples):
        by_prompt.setdefault(json.dumps(sample.prompt_id, sort_keys=True), []).append(index)
    answers = [
        [_final_answer(samples[i], grades[i], last_number_fallback) for i in indexes]
        for indexes in by_prompt.values()
    ]
    check = check_by_grading(grade_pairs, batch_size=batch_size)
    votes = await group_all(answers, check, on_progress=on_progress)
    return [
        summarize_prompt(samples[indexes[0]].prompt_id, [grades[i] for i in indexes], vote, ks=ks)
        for indexes, vote in zip(by_prompt.values(), votes, strict=True)
    ]


def _final_answer(
    sample: Sample, grade: Mapping[str, Any], last_number_fallback: bool
) -> str | None:
    # The answer that was graded; a sample whose grading failed still votes with its answer.
    if not grade.get("error"):
        extracted: str | None = grade.get("extracted")
        return extracted
    return extract_final_answer(sample.response, last_number_fallback=last_number_fallback).answer


# --- reporting ------------------------------------------------------------------------------


def print_invalid_lines(
    console: Console, invalid: Sequence[tuple[int, str]], *, limit: int = 20
) -> None:
    """Say which lines could not be used (the first ``limit`` of them, then how many more)."""
    for _, message in invalid[:limit]:
        console.print(f"[yellow]skipped: {message}", markup=True, highlight=False)
    if len(invalid) > limit:
        console.print(f"[yellow]… and {len(invalid) - limit} more unusable lines")


def report_dict(report: EvalReport) -> dict[str, Any]:
    """The JSON summary: overall measures, every prompt's, and the unusable lines."""
    return {
        "overall": report.overall,
        "prompts": [_prompt_dict(p) for p in report.prompts],
        "invalid_lines": [{"line": n, "message": m} for n, m in report.invalid],
    }


def _prompt_dict(prompt: PromptResult) -> dict[str, Any]:
    vote = prompt.vote
    return {
        "prompt_id": prompt.prompt_id,
        "samples": prompt.samples,
        "graded": prompt.graded,
        "correct": prompt.correct,
        "errors": prompt.errors,
        "pass@1": prompt.pass_at_1,
        **{f"pass@{k}": v for k, v in prompt.pass_at_k.items() if k != 1},
        "cons": {
            "answer": vote.winner.representative if vote.winner else None,
            "votes": vote.winner.votes if vote.winner else 0,
            "correct": prompt.cons_correct,
            "reason": prompt.cons_reason,
            "groups": [{"answers": list(g.answers), "votes": g.votes} for g in vote.groups],
            "no_answer": vote.no_answer,
            "undecided_comparisons": vote.undecided,
        },
    }


def report_table(report: EvalReport) -> Table:
    """The summary table the CLI prints."""
    overall = report.overall
    table = Table(title="evaluation summary")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("prompts counted", justify="right")
    sizes = overall["samples_per_prompt"]
    per_prompt = (
        str(sizes["min"]) if sizes["min"] == sizes["max"] else f"{sizes['min']}-{sizes['max']}"
    )
    for name, count in overall["prompts_counted"].items():
        label = f"cons@{per_prompt} (majority vote)" if name == "cons" else name
        value = overall[name]
        table.add_row(label, "n/a" if value is None else f"{value:.2%}", str(count))
    table.add_row("prompts", str(overall["prompts"]), "")
    table.add_row("samples", f"{overall['samples']} ({per_prompt} per prompt)", "")
    table.add_row("graded", str(overall["graded"]), "")
    table.add_row("errors", str(sum(overall["errors"].values())), "")
    for code, count in overall["errors"].items():
        table.add_row(f"  {code}", str(count), "")
    table.add_row("invalid lines", str(overall["invalid_lines"]), "")
    table.add_row("samples with no answer", str(overall["no_answer_samples"]), "")
    table.add_row("undecided comparisons", str(overall["undecided_comparisons"]), "")
    table.add_row("time", f"{report.seconds:.2f} s", "")
    return table
