"""Strict reading of a judge's reply: one verdict line, last, and nothing that contradicts it.

A reply is read as a verdict only when its last non-blank line is ``<label>: <choice>`` (light
Markdown emphasis and a final full stop are tolerated) with a choice the template knows, and no
other ``<label>: …`` anywhere in the reply names a different choice. Anything else raises
JudgeUnparseableError: an unreadable reply is never a correct one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from verifier_service.engine.judge.prompts import JudgeTemplate, VerdictLabel
from verifier_service.errors import JudgeUnparseableError

__all__ = ["Verdict", "parse_verdict"]

_PREVIEW_CHARS = 80


@dataclass(frozen=True)
class Verdict:
    """The judge's decision: what it means (label) and the choice as the judge wrote it."""

    label: VerdictLabel
    choice: str

    @property
    def correct(self) -> bool:
        return self.label == "correct"


@dataclass(frozen=True)
class _Patterns:
    line: re.Pattern[str]
    anywhere: re.Pattern[str]


def parse_verdict(
    reply: str, template: JudgeTemplate, *, finish_reason: str | None = None
) -> Verdict:
    """Return the verdict of ``reply`` under ``template``'s verdict line.

    ``finish_reason="length"`` (the reply hit its token limit) is accepted only when the reply
    still ends with a complete verdict line. Raises JudgeUnparseableError otherwise.
    """
    cut = " (the reply was cut at its token limit)" if finish_reason == "length" else ""
    lines = [line for line in reply.splitlines() if line.strip()]
    if not lines:
        raise JudgeUnparseableError(f"the judge's reply is empty{cut}")
    patterns = _patterns_for(template.verdict_label)
    match = patterns.line.fullmatch(lines[-1])
    if match is None:
        raise JudgeUnparseableError(
            f"the reply's last line {_preview(lines[-1])} is not "
            f"'{template.verdict_label}: <choice>'{cut}"
        )
    final = _label_of(match.group("choice"), template)
    if final is None:
        raise JudgeUnparseableError(
            f"the verdict {_preview(match.group('choice'))} is none of "
            f"{', '.join(template.choices)}{cut}"
        )
    for other in patterns.anywhere.finditer(reply):
        if _label_of(other.group("choice"), template) != final:
            raise JudgeUnparseableError(
                f"the reply names two decisions: {_preview(other.group(0))} and "
                f"{_preview(lines[-1])}"
            )
    return Verdict(label=final, choice=match.group("choice"))


def _label_of(choice: str, template: JudgeTemplate) -> VerdictLabel | None:
    if not template.ignore_case:
        return template.choices.get(choice)
    for written, label in template.choices.items():
        if written.casefold() == choice.casefold():
            return label
    return None


@lru_cache(maxsize=32)
def _patterns_for(label: str) -> _Patterns:
    words = r"[ \t]+".join(re.escape(word) for word in label.split())
    # Tolerate Markdown emphasis around the label or the choice: **Final Decision:** Yes.
    head = rf"{words}[*_]*[ \t]*[:：][*_ \t]*(?P<choice>[A-Za-z]+)"
    line = re.compile(rf"[*_ \t]*{head}[*_]*[ \t]*\.?[*_ \t]*", re.IGNORECASE)
    anywhere = re.compile(head, re.IGNORECASE)
    return _Patterns(line=line, anywhere=anywhere)


def _preview(text: str) -> str:
    text = text.strip()
    if len(text) > _PREVIEW_CHARS:
        text = text[:_PREVIEW_CHARS] + "…"
    return repr(text)
