"""Convert the Math-Verify conformance cases into a golden file for ``verifier check``.

    .venv/bin/python tests/golden/convert_conformance.py   # rewrites tests/golden/conformance.jsonl

Reads tests/engine/math/data/math_verify_cases.jsonl and runs each case the way
tests/engine/math/test_conformance.py does: the gold is the reference, the pred the response,
and a prediction that is nothing but math and yields no committed answer is sent boxed. The
expectation is the peer's, except for the deliberate disagreements in that module's
DISAGREEMENTS table, where it is this project's verdict and the line's ``note`` says why.

Left out, because /v1/math/verify has no option for them: rows that need
``allow_set_relation_comp: true``, and rows whose ``precision`` decides the case (a decimal
prediction: the option only concerns predicted decimals). Extraction-only rows (``config``) are
left out by the test module's loader already.

Run it again (and commit the output) whenever the data, the table or the extractor changes;
tests/service/test_check.py fails while the committed file is out of date.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "tests" / "engine" / "math" / "test_conformance.py"
OUTPUT = Path(__file__).resolve().parent / "conformance.jsonl"


def load_conformance_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_conformance", CONFORMANCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def golden_lines() -> list[str]:
    """The golden file's lines, in the order of the peer's data."""
    from verifier_service.engine.math.extract import strip_math_delimiters

    conformance = load_conformance_module()
    lines = []
    for case in conformance.load_cases():
        if case.config.allow_set_relation_comp:
            continue
        if case.config.rounded_decimal_places is not None and "." in case.pred:
            continue
        response = case.pred
        # The test module's rule: bare math with no committed answer is graded boxed.
        if _finds_no_answer(case.pred, case.gold) and conformance._is_bare_math(case.pred):
            response = "\\boxed{" + strip_math_delimiters(case.pred) + "}"
        row: dict[str, Any] = {
            "id": f"line{case.line}-{case.source.split('::')[-1]}",
            "response": response,
            "reference": case.gold,
        }
        verdict = case.expected
        if case.line in conformance.DISAGREEMENTS:
            peer, verdict, why = conformance.DISAGREEMENTS[case.line]
            row["note"] = f"deliberate disagreement (Math-Verify expects {peer}): {why}"
        if verdict == "invalid_reference":
            row["expect"] = {"error": "invalid_reference"}
        else:
            row["expect"] = {"correct": bool(verdict)}
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    return lines


def _finds_no_answer(response: str, reference: str) -> bool:
    from verifier_service.engine.math import verify
    from verifier_service.errors import InvalidReferenceError

    try:
        return verify(response, reference).rule == "no_answer"
    except InvalidReferenceError:  # graded as given: the reference fails either way
        return False


def main() -> int:
    lines = golden_lines()
    OUTPUT.write_text("".join(lines), encoding="utf-8")
    print(f"wrote {len(lines)} cases to {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
