"""``POST /v1/preference``: which of two answers to a prompt is better, per general component.

Helpfulness compares the two final summaries, harmlessness the two whole responses. A judge is
asked twice, the second time with the answers swapped, and a preference that changes with the
order is a tie; a reward model scores each answer once (its score does not depend on order).
Used by ``verifier filter --best-of-n`` to pick one answer per prompt in rejection sampling.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from verifier_service.engine.format import FormatStyle
from verifier_service.engine.general import Comparison
from verifier_service.errors import VerifierError
from verifier_service.grading import Grader
from verifier_service.schemas import (
    PreferenceRequest,
    PreferenceResponse,
    PreferenceResult,
    PreferenceVerdict,
    to_item_error,
)

__all__ = ["router"]

router = APIRouter()


@router.post("/v1/preference")
async def preference(body: PreferenceRequest, request: Request) -> PreferenceResponse:
    grader: Grader = request.app.state.grader
    settings = grader.settings
    if len(body.items) > settings.max_items:
        raise HTTPException(
            status_code=413,
            detail=f"{len(body.items)} items in one request; the limit is {settings.max_items} "
            "(VERIFIER_MAX_ITEMS): split the batch",
        )
    with grader.admit(len(body.items)):
        results: list[PreferenceResult | None] = [None] * len(body.items)
        asked: list[int] = []
        for index, item in enumerate(body.items):
            try:
                grader.check_size("prompt", item.prompt)
                for response in item.responses:
                    grader.check_size("response", response)
            except VerifierError as exc:
                results[index] = PreferenceResult(error=to_item_error(exc))
            else:
                asked.append(index)
        if grader.general is None:
            raise HTTPException(status_code=503, detail="general rewards are off on this server")
        by_style: dict[FormatStyle, list[int]] = {}
        for index in asked:
            style = FormatStyle(body.items[index].format_style or settings.format_style)
            by_style.setdefault(style, []).append(index)
        for style, indices in by_style.items():
            triples = [
                (body.items[i].prompt, body.items[i].responses[0], body.items[i].responses[1])
                for i in indices
            ]
            outcomes = await grader.general.prefer(triples, style=style)
            for index, outcome in zip(indices, outcomes, strict=True):
                results[index] = PreferenceResult(
                    components={name: _verdict(c) for name, c in outcome.components.items()}
                )
        return PreferenceResponse(results=[r for r in results if r is not None])


def _verdict(comparison: Comparison | VerifierError) -> PreferenceVerdict:
    if isinstance(comparison, VerifierError):
        return PreferenceVerdict(error=to_item_error(comparison))
    values = list(comparison.values) if comparison.values is not None else None
    return PreferenceVerdict(
        preferred=comparison.preferred, reason=comparison.reason, values=values
    )
