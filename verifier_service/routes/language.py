"""``POST /v1/language``: the share of each text written in its target language."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from verifier_service.engine.language import Scope
from verifier_service.errors import VerifierError
from verifier_service.grading import Grader
from verifier_service.routes.deps import GraderDep, SettingsDep, admitted
from verifier_service.schemas import (
    LanguageRequest,
    LanguageResponse,
    LanguageResultModel,
    to_item_error,
)
from verifier_service.wire import UnicodeCheckedRoute

router = APIRouter(route_class=UnicodeCheckedRoute)


@router.post("/v1/language")
async def language(
    body: LanguageRequest, grader: GraderDep, settings: SettingsDep
) -> LanguageResponse:
    with admitted(grader, settings, len(body.items), body):
        scope = Scope(body.scope)
        results = await asyncio.gather(*(_one(grader, i.text, i.target, scope) for i in body.items))
        return LanguageResponse(results=list(results))


async def _one(grader: Grader, text: str, target: str, scope: Scope) -> LanguageResultModel:
    try:
        result = await grader.score_language(text, target, scope=scope)
    except VerifierError as exc:
        return LanguageResultModel(error=to_item_error(exc, grader, "language"))
    return LanguageResultModel(
        score=result.score,
        counts=result.counts,
        total_words=result.total_words,
        reason=result.reason,
    )
