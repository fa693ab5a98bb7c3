"""Offline evaluation: pass@k against hand-computed values, the equivalence vote, reading files."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from verifier_service.engine.math import grade_answer, verify
from verifier_service.errors import InvalidInputError, InvalidReferenceError
from verifier_service.evaluation import (
    AnswerGrouper,
    EvalReport,
    Vote,
    evaluate_samples,
    group_all,
    group_answers,
    load_samples,
    pass_at_k,
    report_dict,
    summarize_prompt,
)

# --- pass@k ---------------------------------------------------------------------------------

PASS_AT_K = [
    pytest.param(5, 2, 2, 0.7, id="n5-c2-k2"),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    pytest.param(5, 2, 1, 0.4, id="k1-is-c-over-n"),
    pytest.param(10, 3, 5, 1 - 21 / 252, id="n10-c3-k5"),  # C(7,5)=21, C(10,5)=252
    pytest.param(4, 1, 4, 1.0, id="k-equals-n-with-a-correct"),
    pytest.param(4, 2, 3, 1.0, id="fewer-wrong-than-k"),
    pytest.param(8, 0, 4, 0.0, id="none-correct"),
    pytest.param(8, 8, 1, 1.0, id="all-correct"),
    pytest.param(1024, 1, 1, 1 / 1024, id="large-n"),
]


@pytest.mark.parametrize(("n", "c", "k", "expected"), PASS_AT_K)
def test_pass_at_k_matches_hand_computed_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(16, 3, 8), (64, 10, 32), (30, 29, 2), (7, 0, 7)])
def test_pass_at_k_equals_binomial_form(n: int, c: int, k: int) -> None:
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_pass_at_k_stays_finite_where_binomials_overflow_floats() -> None:
    # C(4000, 2000) is far past float range; the product form is not.
    value = pass_at_k(4000, 3, 2000)
    assert value == pytest.approx(1 - (2000 * 1999 * 1998) / (4000 * 3999 * 3998), rel=1e-9)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_pass_at_k_rejects_impossible_counts(n: int, c: int, k: int) -> None:
    with pytest.raises(InvalidInputError):
        pass_at_k(n, c, k)


# --- the vote -------------------------------------------------------------------------------


def _engine_equivalent(candidate: str, representative: str) -> bool | None:
    try:
        return grade_answer(candidate, representative).correct
    except InvalidReferenceError:
        return None


def _never_called(candidate: str, representative: str) -> bool | None:
    raise AssertionError(f"unexpected comparison of {candidate!r} with {representative!r}")


def test_vote_groups_equivalent_answers_written_differently() -> None:
    vote = group_answers(["\\frac12", "3", "0.5", "\\frac12", "3", "0.5", "3"], _engine_equivalent)
    assert vote.winner is not None
    assert vote.winner.representative == "\\frac12"
    assert vote.winner.votes == 4
    assert vote.winner.members == (0, 2, 3, 5)
    assert [g.votes for g in vote.groups] == [4, 3]


def test_vote_groups_fraction_decimal_and_slash_as_one() -> None:
    vote = group_answers(["1/2", "0.5", "\\frac{1}{2}", "2"], _engine_equivalent)
    assert [set(g.answers) for g in vote.groups] == [{"1/2", "0.5", "\\frac{1}{2}"}, {"2"}]


def test_vote_string_majority_would_pick_the_other_answer() -> None:
    # By string equality "3" (3 votes) beats "\frac12" and "0.5" (2 each); by value 1/2 wins.
    answers = ["3", "3", "3", "\\frac12", "\\frac12", "0.5", "0.5"]
    vote = group_answers(answers, _engine_equivalent)
    assert vote.winner is not None
    assert vote.winner.representative == "\\frac12"
    assert vote.winner.votes == 4


@pytest.mark.parametrize(
    ("answers", "winner"),
    [
        pytest.param(["5", "3", "3", "5"], "5", id="tie-first-seen-wins"),
        pytest.param(["3", "5", "5", "3"], "3", id="tie-order-reversed"),
        pytest.param(["5", "3", "3"], "3", id="larger-group-beats-first-seen"),
    ],
)
def test_vote_breaks_ties_by_size_then_first_seen(answers: list[str], winner: str) -> None:
    vote = group_answers(answers, _engine_equivalent)
    assert vote.winner is not None
    assert vote.winner.representative == winner


def test_vote_skips_samples_without_answer() -> None:
    vote = group_answers([None, "7", None, None], _engine_equivalent)
    assert vote.winner is not None
    assert vote.winner.representative == "7"
    assert vote.winner.members == (1,)
    assert vote.no_answer == 3


def test_vote_without_any_answer_has_no_winner() -> None:
    vote = group_answers([None, None], _never_called)
    assert vote.winner is None
    assert vote.groups == ()
    assert vote.no_answer == 2


def test_vote_merges_identical_strings_without_comparing() -> None:
    vote = group_answers(["x+1", "x+1", "x+1"], _never_called)
    assert vote.winner is not None
    assert vote.winner.votes == 3


def test_vote_keeps_undecided_comparisons_apart_and_counts_them() -> None:
    vote = group_answers(["a", "b", "b"], lambda c, r: None)
    assert [(g.representative, g.votes) for g in vote.groups] == [("a", 1), ("b", 2)]
    assert vote.undecided == 1


def test_grouper_record_rejects_wrong_number_of_outcomes() -> None:
    grouper = AnswerGrouper(["1", "2", "3"])
    with pytest.raises(InvalidInputError, match="expected 2 outcomes"):
        grouper.record([True])


def test_group_all_batches_every_prompt_into_one_check_per_round() -> None:
    calls: list[list[tuple[str, str]]] = []

    async def check(pairs: list[tuple[str, str]]) -> list[bool | None]:
        calls.append(pairs)
        return [_engine_equivalent(c, r) for c, r in pairs]

    prompts: list[list[str | None]] = [["1", "2", "3"], ["0.5", "1/2"], [None]]
    votes = asyncio.run(group_all(prompts, check))
    # Round 1: both prompts' pairs together; round 2: only the first prompt is left.
    assert calls == [[("2", "1"), ("3", "1"), ("1/2", "0.5")], [("3", "2")]]
    assert [len(v.groups) for v in votes] == [3, 1, 0]


# --- per prompt -----------------------------------------------------------------------------


def _grade(correct: bool | None, extracted: str | None = "1") -> dict[str, Any]:
    if correct is None:
        return {"correct": None, "error": {"code": "timeout", "message": "too slow"}}
    return {"correct": correct, "extracted": extracted, "error": None}


def _vote_of(answers: list[str | None]) -> Vote:
    return group_answers(answers, lambda c, r: c == r)


def test_summarize_prompt_leaves_failed_gradings_out_of_n() -> None:
    grades = [_grade(True), _grade(False), _grade(None), _grade(True), _grade(False)]
    result = summarize_prompt("p", grades, _vote_of(["1", "2", "1", "1", "2"]), ks=[1, 2, 5])
    assert (result.samples, result.graded, result.correct) == (5, 4, 2)
    assert result.errors == {"timeout": 1}
    assert result.pass_at_1 == 0.5
    assert result.pass_at_k[2] == pytest.approx(1 - 1 / 6)  # C(2,2)/C(4,2)
    assert result.pass_at_k[5] is None  # only 4 graded samples


def test_summarize_prompt_grades_the_winner_by_its_first_graded_member() -> None:
    # The representative's grading timed out; the next member of its group decides.
    grades = [_grade(None), _grade(True), _grade(False)]
    result = summarize_prompt("p", grades, _vote_of(["1", "1", "2"]), ks=[])
    assert result.cons_correct is True


def test_summarize_prompt_cons_unknown_when_no_winner_member_was_graded() -> None:
    grades = [_grade(None), _grade(None), _grade(False)]
    result = summarize_prompt("p", grades, _vote_of(["1", "1", "2"]), ks=[])
    assert result.cons_correct is None
    assert "could be graded" in result.cons_reason


def test_summarize_prompt_cons_is_wrong_when_nobody_answers() -> None:
    grades = [_grade(False, None), _grade(False, None)]
    result = summarize_prompt("p", grades, _vote_of([None, None]), ks=[])
    assert result.cons_correct is False
    assert result.cons_reason == "no sample has an answer"


# --- the whole evaluation, with the engine in-process as the grader -------------------------


async def _grade_in_process(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for response, reference in pairs:
        try:
            graded = verify(response, reference)
        except InvalidReferenceError as exc:
            results.append({"correct": None, "error": exc.as_dict()})
            continue
        results.append({"correct": graded.correct, "extracted": graded.extracted, "error": None})
    return results


def _write(path: Path, rows: list[Any]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rows(prompt: str, answers: list[str], reference: str) -> list[dict[str, str]]:
    return [
        {
            "prompt_id": prompt,
            "response": f"<think>…</think> \\boxed{{{a}}}",
            "reference": reference,
        }
        for a in answers
    ]


def test_evaluate_samples_reports_pass_and_cons_per_prompt(tmp_path: Path) -> None:
    rows = [
        *_rows("half", ["\\frac12", "3", "0.5", "\\frac12", "3", "0.5", "3"], "1/2"),
        *_rows("four", ["4", "5", "5", "4", "5"], "4"),
    ]
    loaded = load_samples(_write(tmp_path / "s.jsonl", rows))
    prompts = asyncio.run(evaluate_samples(loaded.samples, _grade_in_process, ks=[2], batch_size=3))
    half, four = prompts
    assert half.prompt_id == "half"
    assert half.pass_at_1 == pytest.approx(4 / 7)
    assert half.pass_at_k[2] == pytest.approx(1 - math.comb(3, 2) / math.comb(7, 2))
    assert half.cons_correct is True  # the 1/2 group (4 votes) beats "3" (3 votes)
    assert four.cons_correct is False  # "5" wins 3 to 2
    overall = EvalReport((half, four), loaded.invalid, (2,)).overall
    assert overall["cons"] == 0.5
    assert overall["pass@1"] == pytest.approx((4 / 7 + 2 / 5) / 2)


def test_load_samples_reports_bad_lines_and_takes_id_or_prompt(tmp_path: Path) -> None:
    rows: list[Any] = [
        {"id": 7, "response": "\\boxed{1}", "reference": "1"},
        "{not json",
        {"prompt": "What is 1?", "response": "\\boxed{1}", "reference": "1"},
        {"response": "\\boxed{1}", "reference": "1"},
        {"prompt_id": "p", "response": 3, "reference": "1"},
        '["a list"]',
        '{"prompt_id": "p", "response": "\\ud800", "reference": "1"}',
    ]
    path = _write(tmp_path / "s.jsonl", rows)
    with path.open("ab") as out:
        out.write(b'{"prompt_id": "p", "response": "\xff", "reference": "1"}\n\n')
    loaded = load_samples(path)
    assert [(s.line, s.prompt_id) for s in loaded.samples] == [(1, 7), (3, "What is 1?")]
    messages = dict(loaded.invalid)
    assert sorted(messages) == [2, 4, 5, 6, 7, 8]
    assert "not JSON" in messages[2]
    assert "prompt_id" in messages[4]
    assert "response" in messages[5]
    assert "not a JSON object" in messages[6]
    assert "surrogate" in messages[7]
    assert "UTF-8" in messages[8]


def test_report_dict_counts_prompts_per_measure(tmp_path: Path) -> None:
    rows = [*_rows("a", ["1", "1", "2", "2"], "1"), *_rows("b", ["1", "2"], "1")]
    loaded = load_samples(_write(tmp_path / "s.jsonl", rows))
    prompts = asyncio.run(evaluate_samples(loaded.samples, _grade_in_process, ks=[1, 4]))
    report = report_dict(EvalReport(tuple(prompts), loaded.invalid, (1, 4)))
    assert report["overall"]["prompts_counted"] == {"pass@1": 2, "pass@4": 1, "cons": 2}
    assert report["overall"]["pass@4"] == 1.0  # 4 draws from 4 with 2 correct always pass
    assert report["prompts"][0]["cons"]["groups"] == [
        {"answers": ["1"], "votes": 2},
        {"answers": ["2"], "votes": 2},
    ]
    assert report["prompts"][1]["pass@4"] is None
    json.dumps(report)  # the summary is plain JSON
