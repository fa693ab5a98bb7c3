"""A real multi-node Ray cluster on this machine, with the service deployed on it.

Three raylets: a head that runs only Serve's controller and proxy (no CPUs), a node with Docker
and a node whose workers see no Docker daemon (``DOCKER_HOST`` points nowhere), each with one
CPU, so the two replicas land one per node. Everything is torn down at the end, even on failure:
the application (its worker pools and sandbox containers), Ray and every raylet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import ray
from ray_support import (
    APP,
    NO_DOCKER,
    NODE,
    Cluster,
    RayService,
    ServeOptions,
    deploy,
    free_port,
    leftover_containers,
    serve,
)

from verifier_service.settings import Settings


@pytest.fixture(scope="module")
def ray_service() -> Iterator[RayService]:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": False,
            "object_store_memory": NODE["object_store_memory"],
        },
    )
    service: RayService | None = None
    try:
        docker_node = cluster.add_node(**NODE)
        bare_node = cluster.add_node(**NODE, env_vars=NO_DOCKER)
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
