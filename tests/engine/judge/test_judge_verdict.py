"""Strict verdict parsing: the last line decides, anything else is unparseable."""

from __future__ import annotations

import pytest

from verifier_service.engine.judge.prompts import TEMPLATES
from verifier_service.engine.judge.verdict import parse_verdict
from verifier_service.errors import JudgeError, JudgeUnparseableError

YES_NO = TEMPLATES["yes_no"]
ABC = TEMPLATES["abc"]


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        pytest.param("Final Decision: Yes", "correct", id="bare-yes"),
        pytest.param("Final Decision: No", "incorrect", id="bare-no"),
        pytest.param("The values agree.\n\nFinal Decision: Yes\n", "correct", id="reasoning-yes"),
        pytest.param("0.5 = 1/2.\nFinal Decision: yes.", "correct", id="lower-case-full-stop"),
        pytest.param("**Final Decision:** No", "incorrect", id="markdown-label"),
        pytest.param("**Final Decision: Yes**", "correct", id="markdown-line"),
        pytest.param("Final Decision: Yes\nFinal Decision: Yes", "correct", id="repeated-same"),
        pytest.param("Final Decision:Yes", "correct", id="no-space"),
    ],
)
def test_parse_verdict_yes_no_accepts(reply: str, label: str) -> None:
    verdict = parse_verdict(reply, YES_NO)
    assert verdict.label == label
    assert verdict.correct == (label == "correct")


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n\n  ", id="blank"),
        pytest.param("Yes", id="lone-yes"),
        pytest.param("The answer is correct.", id="no-verdict-line"),
        pytest.param("Final Decision: Yes\nI hope this helps.", id="text-after-decision"),
        pytest.param("Final Decision: Yes, mostly", id="text-on-decision-line"),
        pytest.param("Final Decision: No\nFinal Decision: Yes", id="both-decisions-last-yes"),
        pytest.param("Final Decision: Yes or Final Decision: No", id="both-on-one-line"),
        pytest.param("I could say Final Decision: No.\nFinal Decision: Yes", id="no-in-reasoning"),
        pytest.param("Final Decision: Yes/No", id="slash-both"),
        pytest.param("Final Decision: Maybe", id="unknown-choice"),
        pytest.param("Final Decision: Ye", id="cut-word"),
        pytest.param("> Final Decision: Yes", id="quoted-line"),
        pytest.param("Decision: Yes", id="wrong-label"),
        pytest.param("Judgement: A", id="other-templates-line"),
    ],
)
def test_parse_verdict_yes_no_rejects(reply: str) -> None:
    with pytest.raises(JudgeUnparseableError) as info:
        parse_verdict(reply, YES_NO)
    assert info.value.code == "judge_unparseable"
    assert isinstance(info.value, JudgeError)


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        pytest.param("Judgement: A", "correct", id="a"),
        pytest.param("Both are 1/2.\nJudgement: B", "incorrect", id="b"),
        pytest.param("The reply is cut off.\nJudgement: C", "invalid", id="c"),
        pytest.param("**Judgement: A**", "correct", id="markdown"),
    ],
)
def test_parse_verdict_abc_accepts(reply: str, label: str) -> None:
    assert parse_verdict(reply, ABC).label == label


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param("A", id="lone-letter"),
        pytest.param("Judgement: a", id="lower-case-letter"),
        pytest.param("Judgement: D", id="unknown-letter"),
        pytest.param("Judgement: B\nJudgement: A", id="two-letters"),
        pytest.param("Judgement: A\n\nExplanation: equal.", id="text-after"),
        pytest.param("Final Decision: Yes", id="other-templates-line"),
    ],
)
def test_parse_verdict_abc_rejects(reply: str) -> None:
    with pytest.raises(JudgeUnparseableError):
        parse_verdict(reply, ABC)


def test_parse_verdict_length_cut_accepts_complete_line() -> None:
    verdict = parse_verdict("Same value.\nFinal Decision: No", YES_NO, finish_reason="length")
    assert verdict.label == "incorrect"


def test_parse_verdict_length_cut_rejects_partial_line() -> None:
    with pytest.raises(JudgeUnparseableError, match="token limit"):
        parse_verdict(
            "Let me compare the two values step by step. First", YES_NO, finish_reason="length"
        )
