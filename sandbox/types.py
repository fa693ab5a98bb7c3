"""The sandbox's values: a program, its tests, its limits, and what running them gave."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    """The outcome of one test or of a whole submission."""

    AC = "AC"  # accepted
    WA = "WA"  # wrong answer (or a failed assertion)
    TLE = "TLE"  # time limit exceeded (CPU time, or wall time for a program that waits)
    MLE = "MLE"  # memory limit exceeded
    OLE = "OLE"  # output limit exceeded
    RE = "RE"  # runtime error: non-zero exit, a signal, an exception, no completion report
    CE = "CE"  # compile error (the compiler's message is in the result)
    SE = "SE"  # sandbox error: the sandbox failed; never the program's fault


@dataclass(frozen=True)
class Program:
    """Source code in one of the languages of sandbox.languages."""

    language: str
    code: str


@dataclass(frozen=True)
class StdioTest:
    """Feed stdin, compare stdout (outside the sandbox) with the rules of sandbox.compare."""

    stdin: str
    expected_stdout: str


@dataclass(frozen=True)
class CallTest:
    """Call fn_name(*args) (or Solution().fn_name); the result is compared as JSON."""

    fn_name: str
    args: list[Any]
    expected: Any


@dataclass(frozen=True)
class AssertTest:
    """Run test_code after the solution in the same namespace; passing means no exception."""

    test_code: str


Test = StdioTest | CallTest | AssertTest


@dataclass(frozen=True)
class Limits:
    """Per-test limits; the compile step has its own (compile_time_s, compile_memory_mb)."""

    time_s: float = 2.0  # CPU time per test
    memory_mb: int = 256
    output_bytes: int = 1 << 20  # stdout (and stderr) past this is OLE
    wall_time_s: float | None = None  # default: 2 * time_s + 1 (a program that sleeps is TLE)
    compile_time_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.time_s <= 60:
            raise ValueError(f"time_s must be in (0, 60], got {self.time_s}")
        if not 16 <= self.memory_mb <= 8192:
            raise ValueError(f"memory_mb must be in [16, 8192], got {self.memory_mb}")
        if not 0 < self.output_bytes <= 64 << 20:
            raise ValueError(f"output_bytes must be in (0, 64 MiB], got {self.output_bytes}")
        if self.wall_time_s is not None and self.wall_time_s < self.time_s:
            raise ValueError("wall_time_s must be at least time_s")

    @property
    def wall_s(self) -> float:
        return self.wall_time_s if self.wall_time_s is not None else 2 * self.time_s + 1


@dataclass(frozen=True)
class TestResult:
    """One test's outcome. stdout/stderr are truncated for display (see DISPLAY_BYTES)."""

    __test__ = False  # not a pytest test class

    verdict: Verdict
    time_s: float  # CPU time of the program
    wall_s: float
    memory_kb: int  # peak resident set size
    stdout: str
    stderr: str
    reason: str = ""
    exit_code: int | None = None
    signal: int | None = None


@dataclass(frozen=True)
class RunResult:
    """A submission's outcome: the first failing verdict (or AC), counts and every test run."""

    verdict: Verdict
    passed: int
    total: int
    tests: tuple[TestResult, ...] = field(default_factory=tuple)
    compile_output: str = ""
    reason: str = ""

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0
