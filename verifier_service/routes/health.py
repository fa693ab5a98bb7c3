"""Probes, versions, metrics and the audit report: nothing here grades."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from verifier_service.audit import Auditor
from verifier_service.backends import judge_status, sandbox_status
from verifier_service.grading import Grader
from verifier_service.metrics import Metrics
from verifier_service.routes.deps import AUTHED
from verifier_service.schemas import Health, Readiness
from verifier_service.version import versions
from verifier_service.wire import UnicodeCheckedRoute

router = APIRouter(route_class=UnicodeCheckedRoute)


@router.get("/healthz")
async def healthz() -> Health:
    return Health()


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    grader: Grader = request.app.state.grader
    judge = await judge_status(grader.judge_backend)
    sandbox = sandbox_status(grader.sandbox)
    ready = grader.pool.active and judge["ready"] and sandbox["ready"]
    body = Readiness(
        ready=ready,
        workers={
            "processes": grader.pool.workers,
            "in_flight": grader.pool.in_flight,
            "waiting": grader.pool.waiting,
        },
        cache={
            "entries": len(grader.cache),
            "bytes": grader.cache.bytes,
            "max_bytes": grader.cache.max_bytes,
        },
        judge=judge,
        sandbox=sandbox,
        general=grader.general.status() if grader.general is not None else {},
    )
    return JSONResponse(status_code=200 if ready else 503, content=body.model_dump())


@router.get("/v1/version", dependencies=AUTHED)
async def version() -> dict[str, Any]:
    """The versions that decide grading outcomes (see docs/grading-changes.md)."""
    return versions()


@router.get("/metrics", dependencies=AUTHED)
async def prometheus_metrics(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/audit", dependencies=AUTHED)
async def audit(request: Request) -> dict[str, Any]:
    """The online audit so far: agreements, disagreements, estimated error rates."""
    auditor: Auditor = request.app.state.auditor
    return auditor.report()
