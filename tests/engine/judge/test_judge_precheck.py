"""What the judge sees of a response, and what is refused before asking."""

from __future__ import annotations

import pytest

from verifier_service.engine.judge.precheck import extract_judged_answer, refusal_reason


@pytest.mark.parametrize(
    ("response", "answer", "source"),
    [
        pytest.param(
            "<think>long reasoning \\boxed{3}</think>The answer is \\boxed{4}.",
            "4",
            "boxed",
            id="box-after-think",
        ),
        pytest.param(
            "<think>\\boxed{3}</think>Paris is the capital.",
            "Paris is the capital.",
            "text",
            id="text-after-think",
        ),
        pytest.param("Paris", "Paris", "text", id="no-think"),
        pytest.param("<think>x</think> <answer>Paris</answer>", "Paris", "boxed", id="answer-tag"),
        pytest.param(
            "<think>a</think>b</think>  the end  ", "the end", "text", id="last-think-close"
        ),
    ],
)
def test_extract_judged_answer_takes_the_final_part(
    response: str, answer: str, source: str
) -> None:
    judged = extract_judged_answer(response)
    assert judged.answer == answer
    assert judged.source == source


@pytest.mark.parametrize(
    "response",
    [
        pytest.param("<think>I think it is Paris", id="unclosed-think"),
        pytest.param("</think>ok<think>hidden", id="think-reopened"),
        pytest.param("</think>So it is \\boxed{3", id="unclosed-box"),
        pytest.param("</think>So it is \\boxed{}", id="empty-box"),
    ],
)
def test_extract_judged_answer_refuses_responses_without_one_answer(response: str) -> None:
    judged = extract_judged_answer(response)
    assert judged.answer is None
    assert judged.source == "none"
    assert judged.reason


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        pytest.param(None, True, id="none"),
        pytest.param("", True, id="empty"),
        pytest.param("  \n\t", True, id="blank"),
        pytest.param(":", True, id="lone-colon"),
        pytest.param("...", True, id="dots"),
        pytest.param("-- ; !?", True, id="punctuation"),
        pytest.param("Thought process:", True, id="thought-process"),
        pytest.param("The answer is：", True, id="fullwidth-colon"),
        pytest.param("Paris", False, id="word"),
        pytest.param("42", False, id="number"),
        pytest.param("∅", False, id="math-symbol"),
        pytest.param("巴黎", False, id="han"),
        pytest.param("Ratio 3:4", False, id="inner-colon"),
    ],
)
def test_refusal_reason(answer: str | None, refused: bool) -> None:
    assert (refusal_reason(answer) is not None) == refused


def test_refusal_reason_lead_ins_allowed_when_disabled() -> None:
    assert refusal_reason("Thought process:", reject_lead_ins=False) is None
    assert refusal_reason(":", reject_lead_ins=False) is not None
