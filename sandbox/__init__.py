"""Code execution for model-written programs, usable without the service.

    from sandbox import Sandbox, Program, StdioTest, Limits

    async with Sandbox() as box:          # docker if a daemon answers, else the local backend
        result = await box.run(Program("python", "print(input())"),
                               [StdioTest(stdin="hi\\n", expected_stdout="hi\\n")],
                               Limits(time_s=2, memory_mb=256))
    result.verdict, result.passed, result.total, result.score

`run_sync` does the same from synchronous code (one sandbox per call: slow to start).
"""

from __future__ import annotations

from sandbox.api import Backend, Sandbox, run_sync
from sandbox.types import (
    AssertTest,
    CallTest,
    Limits,
    Program,
    RunResult,
    StdioTest,
    Test,
    TestResult,
    Verdict,
)

__all__ = [
    "AssertTest",
    "Backend",
    "CallTest",
    "Limits",
    "Program",
    "RunResult",
    "Sandbox",
    "StdioTest",
    "Test",
    "TestResult",
    "Verdict",
    "run_sync",
]
