"""Helpers of the Ray tests: the deployed service, its replicas, leftover sandbox containers.

Ray is imported here, first, with every Ray process on loopback; the cluster is conftest.py's.
"""

from __future__ import annotations

import os

# Every Ray process on loopback: read when Ray is imported, and inherited by the raylets.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import asyncio
import socket
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from pydantic.warnings import PydanticDeprecatedSince20

from sandbox.backends.docker import LABEL
from sandbox.backends.engine import DockerEngine

with warnings.catch_warnings():
    # Ray Serve 2.60's own pydantic models still use V1-style Field(...) keywords.
    warnings.simplefilter("ignore", PydanticDeprecatedSince20)
    import ray._private.ray_constants as ray_constants
    from ray import serve
    from ray.cluster_utils import Cluster

    from verifier_service.ray_serve import ServeOptions, deploy

# Ray may have been imported before the variable was set (by another test module): loopback
# all the same. The raylets read the variable itself.
ray_constants.ENABLE_RAY_CLUSTER = False

__all__ = [
    "APP",
    "NODE",
    "NO_DOCKER",
    "Cluster",
    "RayService",
    "ServeOptions",
    "deploy",
    "free_port",
    "leftover_containers",
    "serve",
]


APP = "verifier"
NO_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
NODE = {"num_cpus": 1, "object_store_memory": 80 * 1024**2}


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
