"""The FastAPI application: routes, authentication and error mapping; no grading logic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from verifier_service import __version__
from verifier_service.audit import REQUEST_AUDIT_RATE, Auditor
from verifier_service.auth import ApiKeys
from verifier_service.backends import (
    build_judge_backend,
    judge_status,
    sandbox_status,
    start_judge_backend,
    start_sandbox,
)
from verifier_service.engine.judge import JudgeItem
from verifier_service.engine.language import Scope
from verifier_service.errors import ServiceOverloadedError, VerifierError
from verifier_service.general import GeneralRewards, batch_report
from verifier_service.grading import Grader
from verifier_service.metrics import Metrics
from verifier_service.middleware import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    RateLimitMiddleware,
    RequestLogMiddleware,
)
from verifier_service.openrlhf import openrlhf_response, reward_items
from verifier_service.preference_api import router as preference_router
from verifier_service.sandbox_fusion import router as sandbox_fusion_router
from verifier_service.schemas import (
    BatchRequest,
    CodeItem,
    CodeRunRequest,
    CodeRunResponse,
    CodeRunResult,
    CodeTestResult,
    Health,
    ItemError,
    JudgeRequest,
    JudgeResponse,
    JudgeResultModel,
    LanguageRequest,
    LanguageResponse,
    LanguageResultModel,
    MathVerifyRequest,
    MathVerifyResponse,
    MathVerifyResult,
    OpenRLHFRequest,
    OpenRLHFResponse,
    Readiness,
    RewardItem,
    RewardsRequest,
    RewardsResponse,
)
from verifier_service.settings import Settings
from verifier_service.slime import router as slime_router
from verifier_service.version import versions
from verifier_service.wire import SafeJSONResponse, UnicodeCheckedRoute
from verifier_service.workers import WorkerPool


def _grader(request: Request) -> Grader:
    grader: Grader = request.app.state.grader
    return grader


def _require_api_key(request: Request) -> None:
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


@contextmanager
def _admitted(
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


GraderDep = Annotated[Grader, Depends(_grader)]
_Scheduled = BatchRequest | OpenRLHFRequest
_JUDGE_FIELDS = ("question", "reference", "response")


def _judge_error(grader: Grader, exc: VerifierError) -> JudgeResultModel:
    grader.count_error("judge", exc)
    return JudgeResultModel(error=ItemError(**exc.as_dict()))


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

    authed = [Depends(_require_api_key)]
    app.include_router(sandbox_fusion_router, dependencies=authed)
    app.include_router(slime_router, dependencies=authed)

    @app.get("/healthz")
    async def healthz() -> Health:
        return Health()

    @app.get("/readyz")
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

    @app.get("/v1/version", dependencies=authed)
    async def version() -> dict[str, Any]:
        """The versions that decide grading outcomes (see docs/grading-changes.md)."""
        return versions()

    @app.get("/metrics", dependencies=authed)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/audit", dependencies=authed)
    async def audit(request: Request) -> dict[str, Any]:
        """The online audit so far: agreements, disagreements, estimated error rates."""
        auditor: Auditor = request.app.state.auditor
        return auditor.report()

    @app.post("/v1/math/verify", dependencies=authed)
    async def math_verify(body: MathVerifyRequest, grader: GraderDep) -> MathVerifyResponse:
        REQUEST_AUDIT_RATE.set(body.audit_rate)
        with _admitted(grader, settings, len(body.items), body):
            config = grader.math_config(body.options.last_number_fallback)

            async def one(response: str, reference: str) -> MathVerifyResult:
                try:
                    result = await grader.grade_math(response, reference, config)
                except VerifierError as exc:
                    grader.count_error("math", exc)
                    return MathVerifyResult(error=ItemError(**exc.as_dict()))
                grader.metrics.items.labels(
                    "math", "correct" if result.correct else "incorrect"
                ).inc()
                return MathVerifyResult(
                    correct=result.correct,
                    extracted=result.extracted,
                    reason=result.reason,
                    rule=result.rule,
                    parsed_prediction=result.parsed_prediction,
                    parsed_reference=result.parsed_reference,
                )

            results = await asyncio.gather(*(one(i.response, i.reference) for i in body.items))
            return MathVerifyResponse(results=list(results))

    @app.post("/v1/rewards", dependencies=authed)
    async def rewards(body: RewardsRequest, grader: GraderDep) -> RewardsResponse:
        REQUEST_AUDIT_RATE.set(body.audit_rate)
        with _admitted(grader, settings, len(body.items), body):
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

    @app.post("/v1/code/run", dependencies=authed)
    async def code_run(body: CodeRunRequest, grader: GraderDep) -> CodeRunResponse:
        REQUEST_AUDIT_RATE.set(body.audit_rate)
        with _admitted(grader, settings, len(body.items), body):

            async def one(item: CodeItem) -> CodeRunResult:
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
                    grader.count_error("code", exc)
                    return CodeRunResult(error=ItemError(**exc.as_dict()))
                result = outcome.result
                extracted = outcome.program if item.response is not None else None
                if result is None:  # no program in the response
                    return CodeRunResult(
                        passed=0, total=len(item.tests), score=0.0, reason=outcome.reason
                    )
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

            results = await asyncio.gather(*(one(item) for item in body.items))
            return CodeRunResponse(results=list(results))

    @app.post("/v1/language", dependencies=authed)
    async def language(body: LanguageRequest, grader: GraderDep) -> LanguageResponse:
        with _admitted(grader, settings, len(body.items), body):

            async def one(text: str, target: str) -> LanguageResultModel:
                try:
                    result = await grader.score_language(text, target, scope=Scope(body.scope))
                except VerifierError as exc:
                    grader.count_error("language", exc)
                    return LanguageResultModel(error=ItemError(**exc.as_dict()))
                return LanguageResultModel(
                    score=result.score,
                    counts=result.counts,
                    total_words=result.total_words,
                    reason=result.reason,
                )

            results = await asyncio.gather(*(one(i.text, i.target) for i in body.items))
            return LanguageResponse(results=list(results))

    @app.post("/v1/judge", dependencies=authed)
    async def judge(body: JudgeRequest, grader: GraderDep) -> JudgeResponse:
        with _admitted(grader, settings, len(body.items), body):
            results: list[JudgeResultModel | None] = [None] * len(body.items)
            asked: list[int] = []
            for index, item in enumerate(body.items):
                try:
                    for name in ("question", "reference", "response"):
                        grader.check_size(name, getattr(item, name))
                except VerifierError as exc:
                    results[index] = _judge_error(grader, exc)
                else:
                    asked.append(index)
            items = [JudgeItem(*(getattr(body.items[i], k) for k in _JUDGE_FIELDS)) for i in asked]
            try:
                verdicts = await grader.judge(items, mode=body.mode or settings.judge_mode)
            except VerifierError as exc:  # no judge configured: every item says so
                for index in asked:
                    results[index] = _judge_error(grader, exc)
            else:
                for index, verdict in zip(asked, verdicts, strict=True):
                    results[index] = JudgeResultModel(
                        correct=verdict.correct,
                        verdict=verdict.verdict,
                        raw=verdict.raw,
                        decided_by=verdict.decided_by,
                        reason=verdict.reason,
                        deterministic=verdict.deterministic,
                        error=ItemError(**verdict.error.as_dict()) if verdict.error else None,
                    )
            return JudgeResponse(results=[r for r in results if r is not None])

    app.include_router(preference_router, dependencies=authed)

    @app.post("/get_reward", dependencies=authed)
    async def get_reward(body: OpenRLHFRequest, grader: GraderDep) -> OpenRLHFResponse:
        with _admitted(grader, settings, len(body.query), body):
            for name, values in (("prompts", body.prompts), ("labels", body.labels)):
                if values is not None and len(values) != len(body.query):
                    raise HTTPException(
                        status_code=422,
                        detail=f"'{name}' has {len(values)} entries but 'query' has "
                        f"{len(body.query)}: they must match one to one",
                    )
            if body.labels is None:
                raise HTTPException(
                    status_code=422, detail="'labels' (the references) are required"
                )
            items = reward_items(body, strip_suffixes=settings.openrlhf_suffixes)
            valid = [item for item in items if isinstance(item, RewardItem)]
            config = grader.math_config(None)
            graded = iter(await grader.rewards(valid, weights=None, style=None, config=config))
            return openrlhf_response(
                [next(graded) if isinstance(item, RewardItem) else item for item in items],
                failure_reward=settings.openrlhf_failure_reward,
            )

    return app
