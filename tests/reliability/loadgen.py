"""A closed-loop load generator for the service, run as its own process: prints one JSON line.

Each of ``--clients`` clients sends batches back to back for ``--duration`` seconds, mixing
math (/v1/math/verify), format-only rewards (/v1/rewards, task none) and code
(/v1/code/run) batches; ``long`` batches carry unique long answers (200 KB, 3 KB and unique
short ones: what an RL run sends for days) and ``hostile`` ones answers built to make a grader
run away (towers of powers, huge factorials, deep nesting). The summary counts statuses,
per-item error codes and transport failures, and gives latency percentiles and throughput.

    python tests/reliability/loadgen.py --url http://127.0.0.1:8000 --key KEY --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

THINK = "<think>" + "First add the two numbers, then simplify. " * 8 + "</think>"
ADD = "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n"


@dataclass(frozen=True)
class Batch:
    """One request: where it goes, its body and how many items it carries."""

    kind: str
    path: str
    body: dict[str, Any]
    expected: tuple[object, ...]  # per item: math `correct`, the code verdict, format: None


@dataclass
class Summary:
    """What the run saw."""

    duration_s: float = 0.0
    requests: int = 0
    items: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)  # "kind:right", "code:SE", ...
    transport_errors: Counter[str] = field(default_factory=Counter)
    miscounted: int = 0  # replies whose number of results is not the number of items
    latencies_s: dict[str, list[float]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        everything = sorted(x for values in self.latencies_s.values() for x in values)
        by_kind = {kind: _percentiles(sorted(values)) for kind, values in self.latencies_s.items()}
        return {
            "duration_s": self.duration_s,
            "requests": self.requests,
            "items": self.items,
            "statuses": dict(self.statuses),
            "outcomes": dict(self.outcomes),
            "transport_errors": dict(self.transport_errors),
            "miscounted": self.miscounted,
            "latency_s": _percentiles(everything),
            "latency_s_by_kind": by_kind,
            "requests_per_s": self.requests / self.duration_s,
            "items_per_s": self.items / self.duration_s,
        }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}

    def at(q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": values[-1]}


def _long_batch(rng: random.Random, size: int) -> Batch:
    items, expected = [], []
    for _ in range(size):
        tag = f"{rng.getrandbits(64):x}"  # unique: no cache can answer it
        a = rng.randint(1, 10**6)
        shape = rng.randrange(3)
        if shape == 0:
            answer = f"{tag} + " + "x+" * rng.randint(20_000, 100_000) + "1"
        elif shape == 1:
            answer = f"{tag} + " + "y+" * 1_500 + "1"
        else:
            answer = f"\\frac{{{2 * a}}}{{2}}"
        right = shape == 2 and rng.random() < 0.5
        reference = str(a) if right else str(a + 1)
        items.append({"response": f"{THINK} \\boxed{{{answer}}}", "reference": reference})
        expected.append(right)
    return Batch("long", "/v1/math/verify", {"items": items}, tuple(expected))


_HOSTILE = (
    "5^{5^{5^{5^{5}}}}",
    "{n}!",
    "\\binom{{{n}}}{{3}}",
    "{{" * 300 + "{n}" + "}}" * 300,
    "\\sqrt{{" * 200 + "{n}" + "}}" * 200,
    "10^{{{n}000000}}",
    "(" * 500 + "{n}" + ")" * 500,
)


def _hostile_batch(rng: random.Random, size: int) -> Batch:
    items = []
    for _ in range(size):
        n = rng.randint(10**6, 10**9)
        answer = rng.choice(_HOSTILE).replace("{n}", str(n)).replace("{{", "{").replace("}}", "}")
        items.append({"response": f"{THINK} \\boxed{{{answer}}}", "reference": "7"})
    return Batch("hostile", "/v1/math/verify", {"items": items}, (False,) * size)


def make_batch(kind: str, rng: random.Random, size: int) -> Batch:
    """A batch of one kind; items whose right answer is known, so results can be checked."""
    if kind == "long":
        return _long_batch(rng, size)
    if kind == "hostile":
        return _hostile_batch(rng, size)
    if kind == "math":
        items, expected = [], []
        for _ in range(size):
            a, b = rng.randint(1, 10**6), rng.randint(1, 10**6)
            right = rng.random() < 0.5
            answer = a + b if right else a + b + 1
            reference = rng.choice([str(a + b), f"\\frac{{{2 * (a + b)}}}{{2}}"])
            items.append({"response": f"{THINK} \\boxed{{{answer}}}", "reference": reference})
            expected.append(right)
        return Batch(kind, "/v1/math/verify", {"items": items}, tuple(expected))
    if kind == "format":
        items = [
            {"response": f"{THINK} The answer is {rng.randint(1, 99)}.", "task": "none"}
            for _ in range(size)
        ]
        return Batch(kind, "/v1/rewards", {"items": items}, (None,) * size)
    items = []
    for _ in range(size):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        items.append(
            {
                "language": "python",
                "code": ADD,
                "tests": [{"stdin": f"{a} {b}\n", "expected_stdout": f"{a + b}\n"}],
                "limits": {"time_s": 2, "memory_mb": 128},
            }
        )
    return Batch("code", "/v1/code/run", {"items": items}, ("AC",) * size)


def _outcome(batch: Batch, result: dict[str, Any], expected: object) -> str:
    """'right', 'wrong', or the error: an error code, or SE (a sandbox fault as a verdict)."""
    if result.get("error"):
        return str(result["error"]["code"])
    if batch.kind in ("math", "long", "hostile"):
        return "right" if result.get("correct") is expected else "wrong"
    if batch.kind == "format":
        return "right" if isinstance(result.get("reward"), float) else "wrong"
    verdict = result.get("verdict")
    if verdict == "SE":
        return "SE"
    return "right" if verdict == expected else "wrong"


async def _client(
    http: httpx.AsyncClient, summary: Summary, deadline: float, mix: list[str], seed: int
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        kind = rng.choice(mix)
        batch = make_batch(kind, rng, size=4 if kind == "code" else rng.choice([8, 16, 32]))
        started = time.monotonic()
        try:
            reply = await http.post(batch.path, json=batch.body)
        except httpx.HTTPError as exc:
            summary.transport_errors[type(exc).__name__] += 1
            continue
        summary.latencies_s.setdefault(kind, []).append(time.monotonic() - started)
        summary.requests += 1
        summary.statuses[str(reply.status_code)] += 1
        if reply.status_code == 429:
            await asyncio.sleep(float(reply.headers.get("retry-after", "1")))
            continue
        if reply.status_code != 200:
            continue
        results = reply.json()["results"]
        summary.items += len(results)
        summary.miscounted += len(results) != len(batch.expected)
        for result, expected in zip(results, batch.expected, strict=False):
            summary.outcomes[f"{kind}:{_outcome(batch, result, expected)}"] += 1


async def run_load(
    url: str, key: str, *, clients: int, duration_s: float, mix: list[str], timeout_s: float
) -> Summary:
    """Run the load and return its summary."""
    summary = Summary()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=timeout_s, limits=limits
    ) as http:
        started = time.monotonic()
        deadline = started + duration_s
        await asyncio.gather(
            *(_client(http, summary, deadline, mix, seed) for seed in range(clients))
        )
        summary.duration_s = time.monotonic() - started
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--mix", default="math,math,format,code", help="kinds, comma-separated")
    parser.add_argument("--timeout", type=float, default=120.0, help="per request, seconds")
    args = parser.parse_args()
    summary = asyncio.run(
        run_load(
            args.url,
            args.key,
            clients=args.clients,
            duration_s=args.duration,
            mix=args.mix.split(","),
            timeout_s=args.timeout,
        )
    )
    print(json.dumps(summary.report()))


if __name__ == "__main__":
    main()
