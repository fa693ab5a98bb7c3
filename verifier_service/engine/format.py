"""Format reward: does a response follow the reasoning template it was asked for?

Three templates are supported, one per :class:`FormatStyle`:

``r1_zero``
    DeepSeek-R1-Zero's template: ``<think> reasoning </think> <answer> answer </answer>``. Each
    of the four tags appears exactly once and in that order, only whitespace lies outside the
    tags, and neither the reasoning nor the answer is empty.
``think``
    ``<think> reasoning </think>`` at the start of the response (leading whitespace allowed),
    followed by a non-empty summary. Each tag appears exactly once.
``think_open``
    The chat template already emitted ``<think>``, so the response starts with the reasoning,
    contains exactly one ``</think>`` and no ``<think>``, and ends with a non-empty summary.

The checks only count, find and strip substrings, so they run in linear time whatever the
input (a megabyte of repeated tags included). Tags are matched exactly and case-sensitively:
``<THINK>`` is text, not a tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from verifier_service.errors import InvalidInputError

__all__ = ["FormatResult", "FormatStyle", "final_part", "format_reward"]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"


class FormatStyle(StrEnum):
    """The reasoning template a response is held to."""

    R1_ZERO = "r1_zero"
    THINK = "think"
    THINK_OPEN = "think_open"


@dataclass(frozen=True)
class FormatResult:
    """The format reward of one response.

    score: 1.0 when the response follows the template, else 0.0.
    reason: what was wrong (e.g. "missing </answer>"), or why it passed.
    """

    score: float
    reason: str

    @property
    def passed(self) -> bool:
        return self.score == 1.0


def format_reward(response: str, *, style: FormatStyle) -> FormatResult:
    """Score ``response`` 1.0 if it follows the template of ``style``, else 0.0 with a reason.

    Raises InvalidInputError for a style that is not a :class:`FormatStyle`.
    """
    checker = _CHECKERS.get(style)
    if checker is None:
        known = ", ".join(FormatStyle)
        raise InvalidInputError(f"unknown format style {style!r}; use one of: {known}")
    problem = checker(response)
    if problem is None:
        return FormatResult(1.0, f"follows the {style} template")
    return FormatResult(0.0, problem)


def final_part(response: str) -> str | None:
    """The text after the last ``</think>`` (the summary); None when ``<think>`` is never closed.

    A response with neither tag is all final text. This is the one definition of what follows
    the reasoning: math extraction, the judge, code extraction and general rewards read it.
    """
    close = response.rfind(THINK_CLOSE)
    if close >= 0:
        return response[close + len(THINK_CLOSE) :]
    return None if THINK_OPEN in response else response


def _check_r1_zero(response: str) -> str | None:
    tags = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)
    problem = _check_tag_counts(response, tags)
    if problem is not None:
        return problem
    starts = [response.find(tag) for tag in tags]
    for i in range(1, len(tags)):
        if starts[i] < starts[i - 1]:
            return f"{tags[i]} comes before {tags[i - 1]}"
    think_open, think_close, answer_open, answer_close = starts
    outside = (
        response[:think_open],
        response[think_close + len(THINK_CLOSE) : answer_open],
        response[answer_close + len(ANSWER_CLOSE) :],
    )
    if any(not _is_blank(part) for part in outside):
        return "text outside the tags"
    if _is_blank(response[think_open + len(THINK_OPEN) : think_close]):
        return "empty <think> block"
    if _is_blank(response[answer_open + len(ANSWER_OPEN) : answer_close]):
        return "empty <answer> block"
    return None


def _check_think(response: str) -> str | None:
    problem = _check_tag_counts(response, (THINK_OPEN, THINK_CLOSE))
    if problem is not None:
        return problem
    think_open = response.find(THINK_OPEN)
    think_close = response.find(THINK_CLOSE)
    if think_close < think_open:
        return f"{THINK_CLOSE} comes before {THINK_OPEN}"
    if not _is_blank(response[:think_open]):
        return f"text before {THINK_OPEN}"
    if _is_blank(response[think_open + len(THINK_OPEN) : think_close]):
        return "empty <think> block"
    if _is_blank(response[think_close + len(THINK_CLOSE) :]):
        return f"no summary after {THINK_CLOSE}"
    return None


def _check_think_open(response: str) -> str | None:
    if THINK_OPEN in response:
        # The template already opened the block: another opening tag is a malformed response.
        return f"unexpected {THINK_OPEN} (the template already opened it)"
    problem = _check_tag_counts(response, (THINK_CLOSE,))
    if problem is not None:
        return problem
    think_close = response.find(THINK_CLOSE)
    if _is_blank(response[:think_close]):
        return f"no reasoning before {THINK_CLOSE}"
    if _is_blank(response[think_close + len(THINK_CLOSE) :]):
        return f"no summary after {THINK_CLOSE}"
    return None


def _check_tag_counts(response: str, tags: tuple[str, ...]) -> str | None:
    """Say which tag is missing or repeated, checking tags in template order."""
    for tag in tags:
        count = response.count(tag)
        if count == 0:
            return f"missing {tag}"
        if count > 1:
            return f"{tag} appears {count} times"
    return None


def _is_blank(text: str) -> bool:
    return not text or text.isspace()


_CHECKERS = {
    FormatStyle.R1_ZERO: _check_r1_zero,
    FormatStyle.THINK: _check_think,
    FormatStyle.THINK_OPEN: _check_think_open,
}
