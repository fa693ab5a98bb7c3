"""Soak: hours of RL traffic compressed into minutes; nothing may grow once warmed up.

Clients send math, unique long answers, hostile answers, format and code batches back to back
while a sampler records the RSS of the service and its workers, fds, processes and sandbox
containers (soak.py). After warm-up every slope must stay within its bound. ``make test`` runs
this for 3 minutes; ``make soak`` for SOAK_MINUTES (default 30). Figures: docs/soak.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reliability_support import LoadRun, sandbox_containers
from soak import Bounds, Sampler, minute_table, slopes, violations

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MINUTES = float(os.environ.get("SOAK_MINUTES", "3"))
INTERVAL_S = float(os.environ.get("SOAK_INTERVAL_S", "10"))
WARMUP_S = float(os.environ.get("SOAK_WARMUP_S", str(min(300.0, MINUTES * 60 / 2))))
# Over a few minutes a single allocator step is a visible slope; over 30 it is not.
RSS_BOUND = float(os.environ.get("SOAK_MAX_RSS_MB_PER_MIN", "1" if MINUTES >= 20 else "4"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "12"))
MIX = "math,long,long,hostile,format,code"
# Small budgets, so the caches fill (and then must stay flat) within the warm-up.
SETTINGS = {"cache_bytes": str(2 * 2**20), "worker_cache_bytes": str(2 * 2**20)}


@pytest.mark.timeout(int(MINUTES * 60) + 300)
def test_soak_memory_fds_processes_and_containers_stay_flat(
    start_service: Any, start_load: Callable[..., LoadRun]
) -> None:
    duration_s = MINUTES * 60
    with start_service(**SETTINGS) as service:
        owner = service.owner_label()
        sampler = Sampler(
            service.process.pid, INTERVAL_S, lambda: len(sandbox_containers(owner=owner))
        )
        sampler.start()
        load = start_load(service, duration_s=duration_s, clients=CLIENTS, mix=MIX)
        report = load.result(timeout=duration_s + 240)
        samples = sampler.stop()
    table = minute_table(samples)
    measured = slopes(samples, WARMUP_S)
    print(f"\nsoak: {MINUTES:g} min, {CLIENTS} clients, {report['items']} items\n{table}")
    print(
        "slopes per minute after warm-up: "
        + ", ".join(f"{k} {v:+.2f}" for k, v in measured.items())
    )
    if out := os.environ.get("SOAK_REPORT"):
        Path(out).write_text(f"{table}\n\nslopes per minute after warm-up: {measured}\n")
    assert report["transport_errors"] == {}, report
    assert set(report["statuses"]) <= {"200", "429"}, report["statuses"]
    wrong = {k: v for k, v in report["outcomes"].items() if k.endswith(":wrong")}
    assert not wrong, wrong
    assert not violations(measured, Bounds(rss_mb_per_min=RSS_BOUND)), table
