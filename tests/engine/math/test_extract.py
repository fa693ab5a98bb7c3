"""Tests of final-answer extraction: one table per rule, then references and hostile inputs."""

from __future__ import annotations

import pytest

from verifier_service.engine.math.extract import (
    Extraction,
    extract_final_answer,
    extract_reference,
    strip_math_delimiters,
)
from verifier_service.errors import InvalidReferenceError

THINK = [
    pytest.param("<think>\\boxed{1}</think>\\boxed{2}", "2", "boxed", id="box-after-think"),
    pytest.param("<think>answer is 1</think> The answer is 2.", "2", "phrase", id="phrase-after"),
    pytest.param("<think>a</think>b</think>\\boxed{3}", "3", "boxed", id="last-close-tag"),
    pytest.param("reasoning\n</think>\n\\boxed{4}", "4", "boxed", id="open-tag-in-prompt"),
    pytest.param("<think>\\boxed{5}</think>nothing here", None, "none", id="box-only-in-think"),
    pytest.param("<think>so the answer is \\boxed{6}", None, "none", id="unclosed-think"),
    pytest.param("</think><think>\\boxed{7}", None, "none", id="reopened-after-close"),
]

ANSWER_TAG = [
    pytest.param("<answer>42</answer>", "42", "answer_tag", id="plain"),
    pytest.param("<answer> $\\frac{1}{2}$ </answer>", "\\frac{1}{2}", "answer_tag", id="dollars"),
    pytest.param("<answer>1</answer> <answer>2</answer>", "2", "answer_tag", id="last-tag"),
    pytest.param("<answer>so \\boxed{3} it is</answer>", "3", "answer_tag", id="box-inside-wins"),
    pytest.param(
        "<answer>\\boxed{1}, \\boxed{2}</answer>", "1, 2", "answer_tag", id="box-list-inside"
    ),
    pytest.param("<answer>The answer is 9.</answer>", "9", "answer_tag", id="phrase-inside"),
    pytest.param("\\boxed{1} <answer>2</answer>", "2", "answer_tag", id="tag-beats-box"),
    pytest.param("<answer>4</answer> \\boxed{5}", "4", "answer_tag", id="tag-beats-later-box"),
    pytest.param(
        "<think>x</think><answer>\n\\[ x = 3. \\]\n</answer>", "x = 3", "answer_tag", id="r1"
    ),
    pytest.param("<answer>7 \\boxed{8}", "8", "boxed", id="unclosed-tag-ignored"),
    pytest.param("<answer>  </answer> \\boxed{8}", None, "none", id="empty-tag"),
]

BOXED = [
    pytest.param("so \\boxed{42}.", "42", "boxed", id="simple"),
    pytest.param("$\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}", "boxed", id="nested-braces"),
    pytest.param(
        "\\boxed{\\frac{\\sqrt{2}}{2^{3}}}", "\\frac{\\sqrt{2}}{2^{3}}", "boxed", id="deep"
    ),
    pytest.param("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}", "boxed", id="escaped-braces"),
    pytest.param("\\boxed{\\left\\{ x \\right.}", "\\left\\{ x \\right.", "boxed", id="right-dot"),
    pytest.param("\\boxed{a \\\\ b}", "a \\\\ b", "boxed", id="line-break-inside"),
    pytest.param("\\fbox{12}", "12", "boxed", id="fbox"),
    # The scan for boxes starts at the first box command; a line break "\\\\" before the
    # word "boxed" is not one, and braces opened before the first box never pair with it.
    pytest.param("so x \\\\boxed{3}", "3", "final_number", id="line-break-then-boxed"),
    pytest.param("{ {x} \\boxed{1} } }", "1", "boxed", id="braces-before-first-box"),
    pytest.param("the result is \\boxed 5.", "5", "boxed", id="space-form"),
    pytest.param("$\\boxed 34$", "34", "boxed", id="space-form-in-dollars"),
    pytest.param("\\boxed {7}", "7", "boxed", id="space-before-brace"),
    pytest.param("\\boxed{\\boxed{9}}", "9", "boxed", id="box-in-box"),
    pytest.param("\\boxed{1} then \\boxed{2}", "2", "boxed", id="last-box"),
    pytest.param("\\boxed{ \\text{(C)} }.", "\\text{(C)}", "boxed", id="text-content"),
    pytest.param("\\(\\boxed{189}\\) cm", "189", "boxed", id="paren-delimiters"),
    pytest.param("\\boxed{3} and then \\boxed{", None, "none", id="last-unclosed"),
    pytest.param("\\boxed{x} } } \\boxed{y}", "y", "boxed", id="stray-closers"),
    pytest.param("{ { \\boxed{z}", "z", "boxed", id="stray-openers"),
    pytest.param("\\boxedx{3}", "3", "final_number", id="not-a-box-command"),
]

BOX_GROUPS = [
    pytest.param("\\boxed{1}, \\boxed{2}", "1, 2", "boxed_list", id="comma"),
    pytest.param("\\boxed{1} and \\boxed{2} and \\boxed{3}", "1, 2, 3", "boxed_list", id="and"),
    pytest.param(
        "$\\boxed{1}$ \\quad \\text{and} \\quad $\\boxed{2}$", "1, 2", "boxed_list", id="quad-text"
    ),
    pytest.param("\\boxed{1}\\text{ and }\\boxed{2}", "1, 2", "boxed_list", id="text-and-spaced"),
    pytest.param("\\boxed{1};\\,\\boxed{2}~\\boxed{3}", "1, 2, 3", "boxed_list", id="spacing"),
    pytest.param("\\[\\boxed{1}\\]\\[\\boxed{2}\\]", "1, 2", "boxed_list", id="display-math"),
    pytest.param(
        "solutions:\n\\[\n\\boxed{(1, 2)}, \\boxed{(2, 1)}\n\\]",
        "(1, 2), (2, 1)",
        "boxed_list",
        id="tuples",
    ),
    pytest.param("\\boxed{1}, \\boxed{}, \\boxed{3}", "1, 3", "boxed_list", id="empty-middle"),
    pytest.param(
        "First \\boxed{800}. Checking again, the count is off by 40, so \\boxed{840}",
        "840",
        "boxed",
        id="scattered-not-glued",
    ),
    pytest.param("\\boxed{1} or \\boxed{2}", "1 or 2", "boxed_list", id="or-is-a-hedge"),
    pytest.param("\\boxed{1} no \\boxed{2}", "2", "boxed", id="text-between"),
    pytest.param(
        "\\boxed{1} \\boxed{2} so finally \\boxed{3}, \\boxed{4}",
        "3, 4",
        "boxed_list",
        id="only-last-group",
    ),
    pytest.param("\\boxed{1}" + " " * 300 + "\\boxed{2}", "2", "boxed", id="gap-too-long"),
]

PHRASES = [
    pytest.param("The answer is 12.", "12", "phrase", id="the-answer-is"),
    pytest.param("so THE ANSWER IS $x=2$.", "x=2", "phrase", id="case-insensitive"),
    pytest.param("Answer: 7", "7", "phrase", id="answer-colon"),
    pytest.param("The final answer is 3.5. Done.", "3.5", "phrase", id="decimal-then-stop"),
    pytest.param(
        "Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.",
        "\\frac{1}{2}",
        "phrase",
        id="minerva",
    ),
    pytest.param(
        "Final Answer: The final answer is \\((-6, 10)\\). I hope it is correct.",
        "(-6, 10)",
        "phrase",
        id="minerva-parens",
    ),
    pytest.param("Final Answer: The largest $n$ is 34.", "34", "phrase", id="colon-then-is"),
    pytest.param("answer: 1. Actually, the answer is 2.", "2", "phrase", id="last-phrase"),
    pytest.param("The answer is 5\nbut some more text", "5", "phrase", id="ends-at-line"),
    pytest.param("The answer is:\n\\[\n x = 3.\n\\]", "x = 3", "phrase", id="display-next-line"),
    pytest.param("Answer \\[ 9 \\]", "9", "phrase", id="answer-then-math"),
    pytest.param("The answer is $12$ and $13$.", "12 and 13", "phrase", id="dollars-removed"),
    pytest.param("The answers vary: 4", "4", "final_number", id="answers-is-not-a-phrase"),
    pytest.param("The answer is:", None, "none", id="empty-phrase"),
    pytest.param(
        "$\\boxed{255}$ so far. Final Answer: The final answer is $10,455$. I hope it is correct.",
        "10,455",
        "phrase",
        id="final-phrase-after-box-wins",
    ),
    pytest.param("The final answer is 7. So \\boxed{8}", "8", "boxed", id="box-after-phrase-wins"),
    pytest.param("\\boxed{8}. The answer is 7.", "8", "boxed", id="plain-phrase-not-over-box"),
    pytest.param(
        "The final answer is $\\boxed{6}$. I hope it is correct.", "6", "boxed", id="box-in-phrase"
    ),
]

EMPTY = [
    pytest.param("", id="empty-response"),
    pytest.param("\\boxed{}", id="empty-box"),
    pytest.param("\\boxed{   }", id="blank-box"),
    pytest.param("\\boxed{$ $}", id="box-of-delimiters"),
    pytest.param("\\boxed{.}", id="box-of-period"),
    pytest.param("\\boxed{5} \\boxed{}", id="last-box-empty"),
    pytest.param("The answer is $ $.", id="blank-phrase"),
    pytest.param("<answer></answer>", id="empty-tag"),
    pytest.param("\\boxed", id="bare-command"),
]


def _check(extraction: Extraction, answer: str | None, source: str) -> None:
    assert (extraction.answer, extraction.source) == (answer, source), extraction.reason
    assert extraction.reason


@pytest.mark.parametrize(("response", "answer", "source"), THINK)
def test_extract_final_answer_reads_after_think(
    response: str, answer: str | None, source: str
) -> None:
    _check(extract_final_answer(response), answer, source)


def test_extract_final_answer_unclosed_think_says_why() -> None:
    assert "<think>" in extract_final_answer("<think>4").reason


@pytest.mark.parametrize(("response", "answer", "source"), ANSWER_TAG)
def test_extract_final_answer_answer_tag(response: str, answer: str | None, source: str) -> None:
    _check(extract_final_answer(response), answer, source)


@pytest.mark.parametrize(("response", "answer", "source"), BOXED)
def test_extract_final_answer_boxed(response: str, answer: str | None, source: str) -> None:
    _check(extract_final_answer(response), answer, source)


@pytest.mark.parametrize(("response", "answer", "source"), BOX_GROUPS)
def test_extract_final_answer_box_groups(response: str, answer: str | None, source: str) -> None:
    _check(extract_final_answer(response), answer, source)


@pytest.mark.parametrize(("response", "answer", "source"), PHRASES)
def test_extract_final_answer_phrases(response: str, answer: str | None, source: str) -> None:
    _check(extract_final_answer(response), answer, source)


@pytest.mark.parametrize("response", EMPTY)
def test_extract_final_answer_empty_is_no_answer(response: str) -> None:
    extraction = extract_final_answer(response, last_number_fallback=True)
    assert extraction.answer is None
    assert extraction.source == "none"


LAST_NUMBER = [
    pytest.param("so we get 12 apples", "12", id="int"),
    pytest.param("about 3.25 metres", "3.25", id="decimal"),
    pytest.param("worth 7,425,000 dollars", "7425000", id="thousands"),
    pytest.param("that is 12,\\!000,\\!023 total", "12000023", id="latex-thousands"),
    pytest.param("is 14{,}916", "14916", id="brace-thousands"),
    pytest.param("the value is -5", "-5", id="negative"),
    pytest.param("so x-5", "5", id="binary-minus"),
    pytest.param("probability 2/3", "2/3", id="slash-fraction"),
    pytest.param("it is -\\frac{3}{4} here", "-\\frac{3}{4}", id="latex-fraction"),
    pytest.param("is .4", ".4", id="leading-dot"),
    pytest.param("first 10, then 20.", "20", id="last-of-several"),
    pytest.param("AZYUK2A", None, id="digit-inside-word"),
    pytest.param("no digits at all", None, id="none"),
]


@pytest.mark.parametrize(("response", "answer"), LAST_NUMBER)
def test_extract_final_answer_last_number_fallback(response: str, answer: str | None) -> None:
    # A final sentence without a number, so that the fallback (not the final sentence) decides.
    extraction = extract_final_answer(response + "\n\nThat is all.", last_number_fallback=True)
    assert extraction.answer == answer
    assert extraction.source == ("last_number" if answer is not None else "none")


def test_extract_final_answer_last_number_off_by_default() -> None:
    response = "so we get 12 apples. That is all."
    assert extract_final_answer(response) == extract_final_answer(
        response, last_number_fallback=False
    )
    assert extract_final_answer(response).answer is None


FINAL_NUMBER = [
    pytest.param("so we get 12 apples", "12", id="int"),
    pytest.param("Donc, il a déjà 79 g de cire.", "79", id="prose"),
    pytest.param("First 3. So it is 2 or 3.", "2 or 3", id="or-is-kept"),
    pytest.param("We tried 3. It is not 4.", None, id="negation"),
    pytest.param("因此，水池中水将在300分钟内被放完。", "300", id="full-width-stop"),
]


@pytest.mark.parametrize(("response", "answer"), FINAL_NUMBER)
def test_extract_final_answer_final_sentence_number(response: str, answer: str | None) -> None:
    extraction = extract_final_answer(response)
    assert extraction.answer == answer
    assert extraction.source == ("final_number" if answer is not None else "none")


def test_extract_final_answer_last_number_only_as_fallback() -> None:
    extraction = extract_final_answer("\\boxed{3} and 99 more", last_number_fallback=True)
    assert (extraction.answer, extraction.source) == ("3", "boxed")


DELIMITERS = [
    pytest.param("$5$", "5", id="dollar"),
    pytest.param("$$ 5 $$", "5", id="double-dollar"),
    pytest.param("\\( 5 \\)", "5", id="paren"),
    pytest.param("\\[5\\]", "5", id="bracket"),
    pytest.param("$\\(5\\)$", "5", id="stacked"),
    pytest.param("$a$ and $b$", "$a$ and $b$", id="two-spans-kept"),
    pytest.param("$5\\$", "$5\\$", id="escaped-closer-kept"),
    pytest.param("\\(a\\) + \\(b\\)", "\\(a\\) + \\(b\\)", id="two-paren-spans-kept"),
    pytest.param("  x  ", "x", id="whitespace"),
    pytest.param("$", "$", id="lone-dollar"),
]


@pytest.mark.parametrize(("text", "expected"), DELIMITERS)
def test_strip_math_delimiters(text: str, expected: str) -> None:
    assert strip_math_delimiters(text) == expected


TRAILING = [
    pytest.param("\\boxed{5.}", "5", id="period"),
    pytest.param("\\boxed{x=1,\\,}", "x=1", id="thin-space"),
    pytest.param("\\boxed{5!}", "5!", id="factorial-kept"),
    pytest.param("\\boxed{5 \\quad}", "5", id="quad"),
    pytest.param("\\boxed{\\{1\\}}", "\\{1\\}", id="escaped-brace-kept"),
    pytest.param("The answer is $5$.", "5", id="period-after-dollars"),
]


@pytest.mark.parametrize(("response", "answer"), TRAILING)
def test_extract_final_answer_strips_trailing_punctuation(response: str, answer: str) -> None:
    assert extract_final_answer(response).answer == answer


REFERENCES = [
    pytest.param("0.5", "0.5", id="bare"),
    pytest.param("$\\frac12$", "\\frac12", id="dollars"),
    pytest.param("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", id="boxed"),
    pytest.param(
        "We have $x = 2$, so the total is $\\boxed{14{,}916}$ as claimed.",
        "14{,}916",
        id="solution",
    ),
    pytest.param("\\boxed{1} and \\boxed{-2}", "1, -2", id="box-group"),
    pytest.param("First \\boxed{1} papers, then \\boxed{2}", "2", id="scattered-boxes"),
    pytest.param("  \\[ x \\in [0, 1) \\]  ", "x \\in [0, 1)", id="display"),
    pytest.param("34.", "34", id="trailing-period"),
    # Escaped twice on its way through JSON: one level of escapes is undone.
    pytest.param(
        "so \\\\boxed{12}.\\n\\n**Final Answer**\\n\\\\boxed{\\\\frac{1}{2}}",
        "\\frac{1}{2}",
        id="escaped-twice",
    ),
    pytest.param(
        "\\begin{pmatrix}1 \\\\ 2\\end{pmatrix}",
        "\\begin{pmatrix}1 \\\\ 2\\end{pmatrix}",
        id="row-break-kept",
    ),
]


@pytest.mark.parametrize(("reference", "expected"), REFERENCES)
def test_extract_reference(reference: str, expected: str) -> None:
    assert extract_reference(reference) == expected


@pytest.mark.parametrize(
    "reference",
    [
        pytest.param("", id="empty"),
        pytest.param(" $ $ ", id="blank-math"),
        pytest.param("\\boxed{}", id="empty-box"),
        pytest.param("so \\boxed{12", id="unclosed-box"),
    ],
)
def test_extract_reference_without_answer_raises(reference: str) -> None:
    with pytest.raises(InvalidReferenceError):
        extract_reference(reference)


MEGABYTE = 1_000_000

HOSTILE = [
    pytest.param("\\boxed{" * (MEGABYTE // 7), None, id="repeated-open-boxes"),
    pytest.param("{" * MEGABYTE, None, id="open-braces"),
    pytest.param("}" * MEGABYTE, None, id="close-braces"),
    pytest.param(
        "\\boxed{" + "{" * 100_000 + "x" + "}" * 100_001,
        "{" * 100_000 + "x" + "}" * 100_000,
        id="nested-braces-100k",
    ),
    pytest.param("\\boxed{" * 100_000 + "7" + "}" * 100_000, "7", id="nested-boxes-100k"),
    pytest.param("\\boxed{1}, " * 50_000, ", ".join(["1"] * 50_000), id="huge-box-list"),
    pytest.param("\\boxed{1} x " * 50_000, "1", id="many-scattered-boxes"),
    pytest.param("word " * (MEGABYTE // 5), None, id="no-answer"),
    pytest.param("answer: " * (MEGABYTE // 8), None, id="answer-spam"),
    pytest.param("answers " * (MEGABYTE // 8), None, id="answer-word-spam"),
    pytest.param("the answer is $" + "x" * MEGABYTE, "x" * MEGABYTE, id="unclosed-math"),
    pytest.param("$" * MEGABYTE, None, id="dollars"),
    pytest.param("\\" * MEGABYTE, None, id="backslashes"),
    pytest.param("1," * MEGABYTE, "1", id="comma-digits"),
    pytest.param(" " * MEGABYTE + "\\boxed{2}" + " " * MEGABYTE, "2", id="padded-box"),
    pytest.param("\\boxed{" + "." * MEGABYTE + "}", None, id="box-of-dots"),
    pytest.param("\\boxed{1}" + " ," * MEGABYTE, "1", id="trailing-glue"),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("response", "answer"), HOSTILE)
def test_extract_final_answer_hostile_input_finishes(response: str, answer: str | None) -> None:
    extraction = extract_final_answer(response, last_number_fallback=True)
    assert extraction.answer == answer
    assert extraction.reason


@pytest.mark.timeout(10)
def test_extract_reference_hostile_input_finishes() -> None:
    with pytest.raises(InvalidReferenceError):
        extract_reference("\\boxed{" * (MEGABYTE // 7))
