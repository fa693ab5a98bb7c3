"""Tests of the format reward: one table of passing and failing shapes per template."""

from __future__ import annotations

import time

import pytest

from verifier_service.engine.format import FormatResult, FormatStyle, format_reward
from verifier_service.errors import InvalidInputError

R1 = FormatStyle.R1_ZERO
THINK = FormatStyle.THINK
OPEN = FormatStyle.THINK_OPEN

PASSING = [
    pytest.param(R1, "<think>2+2=4</think><answer>4</answer>", id="r1-compact"),
    pytest.param(
        R1, "<think>\nAdd them.\n2+2=4\n</think>\n<answer>\n4\n</answer>\n", id="r1-newlines"
    ),
    pytest.param(R1, "  \n<think>x</think>  <answer>\\boxed{4}</answer>\t", id="r1-outer-space"),
    pytest.param(R1, "<think>a <b> c</think><answer>x<y</answer>", id="r1-angle-brackets"),
    pytest.param(R1, "<think>我们先算 2+2。</think><answer>四</answer>", id="r1-chinese"),
    pytest.param(THINK, "<think>2+2=4</think>The answer is \\boxed{4}.", id="think-compact"),
    pytest.param(THINK, "\n<think>\nwork\n</think>\n\nSo it is 4.\n", id="think-newlines"),
    pytest.param(THINK, "<think>x</think>Summary with <answer>4</answer>", id="think-answer-tag"),
    pytest.param(OPEN, "Let me add.\n2+2=4\n</think>\n\nThe answer is 4.", id="open-plain"),
    pytest.param(OPEN, "work</think>4", id="open-compact"),
]

FAILING = [
    # r1_zero
    pytest.param(R1, "", "missing <think>", id="r1-empty"),
    pytest.param(R1, "The answer is 4.", "missing <think>", id="r1-no-tags"),
    pytest.param(R1, "<think>x</think>4", "missing <answer>", id="r1-no-answer-tags"),
    pytest.param(R1, "<think>x</think><answer>4", "missing </answer>", id="r1-unclosed-answer"),
    pytest.param(R1, "<think>x<answer>4</answer>", "missing </think>", id="r1-unclosed-think"),
    pytest.param(
        R1,
        "<think>x</think><think>y</think><answer>4</answer>",
        "<think> appears 2 times",
        id="r1-two-thinks",
    ),
    pytest.param(
        R1,
        "<think>x</think><answer>3</answer><answer>4</answer>",
        "<answer> appears 2 times",
        id="r1-two-answers",
    ),
    pytest.param(
        R1, "<answer>4</answer><think>x</think>", "<answer> comes before </think>", id="r1-swapped"
    ),
    pytest.param(
        R1, "</think>x<think><answer>4</answer>", "</think> comes before <think>", id="r1-reversed"
    ),
    pytest.param(
        R1,
        "<think>x<answer>4</answer></think>",
        "<answer> comes before </think>",
        id="r1-answer-inside-think",
    ),
    pytest.param(
        R1, "Sure! <think>x</think><answer>4</answer>", "text outside the tags", id="r1-preamble"
    ),
    pytest.param(
        R1,
        "<think>x</think> so 4 <answer>4</answer>",
        "text outside the tags",
        id="r1-text-between",
    ),
    pytest.param(
        R1, "<think>x</think><answer>4</answer> Done.", "text outside the tags", id="r1-trailer"
    ),
    pytest.param(R1, "<think> \n</think><answer>4</answer>", "empty <think> block", id="r1-no-cot"),
    pytest.param(R1, "<think>x</think><answer>  </answer>", "empty <answer> block", id="r1-blank"),
    pytest.param(
        R1, "<THINK>x</THINK><answer>4</answer>", "missing <think>", id="r1-uppercase-tags"
    ),
    # think
    pytest.param(THINK, "The answer is 4.", "missing <think>", id="think-no-tags"),
    pytest.param(THINK, "<think>work, answer 4", "missing </think>", id="think-unclosed"),
    pytest.param(THINK, "work</think>4", "missing <think>", id="think-no-open"),
    pytest.param(
        THINK, "<think>a</think><think>b</think>4", "<think> appears 2 times", id="think-two-opens"
    ),
    pytest.param(
        THINK, "<think>a</think>b</think>4", "</think> appears 2 times", id="think-two-closes"
    ),
    pytest.param(THINK, "Hi.<think>a</think>4", "text before <think>", id="think-preamble"),
    pytest.param(THINK, "</think>a<think>4", "</think> comes before <think>", id="think-reversed"),
    pytest.param(THINK, "<think>\n\n</think>4", "empty <think> block", id="think-empty-cot"),
    pytest.param(THINK, "<think>work</think>\n  \n", "no summary after </think>", id="think-nosum"),
    # think_open
    pytest.param(OPEN, "The answer is 4.", "missing </think>", id="open-no-close"),
    pytest.param(
        OPEN,
        "<think>work</think>4",
        "unexpected <think> (the template already opened it)",
        id="open-reopened",
    ),
    pytest.param(OPEN, "a</think>b</think>4", "</think> appears 2 times", id="open-two-closes"),
    pytest.param(OPEN, "\n</think>4", "no reasoning before </think>", id="open-empty-cot"),
    pytest.param(OPEN, "work</think>", "no summary after </think>", id="open-no-summary"),
]


@pytest.mark.parametrize(("style", "response"), PASSING)
def test_format_reward_accepts_well_formed(style: FormatStyle, response: str) -> None:
    result = format_reward(response, style=style)
    assert result == FormatResult(1.0, f"follows the {style} template")
    assert result.passed


@pytest.mark.parametrize(("style", "response", "reason"), FAILING)
def test_format_reward_rejects_malformed(style: FormatStyle, response: str, reason: str) -> None:
    result = format_reward(response, style=style)
    assert result == FormatResult(0.0, reason)
    assert not result.passed


def test_format_reward_tables_have_more_failing_than_passing_shapes() -> None:
    assert len(FAILING) >= len(PASSING)
    for style in FormatStyle:
        assert sum(case.values[0] == style for case in FAILING) >= sum(
            case.values[0] == style for case in PASSING
        )


def test_format_reward_accepts_style_as_plain_string() -> None:
    assert format_reward("<think>x</think>4", style=FormatStyle("think")).passed
    assert format_reward("x</think>4", style="think_open").passed  # type: ignore[arg-type]


def test_format_reward_rejects_unknown_style() -> None:
    with pytest.raises(InvalidInputError, match="unknown format style 'xml'"):
        format_reward("<think>x</think>4", style="xml")  # type: ignore[arg-type]


HOSTILE = [
    pytest.param("<think>" * 150_000, id="repeated-open-tags"),
    pytest.param("</think><answer>" * 70_000, id="repeated-tag-pairs"),
    pytest.param("<think>" + "<" * 1_000_000 + "</think><answer>4</answer>", id="angle-flood"),
    pytest.param("<think>" + " " * 1_000_000 + "</think><answer>4</answer>", id="blank-mb-cot"),
    pytest.param("<think>x</think>" + "\n" * 1_000_000 + "<answer>4</answer>", id="blank-gap"),
    pytest.param("x" * 1_000_000 + "</think>" + "y" * 1_000_000, id="two-mb-plain"),
]


@pytest.mark.parametrize("response", HOSTILE)
def test_format_reward_is_fast_on_megabyte_inputs(response: str) -> None:
    start = time.perf_counter()
    for style in FormatStyle:
        assert format_reward(response, style=style).score in (0.0, 1.0)
    # Linear scans of ~1 MB take milliseconds; a quadratic scan would take minutes.
    assert time.perf_counter() - start < 1.0
