"""``POST /v1/rewards`` (the native reward API) and ``POST /get_reward`` (OpenRLHF's)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from verifier_service.audit import REQUEST_AUDIT_RATE
from verifier_service.general import batch_report
from verifier_service.openrlhf import openrlhf_response, reward_items
from verifier_service.routes.deps import GraderDep, SettingsDep, admitted
from verifier_service.schemas import (
    OpenRLHFRequest,
    OpenRLHFResponse,
    RewardItem,
    RewardsRequest,
    RewardsResponse,
)
from verifier_service.wire import UnicodeCheckedRoute

router = APIRouter(route_class=UnicodeCheckedRoute)
openrlhf_router = APIRouter(route_class=UnicodeCheckedRoute)


@router.post("/v1/rewards")
async def rewards(
    body: RewardsRequest, grader: GraderDep, settings: SettingsDep
) -> RewardsResponse:
    REQUEST_AUDIT_RATE.set(body.audit_rate)
    with admitted(grader, settings, len(body.items), body):
        config = grader.math_config(body.options.last_number_fallback)
        results = await grader.rewards(
            body.items,
            weights=body.weights,
            style=body.format_style,
            config=config,
            code_scoring=body.code_scoring,
        )
        report = batch_report([result.details for result in results])
        return RewardsResponse(results=results, general=report)


@openrlhf_router.post("/get_reward")
async def get_reward(
    body: OpenRLHFRequest, grader: GraderDep, settings: SettingsDep
) -> OpenRLHFResponse:
    with admitted(grader, settings, len(body.query), body):
        for name, values in (("prompts", body.prompts), ("labels", body.labels)):
            if values is not None and len(values) != len(body.query):
                raise HTTPException(
                    status_code=422,
                    detail=f"'{name}' has {len(values)} entries but 'query' has "
                    f"{len(body.query)}: they must match one to one",
                )
        if body.labels is None:
            raise HTTPException(status_code=422, detail="'labels' (the references) are required")
        items = reward_items(body, strip_suffixes=settings.openrlhf_suffixes)
        valid = [item for item in items if isinstance(item, RewardItem)]
        config = grader.math_config(None)
        graded = iter(await grader.rewards(valid, weights=None, style=None, config=config))
        return openrlhf_response(
            [next(graded) if isinstance(item, RewardItem) else item for item in items],
            failure_reward=settings.openrlhf_failure_reward,
        )
