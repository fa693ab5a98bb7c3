"""Code items on a Ray cluster whose nodes differ: only replicas with a ready sandbox run code.

Each replica of the Ray Serve deployment tries to start its own Docker sandbox on its node.
Where that fails (no daemon, no image), the replica still grades math, format and language,
reports its sandbox as not ready in ``/readyz``, and hands each code submission to the
deployment's ``run_sandboxed`` method. :class:`SandboxAwareRouter` sends those calls (and the
whole of ``/v1/code/run`` requests) only to replicas whose routing stats say their sandbox is
ready, so a mixed ``/v1/rewards`` batch can land on any replica and still be graded right.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

from ray.serve.request_router import FIFOMixin, PendingRequest, RequestRouter, RunningReplica

from sandbox import Sandbox
from sandbox.backends.docker import DockerBackend, DockerSettings
from sandbox.errors import SandboxError
from sandbox.types import Limits, Program, RunResult, Test
from verifier_service.settings import Settings

logger = logging.getLogger(__name__)

RUN_METHOD = "run_sandboxed"
"""The deployment method that runs one submission in the replica's own sandbox."""
READY_STAT = "sandbox_ready"
"""The routing-stats key a replica sets when its own sandbox can run code."""
_CODE_ROUTES = ("/v1/code/run",)


class _Unserved:
    """Stands where a container pool would be: /readyz reads ``serving`` and ``stats()``."""

    serving = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def stats(self) -> dict[str, int | str]:
        return {"size": 0, "last_error": self.reason}


class ForwardingBackend:
    """A sandbox backend that runs nothing here: each submission goes to a ready replica.

    ``submit`` is the deployment's ``run_sandboxed`` through a Serve handle; the router picks
    a replica whose sandbox is ready. Any failure on the way is a sandbox fault (``SE``),
    never the program's.
    """

    name = "forward"

    def __init__(self, submit: Callable[..., Any], reason: str) -> None:
        self._submit = submit
        self.pool = _Unserved(reason)

    async def start(self) -> None:
        return None

    async def run(
        self,
        program: Program,
        tests: Sequence[Test],
        limits: Limits,
        *,
        stop_on_first_failure: bool = False,
        float_tolerance: float | None = None,
    ) -> RunResult:
        try:
            result: RunResult = await self._submit(
                program,
                list(tests),
                limits,
                stop_on_first_failure=stop_on_first_failure,
                float_tolerance=float_tolerance,
            )
        except Exception as exc:  # a Ray error, or the other replica's SandboxError
            raise SandboxError(f"no replica with a ready sandbox ran the code: {exc}") from exc
        return result

    async def close(self) -> None:
        return None


async def start_replica_sandbox(
    settings: Settings, *, containers: int, forward: Callable[..., Any]
) -> Sandbox | None:
    """This replica's sandbox: Docker on this node, else forwarding to replicas that have it.

    ``local`` and ``none`` keep their plain meaning. ``auto`` and ``docker`` never fall back to
    the local backend here: on a cluster, code runs where Docker is, not with less isolation.
    """
    choice = settings.sandbox_backend
    if choice == "none":
        return None
    if choice == "local":
        box = Sandbox("local")
        await box.start()
        return box
    backend = DockerBackend(DockerSettings(pool_size=containers))
    box = Sandbox(backend)
    try:
        await box.start()
    except SandboxError as exc:
        await backend.engine.close()
        logger.warning("no docker sandbox on this node (%s): code goes to other replicas", exc)
        box = Sandbox(ForwardingBackend(forward, f"no docker sandbox on this node: {exc}"))
        await box.start()
    return box


def sandbox_ready(box: Sandbox | None) -> bool:
    """Whether this replica runs code itself (what the router needs to know)."""
    if box is None:
        return False
    pool = getattr(box.backend, "pool", None)
    return bool(pool.serving) if pool is not None else True


class SandboxAwareRouter(FIFOMixin, RequestRouter):
    """Power of two choices (the shorter queue of two random replicas), among the replicas
    with a ready sandbox for code calls.

    When no replica reports a ready sandbox, code calls go anywhere: the replica answers each
    item with a sandbox error rather than the request waiting forever.
    """

    async def choose_replicas(
        self,
        candidate_replicas: list[RunningReplica],
        pending_request: PendingRequest | None = None,
    ) -> list[list[RunningReplica]]:
        if pending_request is not None and _runs_code(pending_request):
            ready = [r for r in candidate_replicas if r.routing_stats.get(READY_STAT)]
            if ready:
                candidate_replicas = ready
        if not candidate_replicas:
            return []
        return [random.sample(candidate_replicas, k=min(2, len(candidate_replicas)))]


def _runs_code(request: PendingRequest) -> bool:
    metadata = request.metadata
    return metadata.call_method == RUN_METHOD or metadata.route in _CODE_ROUTES
