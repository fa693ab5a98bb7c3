"""The KubeRay RayService: its pods are valid Kubernetes, its Serve config is valid to Ray Serve
itself and builds the real application, and its nodes are wired as the service needs."""

from __future__ import annotations

import copy
import importlib
import warnings
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic.warnings import PydanticDeprecatedSince20

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.30"  # native sidecars, as deploy/k8s

with warnings.catch_warnings():
    # Ray Serve 2.60's own pydantic models still use V1-style Field(...) keywords.
    warnings.simplefilter("ignore", PydanticDeprecatedSince20)
    from ray.serve import Application
    from ray.serve.schema import ServeDeploySchema


def _service() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "kuberay" / "rayservice.yaml").read_text())
    return document


def _groups() -> dict[str, dict[str, Any]]:
    cluster = _service()["spec"]["rayClusterConfig"]
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    return {"head": cluster["headGroupSpec"], **groups}


def _serve_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(_service()["spec"]["serveConfigV2"])
    return config


def _pod_template(template: dict[str, Any]) -> dict[str, Any]:
    """A group's pod template as a v1 PodTemplate, which the Kubernetes schema knows."""
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "verifier"},
        "template": template,
    }


@pytest.mark.parametrize("group", ["head", "sandbox", "cpu"])
def test_kuberay_pod_templates_are_valid_kubernetes(group: str) -> None:
    template = _groups()[group]["template"]
    kubernetes_validate.validate(_pod_template(template), KUBERNETES_VERSION, strict=True)


def test_kuberay_pod_validation_rejects_a_broken_template() -> None:
    broken = copy.deepcopy(_groups()["sandbox"]["template"])
    broken["spec"]["containers"][0]["imagePullPolicy"] = ["Always"]
    broken["spec"]["containerz"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(_pod_template(broken), KUBERNETES_VERSION, strict=True)


def test_kuberay_serve_config_is_valid_to_ray_serve() -> None:
    schema = ServeDeploySchema.model_validate(_serve_config())
    (app,) = schema.applications
    assert (app.name, app.route_prefix) == ("verifier", "/")


def test_kuberay_serve_config_builds_the_verifier_application() -> None:
    (app,) = _serve_config()["applications"]
    module, _, name = app["import_path"].partition(":")
    builder = getattr(importlib.import_module(module), name)
    application = builder(app["args"])
    assert isinstance(application, Application)


def test_kuberay_serve_port_is_a_head_container_port() -> None:
    port = _serve_config()["http_options"]["port"]
    (head,) = _groups()["head"]["template"]["spec"]["containers"]
    assert {"name": "serve", "containerPort": port} in head["ports"]


def test_kuberay_head_runs_no_replica() -> None:
    assert _groups()["head"]["rayStartParams"]["num-cpus"] == "0"


def test_kuberay_replicas_fit_the_worker_nodes() -> None:
    args = _serve_config()["applications"][0]["args"]
    for group in ("sandbox", "cpu"):
        cpus = float(_groups()[group]["rayStartParams"]["num-cpus"])
        (worker,) = _groups()[group]["template"]["spec"]["containers"]
        assert args["num_cpus"] <= cpus <= float(worker["resources"]["limits"]["cpu"])
        assert args["max_replicas"] <= _groups()[group]["maxReplicas"]


def test_kuberay_sandbox_workers_share_the_engine_socket_and_cpu_workers_have_none() -> None:
    config = yaml.safe_load((DEPLOY / "k8s" / "configmap.yaml").read_text())["data"]
    socket = Path(config["DOCKER_HOST"].removeprefix("unix://"))
    sandbox = _groups()["sandbox"]["template"]["spec"]
    (engine,) = sandbox["initContainers"]
    assert engine["restartPolicy"] == "Always" and engine["securityContext"]["privileged"]
    for container in (engine, sandbox["containers"][0]):
        mount = next(m for m in container["volumeMounts"] if m["name"] == "docker-socket")
        assert socket.parent == Path(mount["mountPath"])
    cpu = _groups()["cpu"]["template"]["spec"]
    assert "initContainers" not in cpu
    assert all(v["name"] != "docker-socket" for v in cpu["volumes"])


def test_kuberay_every_node_reads_the_settings_and_the_api_keys() -> None:
    keys_file = Path(
        yaml.safe_load((DEPLOY / "k8s" / "configmap.yaml").read_text())["data"][
            "VERIFIER_API_KEYS_FILE"
        ]
    )
    for group in _groups().values():
        (container,) = group["template"]["spec"]["containers"]
        assert {"configMapRef": {"name": "verifier-config"}} in container["envFrom"]
        assert any(Path(m["mountPath"]) == keys_file.parent for m in container["volumeMounts"])
        assert container["securityContext"]["runAsNonRoot"] is True
