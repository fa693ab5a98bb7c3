"""``verifier check``: grade golden JSONL files; fail on any disagreement with their expectations.

The golden format (one item a line, with ``kind``, ``id``, ``note`` and ``expect``) is described
in golden.py. The items go through the service's own HTTP routes, batched per kind: with
``--url`` a running service, without it the same app built in this process (its lifespan run
here, so the worker pool and the sandbox start as they do under ``verifier serve``). One code
path for both.

Exit status: 0 every case agrees (or ``--update`` rewrote the files), 1 a disagreement, 2 the
check could not run (an unusable line, a file missing, the service unreachable or refusing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

from verifier_service.errors import InvalidInputError, VerifierError
from verifier_service.golden import (
    ENDPOINTS,
    KINDS,
    GoldenCase,
    GoldenFile,
    agrees,
    load_golden_file,
    observed,
    recorded_expectation,
    rewrite_expectations,
)
from verifier_service.settings import Settings

# A code batch holds programs that each run all their tests: keep it small so one slow batch
# does not hold the others back.
_BATCH = {"math": 256, "code": 16, "language": 256, "judge": 64}
_CONCURRENT_BATCHES = 4
_TIMEOUT_S = 600.0


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
        endpoint = ENDPOINTS[first.kind].path
        async with gate:
            started = time.perf_counter()
            reply = await client.post(endpoint, json=body)
            seconds = (time.perf_counter() - started) / len(batch)
        if reply.status_code != 200:
            raise VerifierError(f"POST {endpoint} answered {reply.status_code}: {reply.text[:500]}")
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
            why = " ".join((test.get("reason") or "").split())
            parts.append(f"test {number}: {test['verdict']} {why}".strip())
        if result.get("compile_output"):
            lines = str(result["compile_output"]).splitlines()
            errors = [line for line in lines if "error" in line.lower()] or lines
            parts.append(f"compiler: {' '.join(errors[0].split())}")
    elif kind == "language":
        if result.get("counts"):
            parts.append(f"words {json.dumps(result['counts'], sort_keys=True)}")
    elif result.get("decided_by"):
        parts.append(f"decided by {result['decided_by']} (verdict {result.get('verdict')})")
    reason = " ".join(str(result.get("reason") or "").split())
    if reason and not any(reason in part for part in parts):
        parts.append(reason if len(reason) <= 200 else reason[:199] + "…")
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
    if case.note:
        lines.append(f"  note      {case.note}")
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
    # The plain closing line CI systems read: cases as tests.
    lines.append(f"golden: {total - bad} passed, {bad} failed")
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


def update_file(golden: GoldenFile, outcomes: Sequence[CaseOutcome]) -> list[Flip]:
    """Rewrite the disagreeing lines' expectations to what the grader said; return the flips."""
    flips = [
        Flip(o.case, o.case.expect, recorded_expectation(o.case.kind, o.result))
        for o in outcomes
        if not o.agreed
    ]
    if not flips:
        return []
    text = rewrite_expectations(golden.text, {flip.case.line: flip.new for flip in flips})
    golden.path.write_bytes(text.encode("utf-8"))
    return flips


def render_flip(flip: Flip) -> str:
    return (
        f"UPDATED {flip.case.where} [{flip.case.kind}] {flip.case.id}: "
        f"{describe_expectation(flip.old)} → {describe_expectation(flip.new)}"
    )


# --- command line -----------------------------------------------------------------------------


def add_check_parser(subparsers: argparse._SubParsersAction) -> None:
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
