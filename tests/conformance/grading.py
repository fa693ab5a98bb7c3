"""How a conformance row is graded by this project (shared by the test and the benchmark).

A row's ``mode`` says what ``pred`` is: "response" (a model response, or a peer's test string:
the whole pipeline runs; a prediction that is nothing but math and yields no committed answer is
graded boxed, as the peers read a bare math block), or "answer" (an already extracted answer:
parsing and comparison only).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from verifier_service.engine.math import MathConfig, grade_answer, verify
from verifier_service.engine.math.extract import strip_math_delimiters
from verifier_service.errors import InvalidReferenceError

CASES = Path(__file__).with_name("cases.jsonl")
# Verdicts: 1 correct, 0 incorrect, "invalid_reference" when the gold is refused or unparsable.
Verdict = int | str


def load_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]


def row_config(row: dict[str, Any]) -> MathConfig:
    return MathConfig(
        allow_set_relation_comp=bool(row.get("allow_set_relation_comp", False)),
        rounded_decimal_places=row.get("precision"),
    )


def our_verdict(row: dict[str, Any]) -> Verdict:
    config = row_config(row)
    try:
        if row["mode"] == "answer":
            return int(grade_answer(row["pred"], row["gold"], config=config).correct)
        result = verify(row["pred"], row["gold"], config=config)
        if result.rule == "no_answer" and is_bare_math(row["pred"]):
            boxed = "\\boxed{" + strip_math_delimiters(row["pred"]) + "}"
            result = verify(boxed, row["gold"], config=config)
    except InvalidReferenceError:
        return "invalid_reference"
    return int(result.correct)


def is_bare_math(pred: str) -> bool:
    """Whether ``pred`` is only math: wrapped in delimiters, or with no words at all."""
    without_commands = re.sub(r"\\[a-zA-Z]+", "", pred)
    return strip_math_delimiters(pred) != pred.strip() or not re.search(
        "[A-Za-z]", without_commands
    )
