"""``POST /v1/code/run``: run each program (or the one in a response) on its tests."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from verifier_service.audit import REQUEST_AUDIT_RATE
from verifier_service.errors import VerifierError
from verifier_service.grading import Grader
from verifier_service.routes.deps import GraderDep, SettingsDep, admitted
from verifier_service.schemas import (
    CodeItem,
    CodeRunRequest,
    CodeRunResponse,
    CodeRunResult,
    CodeTestResult,
    to_item_error,
)
from verifier_service.wire import UnicodeCheckedRoute

router = APIRouter(route_class=UnicodeCheckedRoute)


@router.post("/v1/code/run")
async def code_run(
    body: CodeRunRequest, grader: GraderDep, settings: SettingsDep
) -> CodeRunResponse:
    REQUEST_AUDIT_RATE.set(body.audit_rate)
    with admitted(grader, settings, len(body.items), body):
        results = await asyncio.gather(*(_one(grader, item) for item in body.items))
        return CodeRunResponse(results=list(results))


async def _one(grader: Grader, item: CodeItem) -> CodeRunResult:
    try:
        outcome = await grader.run_code(
            language=item.language,
            code=item.code,
            response=item.response,
            tests=item.tests,
            limits=item.limits,
            stop_on_first_failure=item.stop_on_first_failure,
        )
    except VerifierError as exc:
        return CodeRunResult(error=to_item_error(exc, grader, "code"))
    result = outcome.result
    extracted = outcome.program if item.response is not None else None
    if result is None:  # no program in the response
        return CodeRunResult(passed=0, total=len(item.tests), score=0.0, reason=outcome.reason)
    return CodeRunResult(
        verdict=str(result.verdict),
        passed=result.passed,
        total=result.total,
        score=result.score,
        tests=[
            CodeTestResult(
                verdict=str(t.verdict),
                time_s=t.time_s,
                stdout=t.stdout,
                stderr=t.stderr,
                reason=t.reason,
            )
            for t in result.tests
        ],
        compile_output=result.compile_output,
        reason=result.reason or outcome.reason,
        extracted=extracted,
    )
