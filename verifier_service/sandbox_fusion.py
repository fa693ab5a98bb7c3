"""SandboxFusion's ``POST /run_code`` on the service's sandbox, for clients written for it.

verl (``reward.sandbox_fusion.url``), ROLL and other trainers run code rewards by posting a
program and its stdin to SandboxFusion and comparing stdout themselves. This route takes the
same request and answers the same shapes, so those clients point here unchanged; the program
runs in the service's sandbox pool (warm hardened containers), not as a plain subprocess.

The models mirror SandboxFusion's (``sandbox/server/sandbox_api.py``, ``sandbox/runners/
types.py``) field for field: they are a peer's protocol, kept here whole rather than in
``schemas.py``, which holds the service's own contract. What is mapped, and how:

- languages: SandboxFusion's names, run by the sandbox's language of the same kind (``nodejs``
  by node); a SandboxFusion language the sandbox has no runtime for answers ``SandboxError``;
- limits: ``run_timeout`` is the wall and CPU limit, ``compile_timeout`` the compiler's,
  ``memory_limit_MB`` the memory limit (-1: ``VERIFIER_RUN_CODE_MEMORY_MB``); values are
  clamped to the sandbox's bounds (60 s, 16..8192 MB);
- outcomes, as SandboxFusion reports them: a compile error is ``Failed`` with the compiler's
  non-zero ``compile_result``; a program that ran is ``run_result.status: Finished`` with its
  return code (a signal as a negative code, as Python reports it), ``Success`` when that is 0;
  a time limit is ``TimeLimitExceeded`` (``Failed``); memory and output limits are a non-zero
  return code (``Failed``) with the reason on stderr;
- a sandbox fault, an input the sandbox refuses, ``files``/``fetch_files`` (not supported) or
  an output too long to return whole is ``SandboxError``, never a program's failure.
"""

from __future__ import annotations

import enum
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from sandbox import Limits, Program, RunResult, Sandbox, StdioTest, TestResult, Verdict
from sandbox.jobs import DISPLAY_BYTES
from verifier_service.errors import ServiceOverloadedError, VerifierError, sandbox_boundary
from verifier_service.wire import UnicodeCheckedRoute

router = APIRouter(tags=["SandboxFusion"], route_class=UnicodeCheckedRoute)

SandboxFusionLanguage = Literal[
    "python", "cpp", "nodejs", "go", "go_test", "java", "php", "csharp", "bash", "typescript",
    "sql", "rust", "cuda", "lua", "R", "perl", "D_ut", "ruby", "scala", "julia", "pytest",
    "junit", "kotlin_script", "jest", "verilog", "python_gpu", "lean", "swift", "racket",
]  # fmt: skip
# SandboxFusion's language -> the sandbox's; the others have no runtime in the sandbox image.
LANGUAGES = {
    "python": "python",
    "cpp": "cpp",
    "nodejs": "javascript",
    "go": "go",
    "java": "java",
    "bash": "bash",
    "rust": "rust",
}
_COMPILED = {"cpp", "go", "java", "rust"}  # SandboxFusion reports a compile_result for these
_MAX_TIME_S, _MIN_TIME_S = 60.0, 0.05
_MIN_MEMORY_MB, _MAX_MEMORY_MB = 16, 8192


class RunCodeRequest(BaseModel):
    compile_timeout: float = Field(10, description="Compile time limit in seconds.")
    run_timeout: float = Field(10, description="Run time limit in seconds.")
    memory_limit_MB: int = Field(-1, description="Memory limit; -1: the service's default.")
    code: str
    stdin: str | None = None
    language: SandboxFusionLanguage
    files: dict[str, str | None] = Field(default_factory=dict, description="Not supported.")
    fetch_files: list[str] = Field(default_factory=list, description="Not supported.")
    args: list[str] = Field(default_factory=list, description="Ignored (pytest arguments).")


class RunStatus(enum.StrEnum):
    Success = "Success"
    Failed = "Failed"
    SandboxError = "SandboxError"


class CommandRunStatus(enum.StrEnum):
    Finished = "Finished"
    Error = "Error"
    TimeLimitExceeded = "TimeLimitExceeded"


class CommandRunResult(BaseModel):
    status: CommandRunStatus
    execution_time: float | None = None
    return_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None


class RunCodeResponse(BaseModel):
    status: RunStatus
    message: str = ""
    compile_result: CommandRunResult | None = None
    run_result: CommandRunResult | None = None
    executor_pod_name: str | None = None
    files: dict[str, str] = Field(default_factory=dict)


def sandbox_error(message: str) -> RunCodeResponse:
    return RunCodeResponse(status=RunStatus.SandboxError, message=message)


def run_limits(request: RunCodeRequest, *, default_memory_mb: int) -> Limits:
    """SandboxFusion's limits within the sandbox's bounds."""
    run_s = min(max(request.run_timeout, _MIN_TIME_S), _MAX_TIME_S)
    compile_s = min(max(request.compile_timeout, _MIN_TIME_S), _MAX_TIME_S)
    memory = default_memory_mb if request.memory_limit_MB <= 0 else request.memory_limit_MB
    memory = min(max(memory, _MIN_MEMORY_MB), _MAX_MEMORY_MB)
    return Limits(time_s=run_s, wall_time_s=run_s, memory_mb=memory, compile_time_s=compile_s)


def run_code_response(result: RunResult, language: str) -> RunCodeResponse:
    """SandboxFusion's answer for the sandbox's result of one run (one stdin test)."""
    if result.verdict is Verdict.SE:
        return sandbox_error(f"the sandbox failed: {result.reason}")
    compiled = language in _COMPILED
    if result.verdict is Verdict.CE:
        failed = CommandRunResult(
            status=CommandRunStatus.Finished, return_code=1, stdout="", stderr=result.compile_output
        )
        return RunCodeResponse(status=RunStatus.Failed, compile_result=failed)
    if not result.tests:
        return sandbox_error(f"the sandbox returned no run: {result.reason}")
    test = result.tests[0]
    if max(len(test.stdout), len(test.stderr)) >= DISPLAY_BYTES:
        return sandbox_error(
            f"the output is longer than {DISPLAY_BYTES} characters, which this service does not "
            "return whole: a comparison of it would be wrong"
        )
    compile_ok = (
        CommandRunResult(status=CommandRunStatus.Finished, return_code=0, stdout="", stderr="")
        if compiled
        else None
    )
    run = _command_result(test)
    success = run.status is CommandRunStatus.Finished and run.return_code == 0
    return RunCodeResponse(
        status=RunStatus.Success if success else RunStatus.Failed,
        compile_result=compile_ok,
        run_result=run,
    )


def _command_result(test: TestResult) -> CommandRunResult:
    if test.verdict is Verdict.TLE:
        return CommandRunResult(
            status=CommandRunStatus.TimeLimitExceeded,
            execution_time=test.wall_s,
            stdout=test.stdout,
            stderr=test.stderr,
        )
    code = test.exit_code if test.exit_code is not None else -(test.signal or 9)
    stderr = test.stderr
    if test.verdict in (Verdict.MLE, Verdict.OLE):
        code = code or 1  # the limit stopped the program: never a clean exit
        stderr = f"{stderr}\n{test.reason}".lstrip("\n") if test.reason else stderr
    return CommandRunResult(
        status=CommandRunStatus.Finished,
        execution_time=test.wall_s,
        return_code=code,
        stdout=test.stdout,
        stderr=stderr,
    )


@router.post("/run_code")
async def run_code(body: RunCodeRequest, request: Request) -> RunCodeResponse:
    """Run one program on its stdin, as SandboxFusion's /run_code does."""
    box: Sandbox | None = request.app.state.grader.sandbox
    language = LANGUAGES.get(body.language)
    if box is None:
        return sandbox_error("code execution is off on this server (VERIFIER_SANDBOX_BACKEND)")
    if language is None:
        known = ", ".join(sorted(LANGUAGES))
        return sandbox_error(f"language {body.language!r} is not available here; known: {known}")
    if body.files or body.fetch_files:
        return sandbox_error("files and fetch_files are not supported by this service")
    settings = request.app.state.settings
    limits = run_limits(body, default_memory_mb=settings.run_code_memory_mb)
    grader = request.app.state.grader
    try:
        with grader.admit(1):
            grader.check_size("code", body.code)
            program = Program(language, body.code)
            with sandbox_boundary():
                result = await box.run(program, [StdioTest(body.stdin or "", "")], limits)
    except ServiceOverloadedError:
        raise  # 429 with Retry-After, as for every endpoint
    except VerifierError as exc:
        return sandbox_error(f"{exc.code}: {exc}")
    return run_code_response(result, body.language)
