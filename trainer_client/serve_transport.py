"""``serve://APP`` URLs: the reward client's requests go to Ray Serve replicas through a handle.

A trainer that already runs inside the Ray cluster (verl's reward-loop workers, OpenRLHF's and
TRL's Ray actors) names the Serve application instead of an HTTP address. The request is the
same bytes, headers and path as over HTTP; it reaches a replica through
``DeploymentHandle.handle_request`` (no proxy, no socket) and runs through the same app there,
so batching, limits, API keys and per-item errors are exactly those of HTTP.

A replica that dies under a request (its node lost), a full queue or a controller that is
briefly away raise a transport error here, which the client retries like a dropped connection.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx

SCHEME = "serve"
_DEPLOYMENT = "VerifierDeployment"


def serve_url(app_name: str, deployment: str = _DEPLOYMENT) -> str:
    """The URL RewardClient takes for a Serve application (and its deployment)."""
    return f"{SCHEME}://{app_name}" + ("" if deployment == _DEPLOYMENT else f"/{deployment}")


def handle_url(handle: Any) -> str:
    """The URL of a ``DeploymentHandle`` (``serve.get_app_handle(...)`` and the like)."""
    return serve_url(handle.app_name, handle.deployment_name)


class ServeHandleTransport(httpx.AsyncBaseTransport):
    """An httpx transport for ``serve://APP[/DEPLOYMENT]`` URLs (requires ``ray[serve]``)."""

    def __init__(self) -> None:
        self._handles: dict[tuple[str, str], Any] = {}

    def _handle(self, url: httpx.URL) -> Any:
        parts = urlsplit(str(url))
        app = parts.hostname or ""
        path = parts.path.lstrip("/")
        # serve://app/v1/rewards or serve://app/Deployment/v1/rewards
        deployment = _DEPLOYMENT if path.startswith("v1/") or not path else path.split("/")[0]
        key = (app, deployment)
        if key not in self._handles:
            from ray import serve

            self._handles[key] = serve.get_deployment_handle(deployment, app)
        return self._handles[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = "/" + request.url.path.lstrip("/")
        handle = self._handle(request.url)
        if handle.deployment_name != _DEPLOYMENT:
            path = path.removeprefix(f"/{handle.deployment_name}")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
        timeout = request.extensions.get("timeout", {}).get("read")
        body = await request.aread()
        try:
            async with asyncio.timeout(timeout):
                reply = await handle.handle_request.remote(request.method, path, headers, body)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no answer from {request.url} in {timeout} s") from exc
        except Exception as exc:  # Ray's: a dead replica, back-pressure, a lost controller
            raise httpx.RemoteProtocolError(
                f"{type(exc).__name__}: {exc}", request=request
            ) from exc
        return httpx.Response(
            reply["status"], headers=reply["headers"], content=reply["body"], request=request
        )
