"""`sandbox.run_sync`: the package's entry point for synchronous callers, on real backends."""

from __future__ import annotations

from sandbox import Limits, Program, StdioTest, Verdict, run_sync

ECHO = Program("python", "print(input())")
TESTS = [StdioTest("hi\n", "hi\n"), StdioTest("a\n", "b\n"), StdioTest("c\n", "c\n")]


def test_run_sync_docker_runs_every_test(docker_ready: None) -> None:
    result = run_sync(ECHO, TESTS, Limits(time_s=2, memory_mb=256), backend="docker")
    assert (result.verdict, result.passed, result.total) == (Verdict.WA, 2, 3)
    assert [t.verdict for t in result.tests] == [Verdict.AC, Verdict.WA, Verdict.AC]


def test_run_sync_local_stops_on_first_failure() -> None:
    result = run_sync(ECHO, TESTS, backend="local", stop_on_first_failure=True)
    assert (result.verdict, result.total) == (Verdict.WA, 3)
    assert [t.verdict for t in result.tests[:2]] == [Verdict.AC, Verdict.WA]
    assert result.tests[0].stdout == "hi\n"
