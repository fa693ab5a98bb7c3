"""``POST /v1/judge``: the judge's verdict on each (question, reference, response)."""

from __future__ import annotations

from fastapi import APIRouter

from verifier_service.engine.judge import JudgeItem
from verifier_service.errors import VerifierError
from verifier_service.routes.deps import GraderDep, SettingsDep, admitted
from verifier_service.schemas import JudgeRequest, JudgeResponse, JudgeResultModel, to_item_error
from verifier_service.wire import UnicodeCheckedRoute

router = APIRouter(route_class=UnicodeCheckedRoute)

_JUDGE_FIELDS = ("question", "reference", "response")


@router.post("/v1/judge")
async def judge(body: JudgeRequest, grader: GraderDep, settings: SettingsDep) -> JudgeResponse:
    with admitted(grader, settings, len(body.items), body):
        results: list[JudgeResultModel | None] = [None] * len(body.items)
        asked: list[int] = []
        for index, item in enumerate(body.items):
            try:
                for name in _JUDGE_FIELDS:
                    grader.check_size(name, getattr(item, name))
            except VerifierError as exc:
                results[index] = JudgeResultModel(error=to_item_error(exc, grader, "judge"))
            else:
                asked.append(index)
        items = [JudgeItem(*(getattr(body.items[i], k) for k in _JUDGE_FIELDS)) for i in asked]
        try:
            verdicts = await grader.judge(items, mode=body.mode or settings.judge_mode)
        except VerifierError as exc:  # no judge configured: every item says so
            for index in asked:
                results[index] = JudgeResultModel(error=to_item_error(exc, grader, "judge"))
        else:
            for index, verdict in zip(asked, verdicts, strict=True):
                results[index] = JudgeResultModel(
                    correct=verdict.correct,
                    verdict=verdict.verdict,
                    raw=verdict.raw,
                    decided_by=verdict.decided_by,
                    reason=verdict.reason,
                    deterministic=verdict.deterministic,
                    error=to_item_error(verdict.error) if verdict.error else None,
                )
        return JudgeResponse(results=[r for r in results if r is not None])
