"""``verifier audit``: the online audit's comparison, offline, on a file of stored rollouts.

Each line is a JSON object with a ``response`` and a ``reference`` (also read: ``completion``;
``label``, ``answer``, ``ground_truth``), optionally the reward it was given (``correct`` as a
boolean, else ``accuracy``, else ``reward``: above 0 means accepted), an ``id``, a ``prompt``
(or ``question``) and the ``grader_version`` that gave it. The rollouts are graded again by
this grader (in process, or through ``--url``), by Math-Verify in a killable worker, and with
``--judge`` by the service's judge on the ones the rules reject or the two rule graders
disagree on. A summary table counts every category of disagreement; ``-o`` writes the
disagreements as golden-format lines for review (``verifier check --update`` reads them).

With stored rewards the table also shows what a grading-rule change did to past data: flips
between the stored reward (graded by the line's ``grader_version``, or ``--grader-version``)
and this grader's verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from verifier_service.audit import direction, wilson_interval
from verifier_service.check import open_client
from verifier_service.engine.peer import math_verify_accepts
from verifier_service.errors import VerifierError
from verifier_service.workers import WorkerPool

_RESPONSE_KEYS = ("response", "completion")
_REFERENCE_KEYS = ("reference", "label", "answer", "ground_truth")
_PROMPT_KEYS = ("prompt", "question")
_BATCH = 256
_PEER_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Rollout:
    id: str
    prompt: str
    response: str
    reference: str
    stored: bool | None  # the stored reward accepted the answer; None: no reward stored
    grader_version: str | None


@dataclass
class Regraded:
    rollout: Rollout
    rules: bool | None = None  # None: this grader gave an error
    rule: str = ""
    error: str | None = None
    opinions: dict[str, bool] = field(default_factory=dict)


def _first(record: dict[str, Any], keys: Sequence[str]) -> Any:
    return next((record[k] for k in keys if record.get(k) is not None), None)


def _stored(record: dict[str, Any]) -> bool | None:
    if isinstance(record.get("correct"), bool):
        return bool(record["correct"])
    value = _first(record, ("accuracy", "reward"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value > 0
    return None


def read_rollouts(path: Path, default_version: str | None) -> tuple[list[Rollout], list[str]]:
    """The usable rollouts of a JSONL file, and a sentence per unusable line."""
    rollouts: list[Rollout] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        response = _first(record, _RESPONSE_KEYS) if isinstance(record, dict) else None
        reference = _first(record, _REFERENCE_KEYS) if isinstance(record, dict) else None
        if not isinstance(response, str) or not isinstance(reference, str | int | float):
            problems.append(f"line {number}: needs a 'response' and a 'reference'")
            continue
        rollouts.append(
            Rollout(
                id=str(record.get("id", f"line {number}")),
                prompt=str(_first(record, _PROMPT_KEYS) or ""),
                response=response,
                reference=str(reference),
                stored=_stored(record),
                grader_version=record.get("grader_version") or default_version,
            )
        )
    return rollouts, problems


async def regrade(
    client: httpx.AsyncClient,
    rollouts: Sequence[Rollout],
    *,
    judge: bool,
    progress: Callable[[str, int, int], None],
) -> tuple[list[Regraded], str]:
    """This grader's, Math-Verify's and (``judge``) the judge's verdicts on every rollout."""
    graded = [Regraded(r) for r in rollouts]
    version = ""
    for start in range(0, len(graded), _BATCH):
        batch = graded[start : start + _BATCH]
        items = [{"response": g.rollout.response, "reference": g.rollout.reference} for g in batch]
        payload = await _post(client, "/v1/math/verify", {"items": items})
        version = payload.get("grader_version", version)
        for entry, result in zip(batch, payload["results"], strict=True):
            if result.get("error"):
                entry.error = result["error"]["code"]
            else:
                entry.rules, entry.rule = bool(result["correct"]), str(result.get("rule"))
        progress("this grader", start + len(batch), len(graded))
    await _math_verify(graded, progress)
    if judge:
        await _judge(client, graded, progress)
    return graded, version


async def _math_verify(graded: list[Regraded], progress: Callable[[str, int, int], None]) -> None:
    pool = WorkerPool(workers=max(1, (os.cpu_count() or 1)), memory_mb=2048)
    done = 0

    async def one(entry: Regraded) -> None:
        nonlocal done
        with contextlib.suppress(VerifierError):  # no opinion: "no verdict" in the table
            entry.opinions["math_verify"] = await pool.call(
                math_verify_accepts,
                entry.rollout.response,
                entry.rollout.reference,
                timeout=_PEER_TIMEOUT_S,
            )
        done += 1
        progress("math-verify", done, len(graded))

    try:
        await asyncio.gather(*(one(entry) for entry in graded))
    finally:
        pool.close()


async def _judge(
    client: httpx.AsyncClient, graded: list[Regraded], progress: Callable[[str, int, int], None]
) -> None:
    asked = [
        g
        for g in graded
        if g.rules is not None and (not g.rules or g.opinions.get("math_verify") != g.rules)
    ]
    for start in range(0, len(asked), 64):
        batch = asked[start : start + 64]
        items = [
            {
                "question": g.rollout.prompt,
                "reference": g.rollout.reference,
                "response": g.rollout.response,
            }
            for g in batch
        ]
        payload = await _post(client, "/v1/judge", {"items": items, "mode": "judge"})
        for entry, result in zip(batch, payload["results"], strict=True):
            if result.get("error") is None and result.get("correct") is not None:
                entry.opinions["judge"] = bool(result["correct"])
        progress("judge", start + len(batch), len(asked))


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await client.post(path, json=body)
    if reply.status_code != 200:
        raise VerifierError(f"POST {path} answered {reply.status_code}: {reply.text[:300]}")
    payload: dict[str, Any] = reply.json()
    return payload


def categorise(graded: Sequence[Regraded], version: str) -> Counter[str]:
    """Every category each rollout falls in (a rollout counts in several)."""
    counts: Counter[str] = Counter()
    for entry in graded:
        if entry.rules is None:
            counts[f"this grader: error {entry.error}"] += 1
            continue
        stored = entry.rollout.stored
        if stored is not None:
            old = entry.rollout.grader_version or "stored"
            change = (
                "unchanged" if stored == entry.rules else f"{_word(stored)} → {_word(entry.rules)}"
            )
            counts[f"grader {old} → {version}: {change}"] += 1
        for second in ("math_verify", "judge"):
            if second in entry.opinions:
                outcome = direction(entry.rules, second, entry.opinions[second])
                counts[f"{second} agrees" if outcome == "agree" else outcome] += 1
            elif second == "math_verify":
                counts["math_verify: no verdict"] += 1
    return counts


def _word(accepted: bool) -> str:
    return "accepted" if accepted else "rejected"


def disagreements(graded: Sequence[Regraded], version: str) -> list[dict[str, Any]]:
    """Golden-format lines for the rollouts where a verdict differs from this grader's."""
    lines = []
    for entry in graded:
        others = dict(entry.opinions)
        if entry.rollout.stored is not None:
            others["stored"] = entry.rollout.stored
        if entry.rules is None or all(v == entry.rules for v in others.values()):
            continue
        said = {"rules": _word(entry.rules), "rule": entry.rule}
        said |= {k: _word(v) for k, v in others.items()}
        lines.append(
            {
                "kind": "math",
                "id": entry.rollout.id,
                "response": entry.rollout.response,
                "reference": entry.rollout.reference,
                "note": "; ".join(f"{k}={v}" for k, v in said.items()),
                "audit": {"grader_version": version, **said},
            }
        )
    return lines


def summary_table(graded: Sequence[Regraded], version: str) -> Table:
    counts = categorise(graded, version)
    table = Table(title=f"audit of {len(graded)} rollouts (this grader: {version})")
    table.add_column("category")
    table.add_column("rollouts", justify="right")
    table.add_column("share", justify="right")
    for category, count in sorted(counts.items()):
        table.add_row(category, str(count), f"{count / len(graded):.1%}")
    for second in ("judge", "math_verify"):
        rejected = [g for g in graded if g.rules is False and second in g.opinions]
        if rejected:
            rate = wilson_interval(sum(g.opinions[second] for g in rejected), len(rejected))
            table.add_row(
                f"est. false-negative rate (by {second})",
                f"{rate.hits}/{rate.n}",
                f"{rate.estimate:.1%} [{rate.low:.1%}, {rate.high:.1%}]",
            )
    return table


def add_audit_parser(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="re-grade stored rollouts and count disagreements",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument("input", type=Path, help="JSONL: response, reference, optional reward")
    audit.add_argument("--url", help="grade through a running service instead of in-process")
    audit.add_argument("--api-key", help="API key for --url (or VERIFIER_API_KEY)")
    audit.add_argument(
        "--judge",
        action="store_true",
        help="also ask the service's judge (VERIFIER_JUDGE_*) where the rules reject or differ",
    )
    audit.add_argument(
        "--grader-version", help="the grader version of stored rewards whose lines do not say"
    )
    audit.add_argument("-o", "--output", type=Path, help="write the disagreements here (JSONL)")


def run_audit(args: argparse.Namespace) -> int:
    console = Console(stderr=True, soft_wrap=True)
    try:
        rollouts, problems = read_rollouts(args.input, args.grader_version)
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]{args.input}: {exc}")
        return 2
    for problem in problems:
        console.print(f"[yellow]{args.input}: {problem}")
    if not rollouts:
        console.print(f"[red]{args.input}: no usable rollouts")
        return 2
    api_key = args.api_key or os.environ.get("VERIFIER_API_KEY")
    try:
        graded, version = asyncio.run(_audit(rollouts, args, api_key, console))
    except (httpx.HTTPError, VerifierError) as exc:
        console.print(f"[red]{args.url or 'the in-process service'} failed: {exc}")
        return 2
    if args.output:
        lines = disagreements(graded, version)
        args.output.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    Console().print(summary_table(graded, version))
    return 0


async def _audit(
    rollouts: list[Rollout], args: argparse.Namespace, api_key: str | None, console: Console
) -> tuple[list[Regraded], str]:
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        async with open_client(args.url, api_key=api_key) as client:
            return await regrade(client, rollouts, judge=args.judge, progress=progress)


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="verifier")
    add_audit_parser(parser.add_subparsers(dest="command", required=True))
    sys.exit(run_audit(parser.parse_args()))
