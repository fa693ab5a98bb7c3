"""What every route shares: the app's grader and settings, the API key check, admission."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from verifier_service.auth import ApiKeys
from verifier_service.grading import Grader
from verifier_service.schemas import BatchRequest, OpenRLHFRequest
from verifier_service.settings import Settings


def get_grader(request: Request) -> Grader:
    grader: Grader = request.app.state.grader
    return grader


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def require_api_key(request: Request) -> None:
    keys: ApiKeys = request.app.state.api_keys
    if not keys.required:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not keys.accepts(token.strip()):
        request.app.state.metrics.rejections.labels("unauthorized").inc()
        raise HTTPException(
            status_code=401,
            detail="missing or wrong API key: send 'Authorization: Bearer KEY'",
            headers={"WWW-Authenticate": "Bearer"},
        )


GraderDep = Annotated[Grader, Depends(get_grader)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AUTHED = [Depends(require_api_key)]
"""The dependencies of every route but the probes (/healthz, /readyz)."""

_Scheduled = BatchRequest | OpenRLHFRequest


@contextmanager
def admitted(
    grader: Grader, settings: Settings, count: int, body: _Scheduled | None = None
) -> Iterator[None]:
    """Refuse a batch over the item limit (413) or one the queue has no room for (429); serve
    it with the body's deadline and priority."""
    if count > settings.max_items:
        raise HTTPException(
            status_code=413,
            detail=f"{count} items in one request; the limit is {settings.max_items} "
            "(VERIFIER_MAX_ITEMS): split the batch",
        )
    deadline_s = body.deadline_s if body is not None else None
    with grader.admit(count, deadline_s=deadline_s, priority=body.priority if body else 0):
        yield
