"""A real multi-node Ray cluster on this machine, with the service deployed on it.

Three raylets: a head that runs only Serve's controller and proxy (no CPUs), a node with Docker
and a node whose workers see no Docker daemon (``DOCKER_HOST`` points nowhere), each with one
CPU, so the two replicas land one per node. Everything is torn down at the end, even on failure:
the application (its worker pools and sandbox containers), Ray and every raylet.
"""

from __future__ import annotations

import os

# Every Ray process on loopback: read when Ray is imported, and inherited by the raylets.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import asyncio
import contextlib
import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic.warnings import PydanticDeprecatedSince20

from sandbox.backends.docker import LABEL
from sandbox.backends.engine import DockerEngine
from verifier_service.settings import Settings

with warnings.catch_warnings():
    # Ray Serve 2.60's own pydantic models still use V1-style Field(...) keywords.
    warnings.simplefilter("ignore", PydanticDeprecatedSince20)
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from verifier_service.ray_serve import ServeOptions, deploy

APP = "verifier"
NO_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
_NODE = {"num_cpus": 1, "object_store_memory": 80 * 1024**2}


@dataclass
class RayService:
    """The cluster, its nodes and the deployed application."""

    cluster: Cluster
    docker_node: Any
    bare_node: Any
    url: str
    handle: Any
    pools: set[str] = field(default_factory=set)
    """Sandbox pool ids of every replica seen: no container of theirs may outlive the app."""

    def replicas(self, *, expected: int, timeout_s: float = 90.0) -> dict[str, dict[str, Any]]:
        """Identities of the running replicas, by replica id, once ``expected`` answered."""
        seen: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _running(APP) == expected:
                seen.clear()
                for _ in range(8 * expected):
                    identity = self.handle.identity.remote().result(timeout_s=30)
                    seen[identity["replica"]] = identity
                if len(seen) == expected:
                    self.pools |= {i["sandbox_pool"] for i in seen.values() if i["sandbox_pool"]}
                    return seen
            time.sleep(1)
        raise AssertionError(f"{expected} replicas never ran; last seen {seen}")


def _running(app: str) -> int:
    status = serve.status().applications.get(app)
    if status is None:
        return 0
    return sum(d.replica_states.get("RUNNING", 0) for d in status.deployments.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def leftover_containers(pools: set[str], *, remove: bool = False) -> list[str]:
    """Containers of these sandbox pools that still exist (removed first with ``remove``)."""

    async def _list() -> list[str]:
        engine = DockerEngine()
        try:
            found = []
            for pool in pools:
                for container in await engine.list_containers({f"{LABEL}.pool": pool}):
                    if remove:
                        await engine.remove_container(container["Id"])
                    else:
                        found.append(container["Id"])
            return found
        finally:
            await engine.close()

    return asyncio.run(_list())


@pytest.fixture(scope="module")
def ray_service() -> Iterator[RayService]:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": False,
            "object_store_memory": _NODE["object_store_memory"],
        },
    )
    service: RayService | None = None
    try:
        docker_node = cluster.add_node(**_NODE)
        bare_node = cluster.add_node(**_NODE, env_vars=NO_DOCKER)
        ray.init(address=cluster.address)
        settings = Settings(port=free_port(), workers=1)
        options = ServeOptions(
            app_name=APP,
            replicas=2,
            num_cpus=1,
            sandbox_containers=1,
            max_replicas_per_node=1,
            routing_stats_period_s=1.0,
            health_check_period_s=2.0,
        )
        handle = deploy(settings, options, proxy_location="HeadOnly")
        service = RayService(
            cluster, docker_node, bare_node, f"http://127.0.0.1:{settings.port}", handle
        )
        yield service
    finally:
        with contextlib.suppress(Exception):
            serve.shutdown()
        with contextlib.suppress(Exception):
            ray.shutdown()
        cluster.shutdown()
        if service is not None:  # a failed test may have left its containers: never keep them
            leftover_containers(service.pools, remove=True)
