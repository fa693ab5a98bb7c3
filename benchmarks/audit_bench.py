"""What the online audit costs the requests it samples from: latency with the audit off and at 5%.

Two fresh servers in one run (``verifier serve``, 2 grading workers each), the same GRPO-shaped
corpus (``math_corpus.py``: P prompts x G long R1-style responses), sent as one request per
prompt group, one after another, as a trainer's reward calls arrive. The audited server grades
a sampled share again in the background (Math-Verify in its own low-priority worker), so the
figure that matters is the requests' latency, side by side, and the ratio of the medians.

Usage:
    .venv/bin/python benchmarks/audit_bench.py [--prompts 64] [--samples 16] [--rate 0.05]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from math_bench import console, serve
from math_corpus import Sample, generate_batch
from rich.table import Table


@dataclass(frozen=True)
class Latencies:
    name: str
    seconds: list[float]
    sampled: int  # items the audit took from these requests
    audited: int  # of those, audited by the time the last response came back

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[q - 1]


def measure(name: str, groups: Sequence[list[Sample]], *, rate: float) -> Latencies:
    os.environ["VERIFIER_AUDIT_RATE"] = str(rate)
    os.environ["VERIFIER_AUDIT_SEED"] = "0"
    seconds = []
    with serve(timeout_s=5, workers=2) as url, httpx.Client(base_url=url, timeout=120) as client:
        for group in groups:
            items = [{"response": s.response, "reference": s.reference} for s in group]
            started = time.perf_counter()
            client.post("/v1/math/verify", json={"items": items}).raise_for_status()
            seconds.append(time.perf_counter() - started)
        math = client.get("/v1/audit").json()["components"].get("math", {})
        metrics = client.get("/metrics").text
    sampled = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("verifier_audit_sampled_total{")
    )
    return Latencies(name, seconds, int(sampled), int(math.get("audited", 0)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument(
        "--rounds", type=int, default=2, help="off/on pairs, alternated so drift hits both"
    )
    args = parser.parse_args(argv)
    batch = generate_batch(seed=1, prompts=args.prompts, samples=args.samples)
    groups: dict[int, list[Sample]] = {}
    for sample in batch:
        groups.setdefault(sample.prompt_index, []).append(sample)
    pairs = [
        (
            measure("audit off", list(groups.values()), rate=0.0),
            measure(f"audit {args.rate:.0%}", list(groups.values()), rate=args.rate),
        )
        for _ in range(args.rounds)
    ]
    runs = [
        Latencies(
            pairs[0][i].name,
            [s for pair in pairs for s in pair[i].seconds],
            sum(pair[i].sampled for pair in pairs),
            sum(pair[i].audited for pair in pairs),
        )
        for i in (0, 1)
    ]
    title = f"{args.rounds} x {len(groups)} requests x {args.samples} items, one after another"
    table = Table(title=title)
    for column in ("server", "p50", "p90", "mean", "p50 vs off", "sampled", "audited"):
        table.add_column(column, justify="right")
    base = runs[0].percentile(50)
    for run in runs:
        table.add_row(
            run.name,
            f"{run.percentile(50) * 1000:.1f} ms",
            f"{run.percentile(90) * 1000:.1f} ms",
            f"{statistics.fmean(run.seconds) * 1000:.1f} ms",
            f"{run.percentile(50) / base:.3f}x",
            str(run.sampled),
            str(run.audited),
        )
    console.print(table)
    console.print(f"cores: {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
