"""Unique long answers, as an RL run sends them for days: every cache stays within its byte
budget (by its own accounting in /metrics) and no process's memory grows with the traffic."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import psutil
import pytest
from service import running_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MB = 1024 * 1024
CACHE_BYTES = 1 * MB
WORKER_CACHE_BYTES = 1 * MB
# Growth allowed for allocator slack and lazily built state; far below what the traffic would
# leave behind if the caches kept the texts (rounds * batch * ~200 KB = 200 MB).
RSS_SLACK = 40 * MB
ROUNDS = 20
BATCH = 50


def _items(round_: int) -> list[dict[str, str]]:
    """Three kinds of unique answer: 200 KB (refused for size), 3 KB (refused by the parser
    after normalising, a cached refusal) and short ones that parse."""
    items = []
    for n in range(BATCH):
        tag = f"{round_}-{n}"
        items.append({"response": f"\\boxed{{{tag} + " + "x+" * 100_000 + "1}", "reference": "1"})
        items.append({"response": f"\\boxed{{{tag} + " + "y+" * 1_500 + "1}", "reference": "2"})
        items.append({"response": f"\\boxed{{\\frac{{{round_}}}{{{n + 3}}}}}", "reference": "3"})
    return items


def _metric(text: str, name: str, cache: str, process: str) -> float:
    pattern = rf'^{name}\{{cache="{cache}",process="{process}"\}} (\S+)$'
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, f"{name} of {cache} ({process}) missing from /metrics"
    return float(match.group(1))


def _processes(url: str) -> Iterator[psutil.Process]:
    port = int(url.rsplit(":", 1)[1])
    main = next(
        c.pid
        for c in psutil.net_connections("tcp")
        if c.laddr and c.laddr.port == port
        if c.status == psutil.CONN_LISTEN
    )
    service = psutil.Process(main)
    yield service
    for child in service.children(recursive=True):
        if "forkserver" not in " ".join(child.cmdline()):
            yield child


def _rss(url: str) -> dict[int, int]:
    return {p.pid: p.memory_info().rss for p in _processes(url)}


def test_unique_long_answers_keep_every_cache_and_process_within_budget() -> None:
    with (
        running_service(
            workers="1",
            sandbox_backend="none",
            cache_bytes=str(CACHE_BYTES),
            worker_cache_bytes=str(WORKER_CACHE_BYTES),
        ) as url,
        httpx.Client(timeout=120) as client,
    ):
        client.post(f"{url}/v1/math/verify", json={"items": _items(-1)})  # warm-up
        before = _rss(url)
        for round_ in range(ROUNDS):
            reply = client.post(f"{url}/v1/math/verify", json={"items": _items(round_)})
            assert reply.status_code == 200
            errors = [r["error"] for r in reply.json()["results"] if r["error"]]
            assert not errors, errors[:3]
        after = _rss(url)
        metrics = client.get(f"{url}/metrics").text
    for cache, process, budget in (
        ("results", "service", CACHE_BYTES),
        ("parsed_answers", "workers", WORKER_CACHE_BYTES),
    ):
        assert 0 < _metric(metrics, "verifier_cache_bytes", cache, process) <= budget
        assert _metric(metrics, "verifier_cache_max_bytes", cache, process) == budget
        assert _metric(metrics, "verifier_cache_evictions_total", cache, process) > 0
    growth = {pid: after.get(pid, 0) - rss for pid, rss in before.items()}
    assert set(after) == set(before), "a worker was replaced: its memory was not measured"
    assert max(growth.values()) < RSS_SLACK, {p: g // MB for p, g in growth.items()}
