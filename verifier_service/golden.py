"""Golden files: items with the outcome the grader must give them, read, compared and rewritten.

A golden line is an item exactly as the HTTP API takes it, plus fields of its own:

    kind     math, code, language or judge; inferred when absent (question → judge,
             language + tests → code, text + target → language, response + reference → math)
    id       a name for reports (default: "line N")
    note     free text shown with a disagreement (why the expectation is what it is)
    expect   math, judge  {"correct": true}           code  {"verdict": "AC"} (null: no program)
             language     {"score": [0.9, 1.0]} or {"score": null} (no words: neutral)
             any kind     {"error": "timeout"}         the item must fail with that error code

A math line may also carry the request's ``options``, a judge line the request's ``mode``.
A line is checked against the service's own request model, so it is valid here exactly when
the API takes it. ``verifier check`` (check.py) grades the lines and reports.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from verifier_service.errors import InvalidInputError
from verifier_service.schemas import (
    CodeRunRequest,
    JudgeRequest,
    LanguageRequest,
    MathVerifyRequest,
)

KINDS = ("math", "code", "language", "judge")
VERDICTS = ("AC", "WA", "TLE", "MLE", "OLE", "RE", "CE", "SE")
# "audit": what the online audit saw, on lines it wrote (docs/audit.md); kept, not checked.
_META_FIELDS = ("kind", "id", "note", "expect", "audit")
# --update writes a language score as a band this wide each side, so a tiny change of the
# language model does not flip the case.
_SCORE_BAND = 0.05


@dataclass(frozen=True)
class Endpoint:
    """The route a kind of item goes to, and what its lines may carry."""

    path: str
    request_model: type[BaseModel]
    request_fields: tuple[str, ...]  # request-level fields a line may carry
    outcome_key: str  # the field of a result that the expectation speaks of


ENDPOINTS = {
    "math": Endpoint("/v1/math/verify", MathVerifyRequest, ("options",), "correct"),
    "code": Endpoint("/v1/code/run", CodeRunRequest, (), "verdict"),
    "language": Endpoint("/v1/language", LanguageRequest, (), "score"),
    "judge": Endpoint("/v1/judge", JudgeRequest, ("mode",), "correct"),
}


@dataclass(frozen=True)
class GoldenCase:
    """One line of a golden file, checked and split into the item and what it expects."""

    path: Path
    line: int
    kind: str
    id: str
    item: Mapping[str, Any]
    request: Mapping[str, Any]  # request-level fields (math options, judge mode)
    expect: Mapping[str, Any] | None  # None only when --update is to record it
    note: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class GoldenFile:
    path: Path
    text: str
    cases: tuple[GoldenCase, ...]


# --- reading --------------------------------------------------------------------------------------


def infer_kind(record: Mapping[str, Any]) -> str:
    """The endpoint a line's fields belong to; raises InvalidInputError when none fits."""
    if "question" in record:
        return "judge"
    if "language" in record and "tests" in record:
        return "code"
    if "text" in record and "target" in record:
        return "language"
    if "response" in record and "reference" in record:
        return "math"
    raise InvalidInputError(
        "cannot tell the kind from the fields: give 'kind' (math, code, language or judge)"
    )


def parse_expectation(kind: str, raw: object) -> dict[str, Any]:
    """Check an ``expect`` object against its kind; return it in canonical form."""
    key = ENDPOINTS[kind].outcome_key
    if not isinstance(raw, dict):
        raise InvalidInputError(f"'expect' must be an object such as {{{key!r}: ...}}")
    if "error" in raw:
        if set(raw) != {"error"} or not isinstance(raw["error"], str) or not raw["error"]:
            raise InvalidInputError(
                "'expect' with 'error' must be exactly {\"error\": \"CODE\"}: an item that "
                "fails has no outcome"
            )
        return {"error": raw["error"]}
    if set(raw) != {key}:
        raise InvalidInputError(
            f"a {kind} line expects exactly {{{key!r}: ...}} or {{'error': CODE}}, "
            f"not keys {sorted(raw)}"
        )
    value = raw[key]
    if kind in ("math", "judge") and not isinstance(value, bool):
        raise InvalidInputError(f"'expect.correct' must be true or false, not {value!r}")
    if kind == "code" and value is not None and value not in VERDICTS:
        raise InvalidInputError(f"'expect.verdict' must be one of {', '.join(VERDICTS)}")
    if kind == "language":
        return {"score": _score_band(value)}
    return {key: value}


def _score_band(value: object) -> list[float] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not 0 <= value[0] <= value[1] <= 1
    ):
        raise InvalidInputError(
            "'expect.score' must be [lo, hi] with 0 <= lo <= hi <= 1, or null for no words"
        )
    return [float(value[0]), float(value[1])]


def parse_golden_line(
    text: str, *, path: Path, line: int, require_expect: bool = True
) -> GoldenCase:
    """One line → a GoldenCase; raises InvalidInputError naming the file and line."""
    try:
        return _parse_line(text, path=path, line=line, require_expect=require_expect)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}:{line}: {exc.message}") from exc


def _parse_line(text: str, *, path: Path, line: int, require_expect: bool) -> GoldenCase:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise InvalidInputError("not a JSON object")
    kind = record.get("kind") or infer_kind(record)
    if kind not in KINDS:
        raise InvalidInputError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    case_id = record.get("id", f"line {line}")
    if not isinstance(case_id, str | int) or isinstance(case_id, bool):
        raise InvalidInputError("'id' must be a string or an integer")
    endpoint = ENDPOINTS[kind]
    request = {k: record[k] for k in endpoint.request_fields if k in record}
    item = {k: v for k, v in record.items() if k not in _META_FIELDS and k not in request}
    try:  # the service's own request model: a line passes here exactly when the API takes it
        endpoint.request_model.model_validate({"items": [item], **request})
    except ValidationError as exc:
        raise InvalidInputError(f"not a valid {kind} item: {_validation_message(exc)}") from exc
    note = record.get("note", "")
    if not isinstance(note, str):
        raise InvalidInputError("'note' must be a string")
    if "expect" in record:
        expect: dict[str, Any] | None = parse_expectation(kind, record["expect"])
    elif require_expect:
        raise InvalidInputError("no 'expect': add one, or run with --update to record it")
    else:
        expect = None
    return GoldenCase(path, line, kind, str(case_id), item, request, expect, note)


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"][2:] if p != "items") or ".".join(
            str(p) for p in error["loc"]
        )
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def load_golden_file(path: Path, *, require_expect: bool = True) -> GoldenFile:
    """Read and check every line; raises InvalidInputError (or OSError) for an unusable file."""
    # Bytes in, bytes out: CRLF files stay CRLF under --update.
    text = path.read_bytes().decode("utf-8")
    cases = [
        parse_golden_line(line.rstrip("\r"), path=path, line=number, require_expect=require_expect)
        for number, line in enumerate(_split_lines(text), start=1)
        if line.strip()
    ]
    if not cases:
        raise InvalidInputError(f"{path}: no cases (the file is empty)")
    seen: dict[str, int] = {}
    for case in cases:
        if case.id in seen:
            raise InvalidInputError(
                f"{case.where}: id {case.id!r} is already used on line {seen[case.id]}"
            )
        seen[case.id] = case.line
    return GoldenFile(path, text, tuple(cases))


# --- comparing --------------------------------------------------------------------------------


def observed(kind: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """What the grader said, in the terms of an expectation (a language score is a number)."""
    error = result.get("error")
    if error:
        return {"error": error["code"]}
    key = ENDPOINTS[kind].outcome_key
    return {key: result.get(key)}


def agrees(kind: str, expect: Mapping[str, Any] | None, result: Mapping[str, Any]) -> bool:
    if expect is None:
        return False
    got = observed(kind, result)
    if "error" in expect or "error" in got:
        return expect.get("error") == got.get("error")
    if kind == "language":
        band, score = expect["score"], got["score"]
        if band is None or score is None:
            return band is None and score is None
        return bool(band[0] <= score <= band[1])
    return bool(expect == got)


def recorded_expectation(kind: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """The expectation --update writes for what the grader now says."""
    got = observed(kind, result)
    if kind == "language" and got.get("score") is not None:
        score = float(got["score"])
        low = math.floor(max(0.0, score - _SCORE_BAND) * 100) / 100
        high = math.ceil(min(1.0, score + _SCORE_BAND) * 100) / 100
        return {"score": [low, high]}
    return got


# --- rewriting ------------------------------------------------------------------------------------


def replace_expectation(line: str, expect: Mapping[str, Any]) -> str:
    """The line with its ``expect`` value replaced (or added), every other byte kept."""
    spans = _top_level_spans(line)
    new = json.dumps(expect, ensure_ascii=False)
    if "expect" in spans:
        start, end = spans["expect"]
        return line[:start] + new + line[end:]
    close = line.rstrip().rfind("}")
    separator = ", " if spans else ""
    return line[:close].rstrip() + f'{separator}"expect": {new}' + line[close:]


def _top_level_spans(line: str) -> dict[str, tuple[int, int]]:
    """Where each top-level key's value starts and ends in a one-object JSON line."""
    decoder = json.JSONDecoder()
    blank = re.compile(r"[ \t\r\n]*")

    def skip(at: int) -> int:
        match = blank.match(line, at)
        return match.end() if match else at

    spans: dict[str, tuple[int, int]] = {}
    at = skip(line.index("{") + 1)
    while line[at] != "}":
        key, at = decoder.raw_decode(line, at)
        at = skip(skip(at) + 1)  # past the colon
        _, end = decoder.raw_decode(line, at)
        spans[key] = (at, end)
        at = skip(end)
        if line[at] == ",":
            at = skip(at + 1)
    return spans


def rewrite_expectations(text: str, expectations: Mapping[int, Mapping[str, Any]]) -> str:
    """The file's text with the given lines' (1-based) expectations replaced, the rest kept."""
    lines = _split_lines(text)
    for number, expect in expectations.items():
        line = lines[number - 1]
        body = line.rstrip("\r")
        lines[number - 1] = replace_expectation(body, expect) + line[len(body) :]
    return "\n".join(lines)


def _split_lines(text: str) -> list[str]:
    # Only "\n" ends a JSONL line; str.splitlines would also split at U+2028 inside a string.
    return text.split("\n")
