"""Load: 64 concurrent clients in a second process, mixed math/format/code batches, no 5xx."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from reliability_support import SCALE, LoadRun

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DURATION_S = 20 * SCALE


def _print_figures(report: dict[str, Any]) -> None:
    latency = report["latency_s"]
    print(
        f"\nload: {report['requests']} requests, {report['items']} items in "
        f"{report['duration_s']:.1f} s with 64 clients: "
        f"{report['requests_per_s']:.1f} req/s, {report['items_per_s']:.1f} items/s, "
        f"p50 {latency['p50'] * 1000:.0f} ms, p99 {latency['p99'] * 1000:.0f} ms"
    )
    for kind, figures in sorted(report["latency_s_by_kind"].items()):
        print(f"  {kind}: p50 {figures['p50'] * 1000:.0f} ms, p99 {figures['p99'] * 1000:.0f} ms")
    print("load report: " + json.dumps(report, sort_keys=True))


@pytest.mark.timeout(int(DURATION_S) + 240)
def test_load_mixed_batches_from_64_clients_all_graded(
    start_service: Any, start_load: Callable[..., LoadRun]
) -> None:
    with start_service() as service:
        report = start_load(service, duration_s=DURATION_S).result(timeout=DURATION_S + 180)
    _print_figures(report)
    assert report["transport_errors"] == {}
    assert not [status for status in report["statuses"] if status.startswith("5")]
    assert set(report["statuses"]) <= {"200", "429"}
    assert report["miscounted"] == 0
    outcomes = report["outcomes"]
    assert set(outcomes) == {"math:right", "format:right", "code:right"}, outcomes
    assert report["requests"] >= 64  # every client got at least one answer
