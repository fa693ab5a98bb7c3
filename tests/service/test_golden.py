"""Golden files: reading lines, kinds and expectations, comparing results, rewriting lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from verifier_service.errors import InvalidInputError
from verifier_service.golden import (
    agrees,
    infer_kind,
    load_golden_file,
    parse_expectation,
    parse_golden_line,
    recorded_expectation,
    replace_expectation,
    rewrite_expectations,
)

HERE = Path("golden.jsonl")
MATH = {"response": "\\boxed{2}", "reference": "2"}
CODE = {"language": "python", "code": "print(1)", "tests": [{"stdin": "", "expected_stdout": "1"}]}
LANGUAGE = {"text": "Some words here.", "target": "en"}
JUDGE = {"question": "1+1?", "reference": "2", "response": "2"}


def _line(**fields: Any) -> str:
    return json.dumps(fields)


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        pytest.param(MATH, "math", id="response-reference"),
        pytest.param(CODE, "code", id="language-tests"),
        pytest.param({**CODE, "response": "x"}, "code", id="code-with-response"),
        pytest.param(LANGUAGE, "language", id="text-target"),
        pytest.param(JUDGE, "judge", id="question-wins-over-math"),
    ],
)
def test_golden_infers_kind_from_fields(record: dict[str, Any], kind: str) -> None:
    assert infer_kind(record) == kind


def test_golden_infer_kind_without_known_fields_raises() -> None:
    with pytest.raises(InvalidInputError, match="give 'kind'"):
        infer_kind({"prompt": "x"})


@pytest.mark.parametrize(
    ("kind", "raw", "canonical"),
    [
        pytest.param("math", {"correct": True}, {"correct": True}, id="math-true"),
        pytest.param("judge", {"correct": False}, {"correct": False}, id="judge-false"),
        pytest.param("code", {"verdict": "TLE"}, {"verdict": "TLE"}, id="code-verdict"),
        pytest.param("code", {"verdict": None}, {"verdict": None}, id="code-no-program"),
        pytest.param("language", {"score": [0, 1]}, {"score": [0.0, 1.0]}, id="language-band"),
        pytest.param("language", {"score": None}, {"score": None}, id="language-neutral"),
        pytest.param("math", {"error": "timeout"}, {"error": "timeout"}, id="error"),
    ],
)
def test_golden_parse_expectation_accepts(
    kind: str, raw: dict[str, Any], canonical: dict[str, Any]
) -> None:
    assert parse_expectation(kind, raw) == canonical


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        pytest.param("math", {"correct": 1}, "true or false", id="math-not-bool"),
        pytest.param("math", {"verdict": "AC"}, "expects exactly", id="wrong-key-for-kind"),
        pytest.param("code", {"verdict": "OK"}, "one of AC", id="unknown-verdict"),
        pytest.param("language", {"score": 0.9}, r"\[lo, hi\]", id="score-not-band"),
        pytest.param("language", {"score": [0.9, 0.1]}, r"lo <= hi", id="band-reversed"),
        pytest.param("language", {"score": [0, 2]}, r"<= 1", id="band-above-one"),
        pytest.param("math", {"error": "x", "correct": True}, "exactly", id="error-and-outcome"),
        pytest.param("math", ["correct"], "must be an object", id="not-object"),
    ],
)
def test_golden_parse_expectation_rejects(kind: str, raw: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_expectation(kind, raw)


def test_golden_line_splits_item_request_and_meta_fields() -> None:
    text = _line(
        id="q1",
        note="why",
        **MATH,
        options={"last_number_fallback": True},
        expect={"correct": True},
    )
    case = parse_golden_line(text, path=HERE, line=3)
    assert (case.kind, case.id, case.note, case.where) == ("math", "q1", "why", "golden.jsonl:3")
    assert case.item == MATH
    assert case.request == {"options": {"last_number_fallback": True}}
    assert case.expect == {"correct": True}


def test_golden_line_without_id_is_named_by_line_number() -> None:
    case = parse_golden_line(_line(**LANGUAGE, expect={"score": None}), path=HERE, line=7)
    assert case.id == "line 7"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{not json", "not JSON", id="not-json"),
        pytest.param("[1, 2]", "not a JSON object", id="not-object"),
        pytest.param(_line(kind="poem", **MATH, expect={}), "unknown kind", id="unknown-kind"),
        pytest.param(
            _line(**MATH, extra=1, expect={"correct": True}),
            "extra: Extra inputs are not permitted",
            id="field-the-api-refuses",
        ),
        pytest.param(
            _line(kind="code", **MATH, expect={"verdict": "AC"}),
            "not a valid code item",
            id="kind-does-not-fit-fields",
        ),
        pytest.param(_line(**MATH), "no 'expect'", id="no-expect"),
        pytest.param(_line(**MATH, id=True, expect={"correct": True}), "'id'", id="bool-id"),
    ],
)
def test_golden_line_unusable_raises_with_file_and_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as raised:
        parse_golden_line(text, path=HERE, line=12)
    assert raised.value.message.startswith("golden.jsonl:12: ")


def test_golden_line_without_expect_is_allowed_for_update() -> None:
    case = parse_golden_line(_line(**MATH), path=HERE, line=1, require_expect=False)
    assert case.expect is None


def test_golden_file_skips_blank_lines_and_keeps_numbers(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text(
        "\n"
        + _line(**MATH, expect={"correct": True})
        + "\n\n"
        + _line(**JUDGE, expect={"correct": True})
        + "\n"
    )
    golden = load_golden_file(path)
    assert [(c.line, c.kind) for c in golden.cases] == [(2, "math"), (4, "judge")]


def test_golden_file_duplicate_id_raises(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text("\n".join(_line(id="a", **MATH, expect={"correct": True}) for _ in range(2)))
    with pytest.raises(InvalidInputError, match="id 'a' is already used on line 1"):
        load_golden_file(path)


def test_golden_file_empty_raises(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text("\n\n")
    with pytest.raises(InvalidInputError, match="no cases"):
        load_golden_file(path)


@pytest.mark.parametrize(
    ("kind", "expect", "result", "agreed"),
    [
        pytest.param("math", {"correct": True}, {"correct": True}, True, id="math-same"),
        pytest.param("math", {"correct": True}, {"correct": False}, False, id="math-differs"),
        pytest.param("code", {"verdict": "AC"}, {"verdict": "WA"}, False, id="code-differs"),
        pytest.param("code", {"verdict": None}, {"verdict": None}, True, id="code-no-program"),
        pytest.param("language", {"score": [0.5, 0.6]}, {"score": 0.5}, True, id="band-low-end"),
        pytest.param("language", {"score": [0.5, 0.6]}, {"score": 0.61}, False, id="band-above"),
        pytest.param("language", {"score": None}, {"score": None}, True, id="neutral"),
        pytest.param("language", {"score": None}, {"score": 0.0}, False, id="zero-not-neutral"),
        pytest.param("language", {"score": [0, 1]}, {"score": None}, False, id="neutral-not-band"),
        pytest.param(
            "math",
            {"error": "timeout"},
            {"correct": None, "error": {"code": "timeout", "message": "m"}},
            True,
            id="expected-error",
        ),
        pytest.param(
            "math",
            {"error": "timeout"},
            {"correct": None, "error": {"code": "invalid_input", "message": "m"}},
            False,
            id="other-error",
        ),
        pytest.param(
            "math",
            {"correct": False},
            {"correct": None, "error": {"code": "timeout", "message": "m"}},
            False,
            id="error-is-never-false",
        ),
        pytest.param("math", None, {"correct": True}, False, id="nothing-expected"),
    ],
)
def test_golden_agrees(
    kind: str, expect: dict[str, Any] | None, result: dict[str, Any], agreed: bool
) -> None:
    assert agrees(kind, expect, result) is agreed


@pytest.mark.parametrize(
    ("kind", "result", "recorded"),
    [
        pytest.param("math", {"correct": False}, {"correct": False}, id="math"),
        pytest.param("code", {"verdict": "RE"}, {"verdict": "RE"}, id="code"),
        pytest.param("language", {"score": 0.473}, {"score": [0.42, 0.53]}, id="band-around"),
        pytest.param("language", {"score": 1.0}, {"score": [0.95, 1.0]}, id="band-clipped"),
        pytest.param("language", {"score": None}, {"score": None}, id="neutral"),
        pytest.param(
            "judge",
            {"error": {"code": "judge_error", "message": "m"}},
            {"error": "judge_error"},
            id="error",
        ),
    ],
)
def test_golden_recorded_expectation(
    kind: str, result: dict[str, Any], recorded: dict[str, Any]
) -> None:
    assert recorded_expectation(kind, result) == recorded
    assert agrees(kind, recorded, result)


@pytest.mark.parametrize(
    ("line", "rewritten"),
    [
        pytest.param(
            '{"a": "x", "expect": {"correct": true}, "z": [1,  2]}',
            '{"a": "x", "expect": {"correct": false}, "z": [1,  2]}',
            id="middle-spacing-kept",
        ),
        pytest.param(
            '{ "expect" :{"correct":true} }',
            '{ "expect" :{"correct": false} }',
            id="odd-spacing",
        ),
        pytest.param(
            '{"a": "\\"expect\\": {\\"correct\\": true}"}',
            '{"a": "\\"expect\\": {\\"correct\\": true}", "expect": {"correct": false}}',
            id="lookalike-inside-a-string-added",
        ),
        pytest.param('{"a": 1}  ', '{"a": 1, "expect": {"correct": false}}  ', id="added"),
        pytest.param("{}", '{"expect": {"correct": false}}', id="added-to-empty"),
    ],
)
def test_golden_replace_expectation_keeps_other_bytes(line: str, rewritten: str) -> None:
    assert replace_expectation(line, {"correct": False}) == rewritten
    assert json.loads(rewritten)["expect"] == {"correct": False}


def test_golden_rewrite_expectations_keeps_line_endings_and_unicode() -> None:
    text = (
        '{"t": "é\u2028x", "expect": {"score": null}}\r\n{"t": "b", "expect": {"score": null}}\r\n'
    )
    rewritten = rewrite_expectations(text, {1: {"score": [0.0, 0.05]}})
    assert rewritten == text.replace('{"score": null}', '{"score": [0.0, 0.05]}', 1)
