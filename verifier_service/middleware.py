"""ASGI middleware of the service: request ids and access logs, rate limits, the body limit,
and per-endpoint request metrics."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier_service.logs import request_id
from verifier_service.metrics import Metrics

access_log = logging.getLogger("verifier.access")

# Probes and scrapes are never rate-limited.
_UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class _BodyTooLarge(Exception):
    pass


async def _send_json(
    send: Send,
    status: int,
    body: Mapping[str, object],
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """Answers 413 to a body over ``max_bytes``, declared or streamed, before it is buffered."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = {
            "detail": f"request body over {self.max_bytes} bytes (VERIFIER_MAX_BODY_BYTES)",
        }
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_json(send, 413, message)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return event

        async def tracking_send(event: Message) -> None:
            nonlocal started
            started = started or event["type"] == "http.response.start"
            await send(event)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_json(send, 413, message)


class MetricsMiddleware:
    """Counts requests and observes latency per route template (bounded label values)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(event: Message) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]
            await send(event)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.request_seconds.labels(endpoint).observe(time.perf_counter() - started)


class RequestLogMiddleware:
    """Gives every request an id (``X-Request-ID``, taken or made), logs one JSON line per
    request, and returns the id in the response so a client can quote it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # A client's id is kept only if it is short and printable: it ends up in logs.
        rid = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(event: Message) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]
                event["headers"] = [*event.get("headers", []), (b"x-request-id", rid.encode())]
            await send(event)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                },
            )
            request_id.reset(token)


class RateLimitMiddleware:
    """A token bucket per API key (or per client address without one): ``rate`` requests per
    second with bursts of ``burst``; past it, 429 with Retry-After."""

    def __init__(self, app: ASGIApp, *, rate: float, burst: int, metrics: Metrics) -> None:
        self.app = app
        self.rate = rate
        self.burst = burst
        self.metrics = metrics
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, last time)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or scope["path"] in _UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        caller = _caller(scope)
        now = time.monotonic()
        tokens, last = self._buckets.get(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[caller] = (tokens, now)
            wait_s = max(1, int((1.0 - tokens) / self.rate + 0.999))
            self.metrics.rejections.labels("rate_limited").inc()
            await _send_json(
                send,
                429,
                {"detail": f"rate limit of {self.rate:g} requests/s exceeded; retry later"},
                [(b"retry-after", str(wait_s).encode())],
            )
            return
        self._buckets[caller] = (tokens - 1.0, now)
        if len(self._buckets) > 100_000:  # forget idle callers rather than grow without bound
            self._buckets.clear()
        await self.app(scope, receive, send)


def _caller(scope: Scope) -> str:
    authorization = dict(scope["headers"]).get(b"authorization")
    if authorization:
        # Keys are never kept in memory longer than needed, nor logged: only a digest.
        return "key:" + hashlib.sha256(authorization).hexdigest()[:16]
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")
