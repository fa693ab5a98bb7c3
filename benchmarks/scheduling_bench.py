"""Latency under saturation: fair per-request queueing vs first come, first served.

One run starts the service twice on loopback, the same in all but VERIFIER_SCHEDULING (fifo:
every item of every request in one queue, the order before 2.0.0; fair: requests take turns,
by priority), and drives each with the same closed-loop load for --duration seconds:

    trainers     --trainers clients, each sending 128-item math batches back to back
    interactive  one client sending 4-item batches back to back (priority 0)
    evaluation   one client sending 16-item batches back to back with priority 1

Every answer is unique (no cache hit helps). It prints latency percentiles per class and mode,
and the ratio fifo / fair (above 1: fair scheduling is faster for that class).

Run: `python benchmarks/scheduling_bench.py` (about 2.5 minutes). Absolute times depend on the
machine; compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

_COUNTER = itertools.count()
CLASSES = (("trainers", 128, 0), ("interactive", 4, 0), ("evaluation", 16, 1))


def _items(size: int) -> list[dict[str, str]]:
    items = []
    for _ in range(size):
        n = next(_COUNTER)
        answer = f"\\frac{{{n}}}{{{n + 7}}} + \\sqrt{{{n % 97 + 2}}}"
        items.append({"response": f"\\boxed{{{answer}}}", "reference": "1"})
    return items


@contextmanager
def _service(scheduling: str, workers: int) -> Iterator[str]:
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "VERIFIER_SCHEDULING": scheduling,
        "VERIFIER_WORKERS": str(workers),
        "VERIFIER_SANDBOX_BACKEND": "none",
        "VERIFIER_MAX_QUEUED_ITEMS": "1000000",
    }
    command = [sys.executable, "-m", "verifier_service.cli", "serve", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError("the service did not start")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=60)


async def _client(
    http: httpx.AsyncClient, size: int, priority: int, until: float, out: list[float]
) -> None:
    while time.monotonic() < until:
        body = {"items": _items(size), "priority": priority, "deadline_s": 600}
        started = time.monotonic()
        reply = await http.post("/v1/math/verify", json=body)
        reply.raise_for_status()
        out.append(time.monotonic() - started)


async def _drive(url: str, trainers: int, duration_s: float) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in CLASSES}
    until = time.monotonic() + duration_s
    async with httpx.AsyncClient(base_url=url, timeout=900) as http:
        tasks = [_client(http, 128, 0, until, latencies["trainers"]) for _ in range(trainers)]
        await asyncio.sleep(1.0)  # the trainers saturate the workers first
        for name, size, priority in CLASSES[1:]:
            tasks.append(_client(http, size, priority, until, latencies[name]))
        await asyncio.gather(*tasks)
    return latencies


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per mode")
    parser.add_argument("--trainers", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    figures: dict[str, dict[str, list[float]]] = {}
    for mode in ("fifo", "fair"):
        with _service(mode, args.workers) as url:
            figures[mode] = asyncio.run(_drive(url, args.trainers, args.duration))
    print(
        f"{args.trainers} trainer clients (128 items) + 1 interactive (4) + 1 evaluation "
        f"(16, priority 1), {args.workers} workers, {args.duration:g} s per mode\n"
    )
    print("| class | mode | requests | p50 s | p99 s | max s |")
    print("|---|---|---|---|---|---|")
    for name, _, _ in CLASSES:
        for mode in ("fifo", "fair"):
            values = figures[mode][name]
            print(
                f"| {name} | {mode} | {len(values)} | {_pct(values, 0.5):.2f} | "
                f"{_pct(values, 0.99):.2f} | {max(values, default=float('nan')):.2f} |"
            )
    print("\nratio fifo / fair (above 1: fair is faster)")
    for name, _, _ in CLASSES:
        fifo, fair = figures["fifo"][name], figures["fair"][name]
        print(
            f"  {name}: p50 {_pct(fifo, 0.5) / _pct(fair, 0.5):.1f}x, "
            f"p99 {_pct(fifo, 0.99) / _pct(fair, 0.99):.1f}x"
        )


if __name__ == "__main__":
    main()
