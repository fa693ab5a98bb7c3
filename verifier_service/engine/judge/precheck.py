"""What the judge gets to see of a response, and the answers refused before any judge call.

Only the final answer is judged: the text after the last ``</think>``, or the content of its
final box (or ``<answer>`` tag) when it has one. Answers a judge is known to be fooled by are
refused without asking: empty ones, ones made only of punctuation (a lone ":"), and lead-ins
that end with a colon ("Thought process:", "The answer is:").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from verifier_service.engine.format import final_part
from verifier_service.engine.math.extract import extract_final_answer

__all__ = ["JudgedAnswer", "extract_judged_answer", "refusal_reason"]

_BOXED_SOURCES = frozenset({"answer_tag", "boxed", "boxed_list"})
_BOX_COMMANDS = ("\\boxed", "\\fbox", "<answer>")
# Unicode categories that carry content: letters, numbers, symbols (+, =, ∞, ∅, $).
_CONTENT_CATEGORIES = ("L", "N", "S")
_LEAD_IN_ENDINGS = (":", "：")


@dataclass(frozen=True)
class JudgedAnswer:
    """The final answer of a response as the judge will see it.

    answer: the text, or None when the response has no final answer at all.
    source: "boxed" (a box or answer tag), "text" (the whole final part) or "none".
    reason: why this text (or nothing) was taken.
    """

    answer: str | None
    source: str
    reason: str


def extract_judged_answer(response: str) -> JudgedAnswer:
    """Return the part of ``response`` the judge reads: its final box, else its final text."""
    final = final_part(response)
    if final is None or "<think>" in final:
        return JudgedAnswer(None, "none", "<think> is never closed, so there is no final answer")
    extraction = extract_final_answer(final)
    if extraction.answer is not None and extraction.source in _BOXED_SOURCES:
        return JudgedAnswer(extraction.answer, "boxed", extraction.reason)
    if extraction.answer is None and any(command in final for command in _BOX_COMMANDS):
        # A box that the extractor refused (several different boxes, an unclosed one) is not
        # handed to the judge as free text: that is how "A or B or C" answers get through.
        return JudgedAnswer(None, "none", extraction.reason)
    return JudgedAnswer(final.strip(), "text", "the text after the reasoning (no box)")


def refusal_reason(answer: str | None, *, reject_lead_ins: bool = True) -> str | None:
    """Return why ``answer`` is refused without asking the judge, or None to ask."""
    if answer is None or not answer.strip():
        return "the final answer is empty"
    if not any(unicodedata.category(char).startswith(_CONTENT_CATEGORIES) for char in answer):
        return "the final answer is only punctuation"
    if reject_lead_ins and answer.rstrip().endswith(_LEAD_IN_ENDINGS):
        return "the final answer is a lead-in ending with a colon, with nothing after it"
    return None
