"""SandboxFusion's statuses from the sandbox's verdicts (the cases a real run rarely shows)."""

from __future__ import annotations

import pytest

from sandbox import Limits, RunResult, TestResult, Verdict
from verifier_service.sandbox_fusion import RunCodeRequest, run_code_response, run_limits


def _ran(verdict: Verdict, *, exit_code: int | None = 0, signal: int | None = None) -> RunResult:
    test = TestResult(verdict, 0.1, 0.2, 1000, "out\n", "", "memory limit", exit_code, signal)
    return RunResult(verdict, 0, 1, (test,))


def test_sandbox_fusion_sandbox_fault_is_sandbox_error() -> None:
    reply = run_code_response(RunResult(Verdict.SE, 0, 1, (), reason="container died"), "python")
    assert reply.status == "SandboxError"
    assert "container died" in reply.message
    assert reply.run_result is None


@pytest.mark.parametrize(
    ("verdict", "exit_code", "signal", "return_code"),
    [
        (Verdict.RE, None, 11, -11),
        (Verdict.MLE, None, 9, -9),
        (Verdict.MLE, 0, None, 1),
        (Verdict.WA, 0, None, 0),
    ],
    ids=["signal", "mle-killed", "mle-clean-exit", "ran"],
)
def test_sandbox_fusion_return_codes(
    verdict: Verdict, exit_code: int | None, signal: int | None, return_code: int
) -> None:
    reply = run_code_response(_ran(verdict, exit_code=exit_code, signal=signal), "python")
    assert reply.run_result is not None
    assert reply.run_result.status == "Finished"
    assert reply.run_result.return_code == return_code
    assert reply.status == ("Success" if return_code == 0 else "Failed")


def test_sandbox_fusion_limits_are_clamped() -> None:
    request = RunCodeRequest(code="", language="python", run_timeout=600, memory_limit_MB=-1)
    assert run_limits(request, default_memory_mb=1024) == Limits(
        time_s=60, wall_time_s=60, memory_mb=1024, compile_time_s=10
    )
