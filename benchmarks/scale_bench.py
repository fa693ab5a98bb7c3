"""Items/s of the service on Ray Serve with 1 and then 2 replicas, in one run, on one corpus.

A real multi-node Ray cluster on this machine (``ray.cluster_utils.Cluster``): a head that runs
only Serve's controller and proxy, and two worker nodes of one CPU each; a replica per node,
each with one grading worker process and one sandbox container. The same GRPO-shaped corpus
(math responses from ``math_corpus.py`` plus code items) goes through ``RewardClient`` over
HTTP, first to 1 replica, then to a fresh deployment of 2; the result cache is off, so both
grade everything. Every outcome is checked against its label.

Honest about the machine: the replicas share its cores with Ray itself, the proxy, this client
and Docker. On a 2-core machine the figure for 2 replicas may be flat; Ray's own metrics
(``ray_serve_deployment_request_counter`` per replica, read from every node's metrics
endpoint) show whether both replicas did the work.

    PYTHONPATH=. python benchmarks/scale_bench.py [--prompts 16 --samples 8 --code-items 32]
"""

from __future__ import annotations

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every Ray process on loopback

import argparse
import re
import socket
import time
import warnings
from collections import Counter
from dataclasses import dataclass

import httpx
from math_corpus import generate_batch
from pydantic.warnings import PydanticDeprecatedSince20

from trainer_client.client import RewardClient, RewardClientConfig, RewardItem
from verifier_service.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", PydanticDeprecatedSince20)
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from verifier_service.ray_serve import ServeOptions, deploy

APP = "verifier-bench"
_NODE = {"num_cpus": 1, "object_store_memory": 80 * 1024**2}
_ADD = "<think>add</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
_SUB = _ADD.replace("a + b", "a - b")
_REQUESTS = re.compile(r"^ray_serve_deployment_request_counter(?:_total)?\{([^}]*)\} ([0-9.e+]+)$")


@dataclass(frozen=True)
class Run:
    replicas: int
    seconds: float
    wrong: int
    requests_per_replica: dict[str, float]


def _corpus(prompts: int, samples: int, code_items: int) -> tuple[list[RewardItem], list[float]]:
    items, labels = [], []
    for index, sample in enumerate(generate_batch(seed=7, prompts=prompts, samples=samples)):
        items.append(RewardItem(sample.response, reference=sample.reference, id=f"m{index}"))
        labels.append(1.0 if sample.correct else 0.0)
    for index in range(code_items):
        a, b = index, 2 * index + 1
        program, right = (_ADD, 1.0) if index % 3 else (_SUB, 0.0)
        tests = [{"stdin": f"{a} {b}\n", "expected_stdout": f"{a + b}\n"}]
        items.append(
            RewardItem(program, id=f"c{index}", task="code", language="python", tests=tests)
        )
        labels.append(right)
    return items, labels


def _requests_per_replica() -> dict[str, float]:
    """Requests each replica of the app handled, from every node's Ray metrics endpoint."""
    counts: Counter[str] = Counter()
    for node in ray.nodes():
        if not node["Alive"]:
            continue
        try:
            text = httpx.get(f"http://127.0.0.1:{node['MetricsExportPort']}/metrics").text
        except httpx.HTTPError:
            continue
        for line in text.splitlines():
            match = _REQUESTS.match(line)
            if match and f'application="{APP}"' in match.group(1):
                replica = re.search(r'replica="([^"]*)"', match.group(1))
                counts[replica.group(1) if replica else "?"] += float(match.group(2))
    return dict(counts)


def _running() -> int:
    status = serve.status().applications.get(APP)
    if status is None:
        return 0
    return sum(d.replica_states.get("RUNNING", 0) for d in status.deployments.values())


def _measure(
    replicas: int, port: int, items: list[RewardItem], labels: list[float], chunk: int
) -> Run:
    settings = Settings(port=port, workers=1, cache_size=0)
    options = ServeOptions(
        app_name=APP, replicas=replicas, num_cpus=1, sandbox_containers=1, max_replicas_per_node=1
    )
    deploy(settings, options, proxy_location="HeadOnly")
    while _running() != replicas:
        time.sleep(0.5)
    config = RewardClientConfig([f"http://127.0.0.1:{port}"], chunk_size=chunk)
    with RewardClient(config) as client:
        client.score(items[:chunk])  # warm: workers imported, containers up
        time.sleep(2)  # the warm-up's requests reach Ray's counters before the baseline
        before = _requests_per_replica()
        started = time.perf_counter()
        outcomes = client.score(items)
        seconds = time.perf_counter() - started
    wrong = sum(
        o.error is not None or o.components.get("accuracy") != label
        for o, label in zip(outcomes, labels, strict=True)
    )
    time.sleep(4)  # one metrics report interval, so Ray's counters include this run
    after = _requests_per_replica()
    counts = {k: v - before.get(k, 0.0) for k, v in after.items() if v > before.get(k, 0.0)}
    serve.delete(APP)
    return Run(replicas, seconds, wrong, counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--code-items", type=int, default=32)
    parser.add_argument("--chunk-size", type=int, default=16)
    args = parser.parse_args()
    items, labels = _corpus(args.prompts, args.samples, args.code_items)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": False,
            "object_store_memory": _NODE["object_store_memory"],
            "_system_config": {"metrics_report_interval_ms": 1000},
        },
    )
    runs = []
    try:
        for _ in range(2):
            cluster.add_node(**_NODE)
        ray.init(address=cluster.address)
        for replicas in (1, 2):
            runs.append(_measure(replicas, port, items, labels, args.chunk_size))
    finally:
        serve.shutdown()
        ray.shutdown()
        cluster.shutdown()

    print(
        f"machine: {os.cpu_count()} cores; corpus: {len(items)} items "
        f"({len(items) - args.code_items} math, {args.code_items} code), "
        f"chunks of {args.chunk_size}, result cache off"
    )
    print(
        f"{'replicas':>8} {'seconds':>8} {'items/s':>8} {'ratio':>6} {'wrong':>6}  "
        "requests per replica (Ray's metrics)"
    )
    base = len(items) / runs[0].seconds
    for run in runs:
        rate = len(items) / run.seconds
        served = ", ".join(f"{k}: {v:.0f}" for k, v in sorted(run.requests_per_replica.items()))
        print(
            f"{run.replicas:>8} {run.seconds:>8.2f} {rate:>8.1f} {rate / base:>6.2f} "
            f"{run.wrong:>6}  {served or 'no metrics'}"
        )


if __name__ == "__main__":
    main()
