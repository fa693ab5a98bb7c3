"""``verifier check``: grade golden JSONL files and fail on any disagreement with their expectations.

A golden line is an item exactly as the HTTP API takes it, plus three fields of its own:

    kind     math, code, language or judge; inferred when absent (question → judge,
             language + tests → code, text + target → language, response + reference → math)
    id       a name for reports (default: "line N")
    expect   math, judge  {"correct": true}           code  {"verdict": "AC"} (null: no program)
             language     {"score": [0.9, 1.0]} or {"score": null} (no words: neutral)
             any kind     {"error": "timeout"}         the item must fail with that error code

A math line may also carry the request's ``options``, a judge line the request's ``mode``.

The items go through the service's own HTTP routes, batched per kind: with ``--url`` a running
service, without it the same app built in this process (its lifespan run here, so the worker
pool and the sandbox start as they do under ``verifier serve``). One code path for both.

Exit status: 0 every case agrees (or ``--update`` rewrote the file), 1 a disagreement, 2 the
check could not run (an unusable line, a file missing, the service unreachable or refusing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from verifier_service.errors import InvalidInputError, VerifierError
from verifier_service.schemas import (
    CodeRunRequest,
    JudgeRequest,
    LanguageRequest,
    MathVerifyRequest,
)
from verifier_service.settings import Settings

KINDS = ("math", "code", "language", "judge")
VERDICTS = ("AC", "WA", "TLE", "MLE", "OLE", "RE", "CE", "SE")
_META_FIELDS = ("kind", "id", "expect")
# A code batch holds programs that each run all their tests: keep it small so one slow batch
# does not hold the others back.
_BATCH = {"math": 256, "code": 16, "language": 256, "judge": 64}
_CONCURRENT_BATCHES = 4
_TIMEOUT_S = 600.0
# --update writes a language score as a band this wide each side, so a tiny change of the
# language model does not flip the case.
_SCORE_BAND = 0.05


@dataclass(frozen=True)
class _Endpoint:
    path: str
    request_model: type[BaseModel]
    request_fields: tuple[str, ...]  # request-level fields a line may carry
    outcome_key: str  # the field of a result that the expectation speaks of


_ENDPOINTS = {
    "math": _Endpoint("/v1/math/verify", MathVerifyRequest, ("options",), "correct"),
    "code": _Endpoint("/v1/code/run", CodeRunRequest, (), "verdict"),
    "language": _Endpoint("/v1/language", LanguageRequest, (), "score"),
    "judge": _Endpoint("/v1/judge", JudgeRequest, ("mode",), "correct"),
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

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class GoldenFile:
    path: Path
    text: str
    cases: tuple[GoldenCase, ...]


@dataclass(frozen=True)
class CaseOutcome:
    """What the grader said about one case and whether it agrees with the expectation."""

    case: GoldenCase
    result: Mapping[str, Any]
    agreed: bool
    seconds: float  # the case's share of its batch's wall time


@dataclass(frozen=True)
class CheckReport:
    outcomes: tuple[CaseOutcome, ...]
    seconds: float
    grader_versions: tuple[str, ...]
    target: str  # the service's URL, or "in process"

    @property
    def disagreements(self) -> tuple[CaseOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.agreed)


@dataclass(frozen=True)
class Flip:
    case: GoldenCase
    old: Mapping[str, Any] | None
    new: Mapping[str, Any]


# --- reading golden files ---------------------------------------------------------------------


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
    key = _ENDPOINTS[kind].outcome_key
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
    endpoint = _ENDPOINTS[kind]
    request = {k: record[k] for k in endpoint.request_fields if k in record}
    item = {k: v for k, v in record.items() if k not in _META_FIELDS and k not in request}
    try:  # the service's own request model: a line passes here exactly when the API takes it
        endpoint.request_model.model_validate({"items": [item], **request})
    except ValidationError as exc:
        raise InvalidInputError(f"not a valid {kind} item: {_validation_message(exc)}") from exc
    if "expect" in record:
        expect: dict[str, Any] | None = parse_expectation(kind, record["expect"])
    elif require_expect:
        raise InvalidInputError("no 'expect': add one, or run with --update to record it")
    else:
        expect = None
    return GoldenCase(path, line, kind, str(case_id), item, request, expect)


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
    key = _ENDPOINTS[kind].outcome_key
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


# --- grading through the service's routes -----------------------------------------------------


@asynccontextmanager
async def open_client(
    url: str | None, *, api_key: str | None = None, settings: Settings | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the service at ``url``, or of the same app started in this process."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    if url:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=_TIMEOUT_S) as client:
            yield client
        return
    from verifier_service.app import create_app

    # Nobody else can reach an app in this process: keys and rate limits would only get in
    # the way of the check.
    base = settings or Settings()
    app = create_app(base.model_copy(update={"api_keys": "", "api_keys_file": None}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://in-process", timeout=_TIMEOUT_S
        ) as client,
    ):
        yield client


async def grade_cases(
    client: httpx.AsyncClient, cases: Sequence[GoldenCase]
) -> tuple[list[CaseOutcome], set[str]]:
    """Post the cases in batches per kind (and request options); outcomes in input order."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index, case in enumerate(cases):
        key = (case.kind, json.dumps(case.request, sort_keys=True))
        groups.setdefault(key, []).append(index)
    batches = [
        indices[start : start + _BATCH[kind]]
        for (kind, _), indices in groups.items()
        for start in range(0, len(indices), _BATCH[kind])
    ]
    outcomes: list[CaseOutcome | None] = [None] * len(cases)
    versions: set[str] = set()
    gate = asyncio.Semaphore(_CONCURRENT_BATCHES)

    async def post(batch: list[int]) -> None:
        first = cases[batch[0]]
        body = {"items": [cases[i].item for i in batch], **first.request}
        endpoint = _ENDPOINTS[first.kind].path
        async with gate:
            started = time.perf_counter()
            reply = await client.post(endpoint, json=body)
            seconds = (time.perf_counter() - started) / len(batch)
        if reply.status_code != 200:
            raise VerifierError(
                f"POST {endpoint} answered {reply.status_code}: {reply.text[:500]}"
            )
        payload = reply.json()
        if payload.get("grader_version"):
            versions.add(str(payload["grader_version"]))
        for index, result in zip(batch, payload["results"], strict=True):
            case = cases[index]
            agreed = agrees(case.kind, case.expect, result)
            outcomes[index] = CaseOutcome(case, result, agreed, seconds)

    await asyncio.gather(*(post(batch) for batch in batches))
    return [o for o in outcomes if o is not None], versions


async def check_cases(
    cases: Sequence[GoldenCase],
    *,
    url: str | None,
    api_key: str | None = None,
    settings: Settings | None = None,
) -> CheckReport:
    started = time.perf_counter()
    async with open_client(url, api_key=api_key, settings=settings) as client:
        outcomes, versions = await grade_cases(client, cases)
    return CheckReport(
        tuple(outcomes), time.perf_counter() - started, tuple(sorted(versions)), url or "in process"
    )


# --- reports ----------------------------------------------------------------------------------


def _clip(value: object, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    shown = json.dumps(text, ensure_ascii=False)
    return shown if len(shown) <= limit else shown[: limit - 2] + '…"'


def summarize_input(case: GoldenCase) -> str:
    item = case.item
    if case.kind == "code":
        source = "code" if item.get("code") is not None else "response"
        tests = item.get("tests", [])
        return (
            f"language={item.get('language')} {source}={_clip(item.get(source), 60)} "
            f"tests={len(tests)}"
        )
    fields = {
        "math": ("response", "reference"),
        "language": ("text", "target"),
        "judge": ("question", "reference", "response"),
    }[case.kind]
    parts = [f"{name}={_clip(item.get(name, ''), 60)}" for name in fields]
    parts += [f"{name}={json.dumps(value)}" for name, value in case.request.items()]
    return " ".join(parts)


def describe_expectation(expect: Mapping[str, Any] | None) -> str:
    if expect is None:
        return "(none recorded)"
    if "error" in expect:
        return f"error={expect['error']}"
    if "score" in expect:
        band = expect["score"]
        return "score=null (no words)" if band is None else f"score in [{band[0]}, {band[1]}]"
    ((key, value),) = expect.items()
    return f"{key}={json.dumps(value)}"


def describe_got(kind: str, result: Mapping[str, Any]) -> str:
    got = observed(kind, result)
    if "error" in got:
        return f"error={got['error']}"
    ((key, value),) = got.items()
    return f"{key}={json.dumps(value)}"


def describe_decision(kind: str, result: Mapping[str, Any]) -> str:
    """The rule or reason that decided, in one line, from whatever the result carries."""
    parts: list[str] = []
    if kind == "math":
        parts.append(f"rule {result.get('rule')}")
        if result.get("extracted") is not None:
            parts.append(f"extracted {_clip(result['extracted'], 60)}")
    elif kind == "code":
        failing = [
            (n, t) for n, t in enumerate(result.get("tests") or [], 1) if t["verdict"] != "AC"
        ]
        if result.get("passed") is not None:
            parts.append(f"passed {result['passed']}/{result.get('total')}")
        if failing:
            number, test = failing[0]
            parts.append(f"test {number}: {test['verdict']} {test.get('reason') or ''}".strip())
        if result.get("compile_output"):
            parts.append(f"compiler {_clip(result['compile_output'], 80)}")
    elif kind == "language":
        if result.get("counts"):
            parts.append(f"words {json.dumps(result['counts'], sort_keys=True)}")
    elif result.get("decided_by"):
        parts.append(f"decided by {result['decided_by']} (verdict {result.get('verdict')})")
    if result.get("reason"):
        parts.append(str(result["reason"]))
    return "; ".join(parts) or "(no reason given)"


def render_disagreement(outcome: CaseOutcome) -> str:
    case, result = outcome.case, outcome.result
    lines = [
        f"DISAGREE {case.where} [{case.kind}] {case.id}",
        f"  input     {summarize_input(case)}",
        f"  expected  {describe_expectation(case.expect)}",
        f"  got       {describe_got(case.kind, result)}",
        f"  decided   {describe_decision(case.kind, result)}",
    ]
    error = result.get("error")
    if error:
        lines.append(f"  error     {error['code']}: {error['message']}")
    return "\n".join(lines)


def render_summary(report: CheckReport) -> str:
    versions = ", ".join(report.grader_versions) or "unknown"
    lines = [f"verifier check: {report.target}, grader {versions}"]
    by_kind = Counter(o.case.kind for o in report.outcomes)
    failed = Counter(o.case.kind for o in report.disagreements)
    for kind in KINDS:
        if by_kind[kind]:
            agreed = by_kind[kind] - failed[kind]
            lines.append(
                f"  {kind:<9}{by_kind[kind]:>6} cases {agreed:>6} agreed {failed[kind]:>4} "
                "disagreed"
            )
    total, bad = len(report.outcomes), len(report.disagreements)
    lines.append(
        f"  {'total':<9}{total:>6} cases {total - bad:>6} agreed {bad:>4} disagreed "
        f"in {report.seconds:.2f} s"
    )
    return "\n".join(lines)


# XML 1.0 cannot hold most control characters, which a program's output may contain.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit_xml(report: CheckReport) -> str:
    """JUnit XML: a testsuite per golden file, a testcase per line, the diff as the failure."""
    root = ET.Element("testsuites", name="verifier check")
    files: dict[Path, list[CaseOutcome]] = {}
    for outcome in report.outcomes:
        files.setdefault(outcome.case.path, []).append(outcome)
    for path, outcomes in files.items():
        failures = sum(not o.agreed for o in outcomes)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=str(path),
            tests=str(len(outcomes)),
            failures=str(failures),
            errors="0",
            time=f"{sum(o.seconds for o in outcomes):.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        for version in report.grader_versions:
            ET.SubElement(properties, "property", name="grader_version", value=version)
        for outcome in outcomes:
            case = outcome.case
            testcase = ET.SubElement(
                suite,
                "testcase",
                classname=f"{path.stem}.{case.kind}",
                name=_xml_text(case.id),
                file=str(path),
                line=str(case.line),
                time=f"{outcome.seconds:.3f}",
            )
            if not outcome.agreed:
                failure = ET.SubElement(
                    testcase,
                    "failure",
                    message=_xml_text(
                        f"expected {describe_expectation(case.expect)}, "
                        f"got {describe_got(case.kind, outcome.result)}"
                    ),
                    type="disagreement",
                )
                failure.text = _xml_text(render_disagreement(outcome))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# --- --update ---------------------------------------------------------------------------------


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


def update_file(golden: GoldenFile, outcomes: Sequence[CaseOutcome]) -> list[Flip]:
    """Rewrite the disagreeing lines' expectations to what the grader said; return the flips."""
    flips = [
        Flip(o.case, o.case.expect, recorded_expectation(o.case.kind, o.result))
        for o in outcomes
        if not o.agreed
    ]
    if not flips:
        return []
    lines = _split_lines(golden.text)
    for flip in flips:
        text = lines[flip.case.line - 1]
        body = text.rstrip("\r")
        lines[flip.case.line - 1] = replace_expectation(body, flip.new) + text[len(body) :]
    golden.path.write_bytes("\n".join(lines).encode("utf-8"))
    return flips


def _split_lines(text: str) -> list[str]:
    # Only "\n" ends a JSONL line; str.splitlines would also split at U+2028 inside a string.
    return text.split("\n")


def render_flip(flip: Flip) -> str:
    return (
        f"UPDATED {flip.case.where} [{flip.case.kind}] {flip.case.id}: "
        f"{describe_expectation(flip.old)} → {describe_expectation(flip.new)}"
    )


# --- command line -----------------------------------------------------------------------------


def add_check_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``check`` to the ``verifier`` command's subcommands."""
    parser = subparsers.add_parser(
        "check",
        help="grade golden JSONL files and fail on any disagreement (for CI)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(parser)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("golden", type=Path, nargs="+", help="golden JSONL file(s)")
    parser.add_argument("--url", help="check a running service instead of one in this process")
    parser.add_argument("--api-key", help="API key for --url (or VERIFIER_API_KEY)")
    parser.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    parser.add_argument(
        "--update",
        action="store_true",
        help="rewrite the expectations that disagree to what the grader says now (exit 0)",
    )


def run_check(args: argparse.Namespace) -> int:
    """Run ``verifier check``; returns the exit status."""
    try:
        files = [load_golden_file(p, require_expect=not args.update) for p in args.golden]
    except (OSError, UnicodeDecodeError, InvalidInputError) as exc:
        print(f"verifier check: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    cases = [case for golden in files for case in golden.cases]
    api_key = args.api_key or os.environ.get("VERIFIER_API_KEY")
    try:
        report = asyncio.run(check_cases(cases, url=args.url, api_key=api_key))
    except (httpx.HTTPError, VerifierError) as exc:
        where = args.url or "the in-process service"
        print(f"verifier check: {where} failed: {exc}", file=sys.stderr)
        return 2
    if args.junit:
        args.junit.parent.mkdir(parents=True, exist_ok=True)
        args.junit.write_text(junit_xml(report), encoding="utf-8")
    if args.update:
        for golden in files:
            mine = [o for o in report.outcomes if o.case.path == golden.path]
            for flip in update_file(golden, mine):
                print(render_flip(flip))
        print(render_summary(report))
        return 0
    for outcome in report.disagreements:
        print(render_disagreement(outcome), end="\n\n")
    print(render_summary(report))
    return 1 if report.disagreements else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verifier check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(parser)
    return run_check(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
