"""The FastAPI application: state, middleware and error handlers; the routes are in
:mod:`verifier_service.routes` (and the protocol modules), included here in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from verifier_service import __version__
from verifier_service.audit import Auditor
from verifier_service.auth import ApiKeys
from verifier_service.backends import (
    build_judge_backend,
    start_judge_backend,
    start_sandbox,
)
from verifier_service.errors import ServiceOverloadedError
from verifier_service.general import GeneralRewards
from verifier_service.grading import Grader
from verifier_service.metrics import Metrics
from verifier_service.middleware import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    RateLimitMiddleware,
    RequestLogMiddleware,
)
from verifier_service.preference_api import router as preference_router
from verifier_service.routes import code_run, health, judge, language, math_verify, rewards
from verifier_service.routes.deps import AUTHED
from verifier_service.sandbox_fusion import router as sandbox_fusion_router
from verifier_service.settings import Settings
from verifier_service.slime import router as slime_router
from verifier_service.wire import SafeJSONResponse, UnicodeCheckedRoute
from verifier_service.workers import WorkerPool


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the worker pool starts with it and stops when it shuts down."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = WorkerPool(
            workers=settings.workers,
            memory_mb=settings.worker_memory_mb,
            cache_bytes=settings.worker_cache_bytes,
        )
        judge = build_judge_backend(settings)
        general = GeneralRewards.from_settings(settings, judge, metrics)
        sandbox = None
        auditor = None
        try:
            await pool.start()
            await start_judge_backend(judge)
            await general.load()
            sandbox = await start_sandbox(settings)
            grader = Grader(settings, pool, metrics, judge, sandbox, general=general)
            metrics.caches.source = grader.cache_stats
            auditor = Auditor(
                settings,
                metrics,
                judge=None if judge is None else partial(grader.judge, mode="judge"),
                sandbox=sandbox,
                busy=lambda: pool.in_flight > 0,
            )
            await auditor.start()
            grader.auditor = app.state.auditor = auditor
            app.state.grader = grader
            yield
        finally:
            await general.aclose()
            if auditor is not None:
                await auditor.close()
            # In-flight requests have finished (uvicorn drains them first); now the workers,
            # the judge's connections and every sandbox container go.
            pool.close()
            if judge is not None:
                await judge.aclose()
            if sandbox is not None:
                await sandbox.close()

    app = FastAPI(
        title="verifier-service",
        version=__version__,
        summary="Rule-based rewards for RL on language models: math, format, OpenRLHF.",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
    )
    app.router.route_class = UnicodeCheckedRoute
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.api_keys = ApiKeys(settings.api_keys, settings.api_keys_file)
    # Added innermost first: a request meets the log, then the rate limit, the body limit and
    # the metrics, then the routes.
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimitMiddleware,
        rate=settings.rate_limit_per_s,
        burst=settings.rate_limit_burst,
        metrics=metrics,
    )
    app.add_middleware(RequestLogMiddleware)

    @app.exception_handler(ServiceOverloadedError)
    async def _overloaded(request: Request, exc: ServiceOverloadedError) -> JSONResponse:
        return JSONResponse(
            status_code=429, content={"detail": exc.message}, headers={"Retry-After": "1"}
        )

    @app.exception_handler(RequestValidationError)
    async def _readable_422(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            + (f" ({error['ctx']['error']})" if error["type"] == "json_invalid" else "")
            for error in exc.errors()
        ]
        # The offending input is left out: it may be raw bytes (not JSON) or very large.
        detail = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
        return JSONResponse(
            status_code=422,
            content={"message": "; ".join(problems), "detail": jsonable_encoder(detail)},
        )

    app.include_router(sandbox_fusion_router, dependencies=AUTHED)
    app.include_router(slime_router, dependencies=AUTHED)
    app.include_router(health.router)  # the probes are open; the rest asks for a key
    for router in (
        math_verify.router,
        rewards.router,
        code_run.router,
        language.router,
        judge.router,
        preference_router,
        rewards.openrlhf_router,
    ):
        app.include_router(router, dependencies=AUTHED)
    return app
