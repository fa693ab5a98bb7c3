"""Verdicts for limits, crashes and the three kinds of tests, on real Docker."""

from __future__ import annotations

import pytest

from sandbox import AssertTest, CallTest, Limits, StdioTest, Verdict

ECHO = StdioTest(stdin="x\n", expected_stdout="x\n")
FAST = Limits(time_s=1, wall_time_s=2, memory_mb=128)

RUNTIME_CASES = [
    ("python exception", "python", "raise ValueError('boom')\n", Verdict.RE, "ValueError"),
    ("python exit code", "python", "import sys; sys.exit(3)\n", Verdict.RE, "exit code 3"),
    (
        "c segfault",
        "c",
        "int main(void){ volatile int *p = 0; *p = 1; return 0; }\n",
        Verdict.RE,
        "SIGSEGV",
    ),
    (
        "cpp abort",
        "cpp",
        "#include <cstdlib>\nint main(){ std::abort(); }\n",
        Verdict.RE,
        "SIGABRT",
    ),
    ("python busy loop", "python", "while True: pass\n", Verdict.TLE, "time"),
    ("c busy loop", "c", "int main(void){ for(;;); }\n", Verdict.TLE, "time"),
    ("python sleeps", "python", "import time; time.sleep(60)\n", Verdict.TLE, "wall time"),
    (
        "python memory",
        "python",
        "x = []\nwhile True: x.append(bytearray(1 << 20))\n",
        Verdict.MLE,
        "memory",
    ),
    (
        "c memory",
        "c",
        "#include <stdlib.h>\n#include <string.h>\nint main(void){ for(;;){ char *p = "
        "malloc(1<<20); if(!p) return 1; memset(p, 1, 1<<20);} }\n",
        Verdict.MLE,
        "memory",
    ),
    (
        "java heap",
        "java",
        "import java.util.*;\npublic class Main{public static void main(String[] a){"
        "List<long[]> l=new ArrayList<>();while(true)l.add(new long[1<<17]);}}\n",
        Verdict.MLE,
        "memory",
    ),
    ("python output flood", "python", "while True: print('y' * 1000)\n", Verdict.OLE, "output"),
    (
        "stderr flood",
        "python",
        "import sys\nwhile True: sys.stderr.write('e' * 4096)\n",
        Verdict.OLE,
        "output",
    ),
]


@pytest.mark.parametrize(
    ("language", "code", "verdict", "reason"),
    [case[1:] for case in RUNTIME_CASES],
    ids=[case[0] for case in RUNTIME_CASES],
)
def test_verdicts_runtime(docker, language: str, code: str, verdict: Verdict, reason: str) -> None:
    result = docker.run(language, code, [ECHO], FAST)
    assert result.verdict is verdict, result
    assert reason in result.reason, result.reason
    assert result.tests[0].wall_s < FAST.wall_s + 1.5


def test_verdicts_java_class_with_wrong_name_is_ce(docker) -> None:
    code = "public class Solution { public static void main(String[] a) {} }\n"
    result = docker.run("java", code, [ECHO])
    assert result.verdict is Verdict.CE
    assert "Solution" in result.compile_output


def test_verdicts_output_limit_is_exact(docker) -> None:
    limits = Limits(output_bytes=1000)
    fits = docker.run("python", "print('a' * 999)", [StdioTest("", "a" * 999 + "\n")], limits)
    over = docker.run("python", "print('a' * 1000)", [StdioTest("", "a" * 1000 + "\n")], limits)
    assert (fits.verdict, over.verdict) == (Verdict.AC, Verdict.OLE)


def test_verdicts_large_io_does_not_deadlock(docker) -> None:
    big = "".join(f"{i}\n" for i in range(200_000))  # ~1.3 MB in, the same out
    code = "import sys\nsys.stdout.write(sys.stdin.read())\n"
    result = docker.run("python", code, [StdioTest(big, big)], Limits(output_bytes=4 << 20))
    assert result.verdict is Verdict.AC, result.reason


def test_verdicts_stop_on_first_failure(docker) -> None:
    tests = [StdioTest("1\n", "1\n"), StdioTest("2\n", "3\n")] + [StdioTest("4\n", "4\n")] * 8
    result = docker.run("python", "print(input())", tests, stop_on_first_failure=True)
    assert result.verdict is Verdict.WA
    assert result.total == 10
    assert len(result.tests) <= 3, "at most one test runs past the failing one"
    every = docker.run("python", "print(input())", tests)
    assert (len(every.tests), every.passed) == (10, 9)


def test_verdicts_function_calls_compare_as_json(docker) -> None:
    code = (
        "def pair(a, b):\n    return (a, b)\n"
        "class Solution:\n    def twoSum(self, nums, target):\n"
        "        seen = {}\n        for i, n in enumerate(nums):\n"
        "            if target - n in seen: return [seen[target - n], i]\n"
        "            seen[n] = i\n"
    )
    tests = [
        CallTest("pair", [1, "x"], [1, "x"]),
        CallTest("twoSum", [[2, 7, 11, 15], 9], [0, 1]),
        CallTest("pair", [1, 2], [2, 1]),
        CallTest("missing", [], None),
    ]
    result = docker.run("python", code, tests)
    verdicts = [t.verdict for t in result.tests]
    assert verdicts == [Verdict.AC, Verdict.AC, Verdict.WA, Verdict.RE], result


def test_verdicts_function_call_result_must_be_json(docker) -> None:
    result = docker.run("python", "def f():\n    return {1, 2}\n", [CallTest("f", [], [1, 2])])
    assert result.verdict is Verdict.WA
    assert "not JSON" in result.reason


def test_verdicts_assert_tests(docker) -> None:
    code = "def add(a, b):\n    return a + b\n"
    tests = [
        AssertTest("assert add(1, 2) == 3\nassert add(-1, 1) == 0\n"),
        AssertTest("def check(candidate):\n    assert candidate(2, 2) == 5\ncheck(add)\n"),
        AssertTest("raise KeyError('k')\n"),
    ]
    result = docker.run("python", code, tests)
    assert [t.verdict for t in result.tests] == [Verdict.AC, Verdict.WA, Verdict.RE]


def test_verdicts_function_tests_need_a_harness(docker) -> None:
    from sandbox.errors import InvalidSubmissionError

    with pytest.raises(InvalidSubmissionError, match="stdin/stdout"):
        docker.run("c", "int main(){}", [CallTest("f", [], 1)])


def test_verdicts_cpu_time_counts_not_waiting(docker) -> None:
    # Sleeping 1.2 s under a 1 s CPU limit is fine while the wall limit (3 s) is not reached.
    limits = Limits(time_s=1, wall_time_s=3)
    result = docker.run("python", "import time; time.sleep(1.2); print('x')", [ECHO], limits)
    assert result.verdict is Verdict.AC, result.reason
