"""Side-by-side benchmark: this service's math grading over HTTP vs Hugging Face Math-Verify.

Both graders see the same corpus in the same run (see ``math_corpus.py``):

(a) a GRPO-shaped batch, P prompts x G samples of long R1-style responses labelled by
    construction. Math-Verify 0.9.0 grades it the way verl and TRL call it: one process, the
    main thread, one pair at a time, ``verify(parse("\\boxed{" + reference + "}"),
    parse(response))`` with its default timeouts (the reference is boxed as verl does, so that
    bare LaTeX like ``2\\sqrt{3}`` is parsed whole). The service is started as a subprocess
    (``verifier serve``) and gets the whole batch in one ``POST /v1/math/verify``, timed end to
    end. Run 1 of a fresh server is the headline (cold result cache); later runs are "warm". A
    second fresh server gets the batch as concurrent per-prompt requests.
(b) pathological inputs (power towers, huge factorials, 100 KB numbers, deep nesting), timed
    per item. The service must answer each within its grading timeout + 1 s. Math-Verify runs
    each in its own subprocess with a hard cap (and a 4 GiB address-space limit, to protect the
    machine) and is reported "hung" past the cap.

Usage:
    .venv/bin/python benchmarks/math_bench.py [--seed 0] [--prompts 32] [--samples 16]
        [--runs 3] [--timeout 5] [--skip-pathological] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from math_corpus import PathologicalItem, Sample, generate_batch, pathological_items
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
MATH_VERIFY_VERSION = "0.9.0"
_MV_MEMORY_BYTES = 4 * 1024**3

console = Console()
console.width = max(console.width, 150)  # the tables are wide; don't wrap them in pipes/CI


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    """Verdicts against the construction labels; errors count as 'not correct' verdicts."""

    accuracy: float
    false_positives: int
    false_negatives: int
    errors: int


@dataclass(frozen=True)
class BatchRun:
    grader: str
    mode: str
    run: str
    wall_s: float
    items_per_s: float
    accuracy: Accuracy
    p50_ms: float | None = None
    p99_ms: float | None = None
    verdicts: list[bool] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class ItemOutcome:
    """One pathological item graded alone: seconds (None when killed), verdict or error."""

    seconds: float | None
    verdict: str
    within_budget: bool = True


@dataclass(frozen=True)
class PathologicalRow:
    name: str
    truth: bool | None
    ours_s: float
    ours_outcome: str
    ours_within_budget: bool
    theirs_s: float | None = None
    theirs_outcome: str = "not run"


# --- Math-Verify ----------------------------------------------------------------------------


def run_math_verify_batch(batch: Sequence[Sample], *, run: str) -> BatchRun:
    """Grade the batch in this process's main thread, one pair at a time, as verl/TRL do."""
    from math_verify import parse, verify

    verdicts, durations = [], []
    start = time.perf_counter()
    for sample in batch:
        t0 = time.perf_counter()
        verdicts.append(
            bool(verify(parse(f"\\boxed{{{sample.reference}}}"), parse(sample.response)))
        )
        durations.append(time.perf_counter() - t0)
    wall = time.perf_counter() - start
    return BatchRun(
        f"Math-Verify {MATH_VERIFY_VERSION}",
        "in-process, 1 pair at a time",
        run,
        wall,
        len(batch) / wall,
        score_verdicts(batch, verdicts, errors=0),
        p50_ms=1000 * statistics.median(durations),
        p99_ms=1000 * _percentile(durations, 0.99),
        verdicts=verdicts,
    )


_MV_CHILD = """
import json, sys, time
from math_verify import parse, verify
item = json.load(sys.stdin)
t0 = time.perf_counter()
ok = verify(parse("\\\\boxed{" + item["reference"] + "}"), parse(item["response"]))
print(json.dumps({"correct": bool(ok), "seconds": time.perf_counter() - t0}))
"""


def run_math_verify_isolated(item: PathologicalItem, *, cap_s: float) -> ItemOutcome:
    """Grade one item in a fresh subprocess killed after ``cap_s`` (import time excluded)."""
    payload = json.dumps({"response": item.response, "reference": item.reference})
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _MV_CHILD],
            input=payload,
            capture_output=True,
            text=True,
            timeout=cap_s,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        return ItemOutcome(None, f"hung (killed at {cap_s:.0f} s)", False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return ItemOutcome(time.perf_counter() - start, f"crashed: {last[:60]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return ItemOutcome(result["seconds"], "correct" if result["correct"] else "incorrect")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MV_MEMORY_BYTES, _MV_MEMORY_BYTES))


# --- the service ----------------------------------------------------------------------------


@contextmanager
def serve(*, timeout_s: float, workers: int | None) -> Iterator[str]:
    """Start ``verifier serve`` on a free loopback port; yield its base URL once ready."""
    port = _free_port()
    env = {
        **os.environ,
        "VERIFIER_MATH_TIMEOUT_S": str(timeout_s),
        "VERIFIER_LOG_LEVEL": "warning",
    }
    if workers is not None:
        env["VERIFIER_WORKERS"] = str(workers)
    # The running interpreter, so the service is the code on PYTHONPATH (a checkout's, not the
    # installed copy's).
    command = [sys.executable, "-m", "verifier_service.cli", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], *, limit_s: float = 90.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"verifier serve exited with {proc.returncode}:\n{stderr[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                ready = httpx.get(f"{url}/readyz", timeout=5)
                if ready.status_code == 200:
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"verifier serve at {url} not ready after {limit_s:.0f} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_ours_batch(url: str, batch: Sequence[Sample], *, run: str) -> BatchRun:
    """POST the whole batch in one request; time it end to end."""
    items = [{"response": s.response, "reference": s.reference} for s in batch]
    start = time.perf_counter()
    response = httpx.post(f"{url}/v1/math/verify", json={"items": items}, timeout=600)
    wall = time.perf_counter() - start
    response.raise_for_status()
    mode = f"1 request x {len(batch)}"
    return _ours_run(batch, response.json()["results"], wall, mode, run)


def run_ours_concurrent(url: str, batch: Sequence[Sample], *, run: str) -> BatchRun:
    """POST one request per prompt group, all at once, as an async trainer would."""
    groups: dict[int, list[Sample]] = {}
    for sample in batch:
        groups.setdefault(sample.prompt_index, []).append(sample)

    async def post_all() -> list[list[dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=url, timeout=600) as client:

            async def post(group: list[Sample]) -> list[dict[str, Any]]:
                items = [{"response": s.response, "reference": s.reference} for s in group]
                response = await client.post("/v1/math/verify", json={"items": items})
                response.raise_for_status()
                results: list[dict[str, Any]] = response.json()["results"]
                return results

            return await asyncio.gather(*(post(g) for g in groups.values()))

    start = time.perf_counter()
    per_group = asyncio.run(post_all())
    wall = time.perf_counter() - start
    ordered = [s for g in groups.values() for s in g]
    mode = f"{len(groups)} requests x {len(ordered) // len(groups)}, concurrent"
    return _ours_run(ordered, [r for rs in per_group for r in rs], wall, mode, run)


def _ours_run(
    batch: Sequence[Sample], results: list[dict[str, Any]], wall: float, mode: str, run: str
) -> BatchRun:
    verdicts = [r["error"] is None and bool(r["correct"]) for r in results]
    errors = sum(r["error"] is not None for r in results)
    accuracy = score_verdicts(batch, verdicts, errors=errors)
    return BatchRun("ours, HTTP", mode, run, wall, len(batch) / wall, accuracy, verdicts=verdicts)


def run_ours_isolated(url: str, item: PathologicalItem, *, timeout_s: float) -> ItemOutcome:
    """POST one item alone, timed end to end; in budget when answered within timeout + 1 s."""
    body = {"items": [{"response": item.response, "reference": item.reference}]}
    start = time.perf_counter()
    try:
        response = httpx.post(f"{url}/v1/math/verify", json=body, timeout=timeout_s + 60)
    except httpx.TimeoutException:
        elapsed = time.perf_counter() - start
        return ItemOutcome(elapsed, "no answer (client gave up)", False)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        outcome = f"HTTP {response.status_code}"
    else:
        result = response.json()["results"][0]
        if result["error"] is not None:
            outcome = f"error: {result['error']['code']}"
        else:
            outcome = "correct" if result["correct"] else "incorrect"
    return ItemOutcome(elapsed, outcome, elapsed <= timeout_s + 1.0)


# --- scoring --------------------------------------------------------------------------------


def score_verdicts(batch: Sequence[Sample], verdicts: Sequence[bool], *, errors: int) -> Accuracy:
    fp = sum(v and not s.correct for s, v in zip(batch, verdicts, strict=True))
    fn = sum(not v and s.correct for s, v in zip(batch, verdicts, strict=True))
    return Accuracy(1 - (fp + fn) / len(batch), fp, fn, errors)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _errors_by_kind(batch: Sequence[Sample], run: BatchRun) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for sample, verdict in zip(batch, run.verdicts, strict=True):
        fp, fn = out.get(sample.kind, (0, 0))
        out[sample.kind] = (
            fp + (verdict and not sample.correct),
            fn + (not verdict and sample.correct),
        )
    return out


# --- the run --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    batch = generate_batch(seed=args.seed, prompts=args.prompts, samples=args.samples)
    n_right = sum(s.correct for s in batch)
    console.print(
        f"[bold]GRPO batch[/]: {args.prompts} prompts x {args.samples} samples = {len(batch)} "
        f"responses (seed {args.seed}), {n_right} correct by construction, mean "
        f"{statistics.mean(len(s.response) for s in batch) / 1024:.1f} KB; "
        f"{os.cpu_count()} cores; grading timeout {args.timeout:g} s"
    )

    names = ["cold"] + [f"warm {i + 1}" for i in range(1, args.runs)]
    runs: list[BatchRun] = []
    for name in names:
        runs.append(run_math_verify_batch(batch, run=name))
        console.print(f"  Math-Verify {name}: {runs[-1].wall_s:.2f} s")
    with serve(timeout_s=args.timeout, workers=args.workers) as url:
        workers = httpx.get(f"{url}/readyz", timeout=5).json().get("workers", {})
        for name in names:
            runs.append(run_ours_batch(url, batch, run=name))
            console.print(f"  ours {name}: {runs[-1].wall_s:.2f} s")
        rows = [] if args.skip_pathological else _run_pathological_ours(url, args.timeout)
    with serve(timeout_s=args.timeout, workers=args.workers) as url:
        runs.append(run_ours_concurrent(url, batch, run="cold"))
        console.print(f"  ours concurrent cold: {runs[-1].wall_s:.2f} s")
    if not args.skip_pathological:
        rows = _run_pathological_theirs(rows, cap_s=args.hang_cap)

    _print_batch_table(runs, len(batch), workers)
    _print_kind_table(batch, runs)
    if rows:
        _print_pathological_table(rows, args.timeout)
    if args.json:
        _write_json(args, batch, runs, rows, workers)
    return 0


def _run_pathological_ours(url: str, timeout_s: float) -> list[PathologicalRow]:
    rows = []
    for item in pathological_items():
        ours = run_ours_isolated(url, item, timeout_s=timeout_s)
        console.print(f"  ours {item.name}: {ours.seconds:.2f} s, {ours.verdict}")
        rows.append(
            PathologicalRow(
                item.name, item.correct, ours.seconds or 0.0, ours.verdict, ours.within_budget
            )
        )
    return rows


def _run_pathological_theirs(rows: list[PathologicalRow], *, cap_s: float) -> list[PathologicalRow]:
    out = []
    for row, item in zip(rows, pathological_items(), strict=True):
        theirs = run_math_verify_isolated(item, cap_s=cap_s)
        shown = "-" if theirs.seconds is None else f"{theirs.seconds:.2f} s"
        console.print(f"  Math-Verify {item.name}: {shown}, {theirs.verdict}")
        out.append(replace(row, theirs_s=theirs.seconds, theirs_outcome=theirs.verdict))
    return out


def _print_batch_table(runs: list[BatchRun], n: int, workers: dict[str, Any]) -> None:
    table = Table(
        title=f"GRPO batch, {n} responses (ours: {workers.get('processes', '?')} worker processes)"
    )
    for column in (
        "grader",
        "mode",
        "run",
        "wall s",
        "items/s",
        "p50 ms",
        "p99 ms",
        "accuracy",
        "FP",
        "FN",
        "errors",
    ):
        table.add_column(column, justify="left" if column in ("grader", "mode", "run") else "right")
    for run in runs:
        table.add_row(
            run.grader,
            run.mode,
            run.run,
            f"{run.wall_s:.2f}",
            f"{run.items_per_s:.0f}",
            "-" if run.p50_ms is None else f"{run.p50_ms:.1f}",
            "-" if run.p99_ms is None else f"{run.p99_ms:.1f}",
            f"{run.accuracy.accuracy:.1%}",
            str(run.accuracy.false_positives),
            str(run.accuracy.false_negatives),
            str(run.accuracy.errors),
        )
    console.print(table)
    theirs, ours = _headline(runs)
    console.print(
        f"[bold]Headline (cold)[/]: ours {ours.items_per_s:.0f} items/s vs Math-Verify "
        f"{theirs.items_per_s:.0f} items/s: ratio ours/theirs = "
        f"{ours.items_per_s / theirs.items_per_s:.2f}x throughput; wall {ours.wall_s:.2f} s vs "
        f"{theirs.wall_s:.2f} s. Accuracy {ours.accuracy.accuracy:.1%} vs "
        f"{theirs.accuracy.accuracy:.1%}."
    )


def _headline(runs: list[BatchRun]) -> tuple[BatchRun, BatchRun]:
    theirs = next(r for r in runs if r.grader.startswith("Math-Verify"))
    ours = next(r for r in runs if r.grader.startswith("ours"))
    return theirs, ours


def _print_kind_table(batch: Sequence[Sample], runs: list[BatchRun]) -> None:
    theirs, ours = _headline(runs)
    by_theirs, by_ours = _errors_by_kind(batch, theirs), _errors_by_kind(batch, ours)
    table = Table(title="Mistakes by kind of answer (cold runs): false positives / false negatives")
    for column in ("kind", "items", "correct", "Math-Verify FP/FN", "ours FP/FN"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in sorted(by_theirs):
        samples = [s for s in batch if s.kind == kind]
        table.add_row(
            kind,
            str(len(samples)),
            str(sum(s.correct for s in samples)),
            "{} / {}".format(*by_theirs[kind]),
            "{} / {}".format(*by_ours[kind]),
        )
    console.print(table)


def _print_pathological_table(rows: list[PathologicalRow], timeout_s: float) -> None:
    table = Table(
        title=f"Pathological inputs, one at a time (ours: one HTTP request each, end to end, "
        f"budget {timeout_s:g} s + 1 s; Math-Verify: grading time in its own subprocess)"
    )
    for column in (
        "item",
        "truth",
        "ours s",
        "ours verdict",
        "in budget",
        "Math-Verify s",
        "Math-Verify verdict",
    ):
        table.add_column(column, justify="right" if column.endswith(" s") else "left")
    for row in rows:
        table.add_row(
            row.name,
            {True: "correct", False: "incorrect", None: "-"}[row.truth],
            f"{row.ours_s:.2f}",
            row.ours_outcome,
            "yes" if row.ours_within_budget else "[red]NO[/]",
            "-" if row.theirs_s is None else f"{row.theirs_s:.2f}",
            row.theirs_outcome,
        )
    console.print(table)
    over = [r.name for r in rows if not r.ours_within_budget]
    console.print(f"ours over budget: {', '.join(over) if over else 'none'}")


def _write_json(
    args: argparse.Namespace,
    batch: Sequence[Sample],
    runs: list[BatchRun],
    rows: list[PathologicalRow],
    workers: dict[str, Any],
) -> None:
    theirs, ours = _headline(runs)
    figures = {
        "config": {
            "seed": args.seed,
            "prompts": args.prompts,
            "samples": args.samples,
            "items": len(batch),
            "correct_by_construction": sum(s.correct for s in batch),
            "timeout_s": args.timeout,
            "cores": os.cpu_count(),
            "workers": workers,
            "math_verify": MATH_VERIFY_VERSION,
        },
        "headline": {
            "ours_items_per_s": ours.items_per_s,
            "theirs_items_per_s": theirs.items_per_s,
            "throughput_ratio_ours_over_theirs": ours.items_per_s / theirs.items_per_s,
        },
        "batch_runs": [{k: v for k, v in asdict(r).items() if k != "verdicts"} for r in runs],
        "errors_by_kind": {
            "math_verify": _errors_by_kind(batch, theirs),
            "ours": _errors_by_kind(batch, ours),
        },
        "pathological": [asdict(r) for r in rows],
    }
    args.json.write_text(json.dumps(figures, indent=2) + "\n")
    console.print(f"figures written to {args.json}")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--prompts", type=int, default=32, help="prompts per batch (default 32)")
    parser.add_argument("--samples", type=int, default=16, help="samples per prompt (default 16)")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of the batch per grader; run 1 is cold"
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="the service's grading timeout, s"
    )
    parser.add_argument(
        "--workers", type=int, help="the service's worker processes (default: one per core)"
    )
    parser.add_argument(
        "--hang-cap",
        type=float,
        default=30.0,
        help="Math-Verify's hard cap per pathological item, s",
    )
    parser.add_argument("--skip-pathological", action="store_true", help="only the GRPO batch")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


if __name__ == "__main__":
    sys.exit(main())
