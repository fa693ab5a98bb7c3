"""The service as a Ray Serve application: one deployment, each replica a whole service.

A replica is the FastAPI app of :func:`verifier_service.app.create_app` with its own grading
process pool and its own sandbox container pool on its node; Ray Serve's proxy spreads HTTP
requests over the replicas, and trainers inside the cluster call them through a handle
(:meth:`VerifierDeployment.handle_request`, used by ``RewardClient`` for ``serve://APP`` URLs)
without a socket in between. Code submissions reach only replicas whose sandbox is ready
(:mod:`verifier_service.ray_sandbox`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx
import ray
from fastapi import FastAPI
from prometheus_client import Gauge
from ray import serve
from ray.serve.metrics import Gauge as RayGauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.types import Limits, Program, RunResult, Test
from verifier_service.app import create_app
from verifier_service.errors import SandboxError
from verifier_service.grading import Grader
from verifier_service.ray_sandbox import (
    READY_STAT,
    RUN_METHOD,
    SandboxAwareRouter,
    sandbox_ready,
    start_replica_sandbox,
)
from verifier_service.settings import Settings

logger = logging.getLogger(__name__)

DEPLOYMENT_NAME = "VerifierDeployment"
_METRICS_PERIOD_S = 1.0
_REPLICA_COUNT_PERIOD_S = 5.0


@dataclass(frozen=True)
class ServeOptions:
    """How the deployment is laid out on the cluster. Every field is checked when built."""

    app_name: str = "verifier"
    """The Serve application's name: ``serve://verifier`` for RewardClient."""
    replicas: int = 1
    """Replicas at start (fixed when ``max_replicas`` is None; the lower bound otherwise)."""
    max_replicas: int | None = None
    """Upper bound of autoscaling on ongoing requests; None: a fixed number of replicas."""
    target_ongoing_requests: float = 4.0
    """Autoscaling aims at this many requests in flight per replica (a trainer's chunks)."""
    max_ongoing_requests: int = 16
    """Requests a replica takes at once; more wait in the handle's queue (then 503 from the
    proxy past ``max_queued_requests``)."""
    max_queued_requests: int = 256
    """Requests waiting for a replica before Serve answers 503 (retryable)."""
    num_cpus: float = 1.0
    """CPUs Ray reserves per replica (its grading workers and sandbox containers run on
    them)."""
    sandbox_containers: int = 0
    """Warm sandbox containers per replica; 0: the backend's default (one per core, >= 2)."""
    max_replicas_per_node: int | None = None
    """At most this many replicas on one node (1: one per node). None: Serve's spreading."""
    routing_stats_period_s: float = 2.0
    """How often each replica tells the router whether its sandbox is ready."""
    health_check_period_s: float = 5.0
    """How often Serve checks a replica (its grading pool must be alive)."""

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError(f"replicas must be >= 1, got {self.replicas}")
        if self.max_replicas is not None and self.max_replicas < self.replicas:
            raise ValueError(f"max_replicas ({self.max_replicas}) is below replicas")
        if self.num_cpus <= 0 or self.sandbox_containers < 0:
            raise ValueError("num_cpus must be > 0 and sandbox_containers >= 0")

    def deployment_options(self) -> dict[str, Any]:
        """Keyword arguments of ``serve.deployment(...).options``."""
        options: dict[str, Any] = {
            "name": DEPLOYMENT_NAME,
            "max_ongoing_requests": self.max_ongoing_requests,
            "max_queued_requests": self.max_queued_requests,
            "ray_actor_options": {"num_cpus": self.num_cpus},
            "health_check_period_s": self.health_check_period_s,
            "request_router_config": {
                "request_router_class": SandboxAwareRouter,
                "request_routing_stats_period_s": self.routing_stats_period_s,
            },
        }
        if self.max_replicas_per_node is not None:
            options["max_replicas_per_node"] = self.max_replicas_per_node
        if self.max_replicas is None:
            options["num_replicas"] = self.replicas
        else:
            options["autoscaling_config"] = {
                "min_replicas": self.replicas,
                "initial_replicas": self.replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": self.target_ongoing_requests,
            }
        return options


@serve.ingress()
class VerifierDeployment:
    """One replica: the service's app, its grading pool and its sandbox on this node."""

    def __init__(self, settings: Settings, sandbox_containers: int = 0) -> None:
        self._settings = settings
        self._containers = sandbox_containers
        self._app: FastAPI | None = None
        self._local: httpx.AsyncClient | None = None

    def __serve_build_asgi_app__(self) -> FastAPI:
        # The app's own lifespan starts no sandbox: the replica starts one that knows the
        # cluster (Docker on this node, else forwarding to replicas that have it).
        app = create_app(self._settings.model_copy(update={"sandbox_backend": "none"}))
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with inner(app):
                grader: Grader = app.state.grader
                box = await start_replica_sandbox(
                    self._settings, containers=self._containers, forward=self._forward
                )
                # The audit re-runs sampled code items where the grader runs them.
                grader.sandbox = app.state.auditor.sandbox = box
                reporter = asyncio.ensure_future(_report_metrics(app, _identity()))
                try:
                    yield
                finally:
                    reporter.cancel()
                    with suppress(asyncio.CancelledError):
                        await reporter
                    if self._local is not None:
                        await self._local.aclose()
                    if box is not None:
                        await box.close()

        app.router.lifespan_context = lifespan
        app.add_middleware(_ReplicaHeaders, identity=_identity())
        self._app = app
        return app

    @property
    def _grader(self) -> Grader | None:
        return getattr(self._app.state, "grader", None) if self._app is not None else None

    async def handle_request(
        self, method: str, path: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> dict[str, Any]:
        """One request through the app in this process: same routes, limits, auth, errors."""
        if self._local is None:
            transport = httpx.ASGITransport(app=self._app, client=("ray-handle", 0))  # type: ignore[arg-type]
            self._local = httpx.AsyncClient(transport=transport, base_url="http://replica")
        reply = await self._local.request(method, path, headers=list(headers), content=body)
        return {
            "status": reply.status_code,
            "headers": list(reply.headers.items()),
            "body": reply.content,
        }

    async def run_sandboxed(
        self,
        program: Program,
        tests: list[Test],
        limits: Limits,
        *,
        stop_on_first_failure: bool = False,
        float_tolerance: float | None = None,
    ) -> RunResult:
        """Run one submission in this replica's own sandbox (never forwarded again)."""
        grader = self._grader
        box = grader.sandbox if grader is not None else None
        if box is None or not sandbox_ready(box):
            raise SandboxError("this replica has no ready sandbox")
        return await box.run(
            program,
            tests,
            limits,
            stop_on_first_failure=stop_on_first_failure,
            float_tolerance=float_tolerance,
        )

    def record_routing_stats(self) -> dict[str, Any]:
        grader = self._grader
        return {READY_STAT: grader is not None and sandbox_ready(grader.sandbox)}

    def check_health(self) -> None:
        grader = self._grader
        if grader is not None and not grader.pool.active:
            raise RuntimeError("the grading process pool is down")

    def identity(self) -> dict[str, Any]:
        """Where this replica runs and what it has: for operators and tests."""
        grader = self._grader
        box = grader.sandbox if grader is not None else None
        labels = getattr(box.backend, "labels", {}) if box is not None else {}
        return {
            **_identity(),
            "pid": os.getpid(),
            "sandbox_ready": sandbox_ready(box),
            "sandbox_backend": box.backend.name if box is not None else "none",
            "sandbox_pool": labels.get("io.verifier.sandbox.pool"),
        }

    async def _forward(self, *args: Any, **kwargs: Any) -> RunResult:
        context = serve.get_replica_context()
        handle = serve.get_deployment_handle(context.deployment, context.app_name)
        result: RunResult = await getattr(handle, RUN_METHOD).remote(*args, **kwargs)
        return result


def _identity() -> dict[str, str]:
    context = serve.get_replica_context()
    return {
        "replica": context.replica_id.unique_id,
        "node": ray.get_runtime_context().get_node_id(),
    }


class _ReplicaHeaders:
    """Names the replica and node that answered (X-Verifier-Replica, X-Verifier-Node)."""

    def __init__(self, app: ASGIApp, identity: dict[str, str]) -> None:
        self.app = app
        self.extra = [
            (b"x-verifier-replica", identity["replica"].encode()),
            (b"x-verifier-node", identity["node"].encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.extra]
            await send(message)

        await self.app(scope, receive, send_named)


async def _report_metrics(app: FastAPI, identity: dict[str, str]) -> None:
    """Mirror the replica's load into /metrics (labelled) and into Ray's metrics."""
    registry = app.state.metrics.registry
    labels = ["replica", "node"]
    in_flight = Gauge(
        "verifier_replica_in_flight_items",
        "Items this replica is grading now.",
        labels,
        registry=registry,
    ).labels(**identity)
    replicas = Gauge(
        "verifier_serve_replicas",
        "Running replicas of the Serve deployment.",
        registry=registry,
    )
    ray_in_flight = RayGauge(
        "verifier_replica_in_flight_items", description="Items a replica is grading now."
    )
    ray_queue = RayGauge(
        "verifier_replica_queue_depth", description="Items a replica's grading workers hold."
    )
    since_count = _REPLICA_COUNT_PERIOD_S
    while True:
        admitted = registry.get_sample_value("verifier_admitted_items") or 0.0
        queued = registry.get_sample_value("verifier_queue_depth") or 0.0
        in_flight.set(admitted)
        ray_in_flight.set(admitted)
        ray_queue.set(queued)
        if since_count >= _REPLICA_COUNT_PERIOD_S:
            since_count = 0.0
            with suppress(Exception):  # the controller is briefly away during recovery
                replicas.set(await asyncio.to_thread(_running_replicas))
        await asyncio.sleep(_METRICS_PERIOD_S)
        since_count += _METRICS_PERIOD_S


def _running_replicas() -> int:
    context = serve.get_replica_context()
    app = serve.status().applications[context.app_name]
    states = app.deployments[context.deployment].replica_states
    return sum(count for state, count in states.items() if state == "RUNNING")


def build_application(settings: Settings, options: ServeOptions) -> Any:
    """The bound Serve application (``serve.run`` it, or name it in a Serve config file)."""
    deployment: Any = serve.deployment(VerifierDeployment)
    deployment = deployment.options(**options.deployment_options())
    return deployment.bind(settings, options.sandbox_containers)


def app_from_args(args: dict[str, Any]) -> Any:
    """The application for a Serve config file (KubeRay's ``serveConfigV2``)::

        import_path: verifier_service.ray_serve:app_from_args
        args: {replicas: 2, max_replicas: 8, num_cpus: 4}

    ``args`` are :class:`ServeOptions` fields; the service's settings come from ``VERIFIER_*``
    variables where Serve builds the app (the head node).
    """
    return build_application(Settings(), ServeOptions(**args))


def deploy(settings: Settings, options: ServeOptions, *, proxy_location: str = "EveryNode") -> Any:
    """Start Serve's proxies on ``settings.host:port`` and run the app; returns its handle."""
    serve.start(
        http_options={"host": settings.host, "port": settings.port},
        proxy_location=proxy_location,
    )
    return serve.run(build_application(settings, options), name=options.app_name, route_prefix="/")
