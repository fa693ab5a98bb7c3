"""``POST /v1/math/verify``: is each response's final answer equal to its reference?"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from verifier_service.audit import REQUEST_AUDIT_RATE
from verifier_service.engine.math import MathConfig
from verifier_service.errors import VerifierError
from verifier_service.grading import Grader
from verifier_service.routes.deps import GraderDep, SettingsDep, admitted
from verifier_service.schemas import (
    MathVerifyRequest,
    MathVerifyResponse,
    MathVerifyResult,
    to_item_error,
)
from verifier_service.wire import UnicodeCheckedRoute

router = APIRouter(route_class=UnicodeCheckedRoute)


@router.post("/v1/math/verify")
async def math_verify(
    body: MathVerifyRequest, grader: GraderDep, settings: SettingsDep
) -> MathVerifyResponse:
    REQUEST_AUDIT_RATE.set(body.audit_rate)
    with admitted(grader, settings, len(body.items), body):
        config = grader.math_config(body.options.last_number_fallback)
        results = await asyncio.gather(
            *(_one(grader, i.response, i.reference, config) for i in body.items)
        )
        return MathVerifyResponse(results=list(results))


async def _one(
    grader: Grader, response: str, reference: str, config: MathConfig
) -> MathVerifyResult:
    try:
        result = await grader.grade_math(response, reference, config)
    except VerifierError as exc:
        return MathVerifyResult(error=to_item_error(exc, grader, "math"))
    grader.metrics.items.labels("math", "correct" if result.correct else "incorrect").inc()
    return MathVerifyResult(
        correct=result.correct,
        extracted=result.extracted,
        reason=result.reason,
        rule=result.rule,
        parsed_prediction=result.parsed_prediction,
        parsed_reference=result.parsed_reference,
    )
