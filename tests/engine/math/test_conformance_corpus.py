"""The external conformance corpus (tests/conformance/cases.jsonl): grader test cases of eight
other projects, each row attributed to its repository and file.

Every row is graded as ``tests/conformance/grading.py`` says and must give the source's label,
except the rows that carry ``ours`` (this project's deliberate verdict) with ``why``; rows whose
label is itself wrong, or would pay a hack, are also marked ``disputed``. A listed row that
starts to agree with its source fails too, so the list stays honest.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

GRADING = Path(__file__).parents[2] / "conformance" / "grading.py"


def _load_grading() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_conformance_grading", GRADING)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


grading = _load_grading()
ROWS: list[dict[str, Any]] = grading.load_rows()


def test_corpus_is_attributed_and_broad() -> None:
    assert len(ROWS) >= 400
    repos = Counter(row["repo"] for row in ROWS)
    assert len(repos) >= 8
    assert all(row["file"] and row["case"] for row in ROWS)
    assert len({row["id"] for row in ROWS}) == len(ROWS)
    assert all(row["why"] for row in ROWS if "ours" in row or row.get("disputed"))


@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_conformance_row(row: dict[str, Any]) -> None:
    verdict = grading.our_verdict(row)
    if "ours" in row:
        assert verdict == row["ours"], f"listed disagreement changed: {row['why']}"
    else:
        assert verdict == row["expected"]
