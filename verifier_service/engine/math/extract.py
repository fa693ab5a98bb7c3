"""Finding the final answer in a model's response (no parsing, no comparison)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extraction:
    """The one final answer found in a response, and where it came from.

    answer: the answer's text, or None when the response commits to no answer.
    source: which rule found it ("answer_tag", "boxed", "phrase", "last_number", "none").
    reason: a sentence for humans saying why this (or nothing) was taken.
    """

    answer: str | None
    source: str
    reason: str


def extract_final_answer(response: str, *, last_number_fallback: bool = False) -> Extraction:
    """Return the single final answer of ``response`` (placeholder: last \\boxed{})."""
    start = response.rfind("\\boxed{")
    if start < 0:
        return Extraction(None, "none", "no final answer found")
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(response)):
        if response[j] == "{":
            depth += 1
        elif response[j] == "}":
            depth -= 1
            if depth == 0:
                return Extraction(response[i + 1 : j], "boxed", "last \\boxed{}")
    return Extraction(None, "none", "unclosed \\boxed{")
