"""Turn a submission into the runner's job, and the runner's reports into verdicts.

Both backends share this: they only move frames between the host and a runner. Expected
outputs stay here: the job carries code, stdin and call arguments, never an expected value.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sandbox.compare import compare_json, compare_stdout
from sandbox.errors import InvalidSubmissionError
from sandbox.languages import Language, expand_command, get_language
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

DISPLAY_BYTES = 4096  # stdout/stderr kept in results, for people to read
COMPILE_OUTPUT_BYTES = 64 * 1024
MAX_CODE_BYTES = 1 << 20
FILE_SIZE_BYTES = 64 << 20  # RLIMIT_FSIZE: no single file larger than this
# Wall time all of a submission's tests may take together (compilation apart); the tests
# left when it runs out are not run and the submission is TLE. No item holds a worker longer.
MAX_SUBMISSION_WALL_S = 120.0


def read_runner_source() -> str:
    """The runner program's source, sent to each sandbox as `python3 -c` text."""
    return resources.files("sandbox.runner").joinpath("runner.py").read_text()


def _read_harness_source(name: str) -> str:
    return resources.files("sandbox.runner").joinpath(f"harness_{name}.py").read_text()


def _read_checker_source(name: str) -> str:
    """The trusted checker the runner forks for each function-call or assert test."""
    return resources.files("sandbox.runner").joinpath(f"checker_{name}.py").read_text()


@dataclass(frozen=True)
class Job:
    """A submission ready for a runner, with what is needed to judge its reports."""

    payload: dict[str, Any]
    language: Language
    tests: tuple[Test, ...]
    limits: Limits
    float_tolerance: float | None
    stop_on_first_failure: bool

    @property
    def tests_wall_s(self) -> float:
        """The wall budget the runner gives the tests together."""
        return min(self.limits.wall_s * len(self.tests), MAX_SUBMISSION_WALL_S)

    @property
    def budget_s(self) -> float:
        """Wall time after which the host gives up on the runner (a sandbox fault)."""
        slack = min(3.0 * len(self.tests), 60.0)  # spawn, kill and cleanup per test
        return self.limits.compile_time_s + self.tests_wall_s + slack + 15.0


def _test_limits(limits: Limits, *, address_space: bool) -> dict[str, Any]:
    return {
        "cpu_s": limits.time_s,
        "wall_s": limits.wall_s,
        "output_bytes": limits.output_bytes,
        "file_bytes": FILE_SIZE_BYTES,
        "memory_bytes": limits.memory_mb << 20,
        "stack_bytes": max(limits.memory_mb, 64) << 20,
        "address_space_bytes": (limits.memory_mb << 20) if address_space else None,
    }


def _compile_limits(limits: Limits) -> dict[str, Any]:
    return {
        "cpu_s": limits.compile_time_s,
        "wall_s": limits.compile_time_s,
        "output_bytes": COMPILE_OUTPUT_BYTES,
        "file_bytes": FILE_SIZE_BYTES,
        "stack_bytes": 64 << 20,
        "address_space_bytes": None,
    }


def _runner_test(test: Test, language: Language, run_argv: list[str]) -> dict[str, Any]:
    if isinstance(test, StdioTest):
        return {"argv": run_argv, "stdin": test.stdin}
    if language.harness is None:
        raise InvalidSubmissionError(
            f"{language.name} takes stdin/stdout tests only; function-call and assert tests "
            "need a harness (python has one)"
        )
    argv = ["python3", "-c", _read_harness_source(language.harness), language.source_file]
    if isinstance(test, CallTest):
        try:
            args = json.loads(json.dumps(test.args))
        except (TypeError, ValueError) as exc:
            raise InvalidSubmissionError(f"args of {test.fn_name} are not JSON: {exc}") from exc
        return {"argv": argv, "harness": {"kind": "call", "fn_name": test.fn_name, "args": args}}
    return {"argv": argv, "harness": {"kind": "assert", "test_code": test.test_code}}


def build_job(
    program: Program,
    tests: Sequence[Test],
    limits: Limits,
    *,
    stop_on_first_failure: bool = False,
    float_tolerance: float | None = None,
    address_space: bool = False,
) -> Job:
    """The runner's job for a submission; InvalidSubmissionError for what cannot be run at all."""
    language = get_language(program.language)
    _check_text("code", program.code)
    for test in tests:
        _check_text("test", json.dumps(test.__dict__, ensure_ascii=False, default=str))
    if len(program.code.encode()) > MAX_CODE_BYTES:
        raise InvalidSubmissionError(f"code is larger than {MAX_CODE_BYTES} bytes")
    if not tests:
        raise InvalidSubmissionError("a submission needs at least one test")
    run_argv = expand_command(language.run, memory_mb=limits.memory_mb)
    compile_step = None
    if language.compile is not None:
        compile_step = {
            "argv": expand_command(language.compile, memory_mb=limits.memory_mb),
            "limits": _compile_limits(limits),
        }
    payload: dict[str, Any] = {
        "files": {language.source_file: program.code},
        "compile": compile_step,
        "tests": [_runner_test(test, language, run_argv) for test in tests],
        "limits": _test_limits(
            limits, address_space=address_space and language.address_space_limit
        ),
        "stop_on_first_failure": stop_on_first_failure,
    }
    if language.harness is not None and not all(isinstance(t, StdioTest) for t in tests):
        payload["checker_source"] = _read_checker_source(language.harness)
    job = Job(payload, language, tuple(tests), limits, float_tolerance, stop_on_first_failure)
    payload["budget_s"] = job.tests_wall_s
    return job


def _check_text(name: str, text: str) -> None:
    """Text that goes into the sandbox must be valid Unicode (no lone surrogates)."""
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise InvalidSubmissionError(
            f"{name} is not valid Unicode: a lone surrogate at position {exc.start}"
        ) from None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _runtime_verdict(report: dict[str, Any], job: Job) -> tuple[Verdict, str] | None:
    """The verdict that limits, signals and exit codes decide, before any comparison."""
    limits = job.limits
    if report["stopped_by"] == "output":
        return Verdict.OLE, f"output exceeded {limits.output_bytes} bytes"
    if report["stopped_by"] == "memory":
        return Verdict.MLE, f"memory exceeded {limits.memory_mb} MB"
    if report["stopped_by"] == "time":
        return Verdict.TLE, f"wall time exceeded {limits.wall_s:g}s"
    if report["oom_killed"] or report["max_rss_kb"] > limits.memory_mb * 1024:
        return Verdict.MLE, f"memory exceeded {limits.memory_mb} MB"
    sig = report["signal"]
    # RLIMIT_CPU sends SIGXCPU, then SIGKILL at the hard limit (which is above time_s).
    if sig == signal.SIGXCPU or report["cpu_s"] > limits.time_s:
        return Verdict.TLE, f"CPU time exceeded {limits.time_s:g}s"
    failed = sig is not None or report["exit_code"] != 0
    if failed and any(marker in report["stderr"] for marker in job.language.oom_markers):
        return Verdict.MLE, "the program ran out of memory"
    if sig is not None:
        return Verdict.RE, f"killed by {_signal_name(sig)}"
    return None


# The fields each harness status must carry, with their types. A program can write a report
# of its own (it shares the harness's interpreter), so nothing in one is trusted unchecked.
_REPORT_FIELDS: dict[str, dict[str, type]] = {
    "passed": {},
    "failed": {"error": str},
    "error": {"error": str},
    "unserialisable": {"type": str},
    "returned": {"value": str},
}


def _checked_report(harness: Any) -> dict[str, Any] | None:
    """The harness's report when it is well-formed, else None (the program's RE)."""
    if not isinstance(harness, dict):
        return None
    fields = _REPORT_FIELDS.get(harness.get("status"))  # type: ignore[arg-type]
    if fields is None:
        return None
    if not all(isinstance(harness.get(key), kind) for key, kind in fields.items()):
        return None
    return harness


def _returned_value(harness: dict[str, Any]) -> tuple[bool, Any]:
    try:
        return True, json.loads(harness["value"])
    except (ValueError, RecursionError):
        return False, None


def _harness_verdict(
    report: dict[str, Any], test: CallTest | AssertTest, job: Job
) -> tuple[Verdict, str]:
    harness = report.get("harness")
    if harness is None or (isinstance(harness, dict) and harness.get("status") == "ended"):
        code = report["exit_code"]
        return Verdict.RE, f"the program ended (exit code {code}) before the test completed"
    harness = _checked_report(harness)
    if harness is None:
        return Verdict.RE, "the test report is malformed"
    status = harness["status"]
    if status == "passed" and isinstance(test, AssertTest):
        return Verdict.AC, ""
    if status == "failed":
        return Verdict.WA, _last_line(harness.get("error", "assertion failed"))
    if status == "unserialisable":
        return Verdict.WA, f"the result ({harness.get('type')}) is not JSON"
    if status == "returned" and isinstance(test, CallTest):
        parsed, value = _returned_value(harness)
        if not parsed:
            return Verdict.RE, "the test report is malformed"
        try:
            comparison = compare_json(value, test.expected, float_tolerance=job.float_tolerance)
        except RecursionError:
            return Verdict.WA, "the result is nested too deeply to compare"
        return (Verdict.AC, "") if comparison.equal else (Verdict.WA, comparison.reason)
    return Verdict.RE, _last_line(harness.get("error", f"harness status {status}"))


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def judge_test(report: dict[str, Any], test: Test, job: Job) -> TestResult:
    """One test's verdict from the runner's report and the expected output."""
    decided = _runtime_verdict(report, job)
    if decided is None:
        if isinstance(test, StdioTest):
            if report["exit_code"] != 0:
                decided = Verdict.RE, f"exit code {report['exit_code']}"
            else:
                comparison = compare_stdout(
                    report["stdout"], test.expected_stdout, float_tolerance=job.float_tolerance
                )
                decided = (Verdict.AC, "") if comparison.equal else (Verdict.WA, comparison.reason)
        else:
            decided = _harness_verdict(report, test, job)
    verdict, reason = decided
    detail = _last_line(report["stderr"])
    if verdict is Verdict.RE and reason.startswith("exit code") and detail:
        reason = f"{reason}: {detail}"
    return TestResult(
        verdict=verdict,
        time_s=report["cpu_s"],
        wall_s=report["wall_s"],
        memory_kb=report["max_rss_kb"],
        stdout=report["stdout"][:DISPLAY_BYTES],
        stderr=report["stderr"][:DISPLAY_BYTES],
        reason=reason,
        exit_code=report["exit_code"],
        signal=report["signal"],
    )


class Collector:
    """Consumes a runner's frames for one job and builds its RunResult."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.results: list[TestResult] = []
        self.compile_output = ""
        self.compile_failed = ""
        self.fault = ""
        self.finished = False
        self.clean = True
        self.budget_exhausted = False
        self.left = ""  # what the runner found left after clean-up, if anything

    def feed(self, frame: dict[str, Any]) -> bool:
        """Take one frame; True when the runner should be asked to stop (a failed test)."""
        try:
            return self._feed(frame)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # The runner is ours, so a frame it cannot have sent is a sandbox fault.
            self.fault = f"malformed runner frame ({type(exc).__name__})"
            return True

    def _feed(self, frame: dict[str, Any]) -> bool:
        kind = frame.get("type")
        if kind == "compile":
            self.compile_output = (frame["stderr"] + frame["stdout"])[:COMPILE_OUTPUT_BYTES]
            if frame["stopped_by"] == "time":
                self.compile_failed = f"compilation exceeded {self.job.limits.compile_time_s:g}s"
            elif frame["stopped_by"] or frame["exit_code"] != 0:
                self.compile_failed = _last_line(self.compile_output) or "compilation failed"
        elif kind == "test":
            index = frame["index"]
            if index != len(self.results) or index >= len(self.job.tests):
                self.fault = f"runner reported test {index} out of order"
                return True
            result = judge_test(frame, self.job.tests[index], self.job)
            self.results.append(result)
            return self.job.stop_on_first_failure and result.verdict is not Verdict.AC
        elif kind == "budget":
            self.budget_exhausted = True
        elif kind == "error":
            self.fault = str(frame.get("message", "runner error"))
        elif kind == "done":
            self.finished = True
            self.clean = bool(frame.get("clean"))
            self.left = str(frame.get("left") or "")
        return False

    def result(self) -> RunResult:
        total = len(self.job.tests)
        if self.fault or not self.finished:
            reason = self.fault or "the sandbox ended before the submission finished"
            return RunResult(Verdict.SE, 0, total, tuple(self.results), self.compile_output, reason)
        if self.compile_failed:
            return RunResult(Verdict.CE, 0, total, (), self.compile_output, self.compile_failed)
        passed = sum(result.verdict is Verdict.AC for result in self.results)
        failing = next((r for r in self.results if r.verdict is not Verdict.AC), None)
        if failing is None and self.budget_exhausted:
            budget = self.job.tests_wall_s
            reason = f"the tests ran past the submission's wall budget of {budget:g}s"
            return RunResult(
                Verdict.TLE, passed, total, tuple(self.results), self.compile_output, reason
            )
        if failing is None and len(self.results) < total:
            return RunResult(
                Verdict.SE,
                passed,
                total,
                tuple(self.results),
                self.compile_output,
                "the runner stopped before running every test",
            )
        verdict = failing.verdict if failing else Verdict.AC
        reason = failing.reason if failing else ""
        return RunResult(verdict, passed, total, tuple(self.results), self.compile_output, reason)
