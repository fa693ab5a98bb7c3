"""A deadline stops sandbox runs: the program is killed, its container replaced, none leaked."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from reliability_support import sandbox_containers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SPIN = "while True:\n    pass\n"


def test_deadline_cancels_running_programs_and_keeps_the_pool(start_service: Any) -> None:
    with start_service() as service:
        owner = service.owner_label()
        before = set(sandbox_containers(owner=owner))
        items = [
            {
                "language": "python",
                "code": SPIN,
                "tests": [{"stdin": "", "expected_stdout": ""}],
                "limits": {"time_s": 20, "memory_mb": 128},
            }
            for _ in range(4)
        ]
        reply = httpx.post(
            f"{service.url}/v1/code/run",
            json={"items": items, "deadline_s": 2},
            headers=service.headers,
            timeout=60,
        )
        results = reply.json()["results"]
        # The pool heals: a program still runs to its verdict afterwards.
        (after,) = service.post(
            "/v1/code/run",
            [{"language": "python", "code": "print(1)", "tests": [{"expected_stdout": "1\n"}]}],
            timeout=60,
        )
        # The containers that ran the spinning programs were stopped and replaced; left to
        # run, they would spin for 20 s more and then be reused.
        stopped = _eventually(lambda: not before & set(sandbox_containers(owner=owner)), 15)
    assert reply.status_code == 200
    assert [r["error"]["code"] for r in results] == ["timeout"] * 4
    assert after["verdict"] == "AC"
    assert stopped, "the containers running past the deadline were not stopped"


def _eventually(check: Callable[[], bool], within_s: float) -> bool:
    until = time.monotonic() + within_s
    while time.monotonic() < until:
        if check():
            return True
        time.sleep(0.5)
    return check()
