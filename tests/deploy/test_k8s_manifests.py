"""The Kubernetes manifests: schema-valid offline, and wired to the service as it really is."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from verifier_service.settings import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30"  # the oldest version with every field used (native sidecars)
MANIFESTS = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
POD_LABELS = {"app.kubernetes.io/name": "verifier"}
# Variables the service reads that are not settings fields: the sandbox's Docker socket.
NON_SETTINGS_VARIABLES = {"DOCKER_HOST", "SANDBOX_IMAGE"}


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((K8S / name).read_text())
    return document


def _pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = _load("deployment.yaml")["spec"]["template"]["spec"]
    return spec


def _container(name: str) -> dict[str, Any]:
    spec = _pod_spec()
    return next(c for c in spec["containers"] + spec["initContainers"] if c["name"] == name)


@pytest.mark.parametrize("name", MANIFESTS)
def test_k8s_manifest_is_valid_against_the_schema(name: str) -> None:
    kubernetes_validate.validate(_load(name), KUBERNETES_VERSION, strict=True)


def test_k8s_validation_rejects_a_broken_manifest() -> None:
    broken = copy.deepcopy(_load("deployment.yaml"))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    broken["spec"]["replica"] = 2  # a typo strict validation must catch
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_k8s_kustomization_lists_every_manifest() -> None:
    assert sorted(_load("kustomization.yaml")["resources"]) == MANIFESTS


def test_k8s_probes_point_at_the_service_paths_and_port() -> None:
    verifier = _container("verifier")
    (port,) = verifier["ports"]
    assert (port["name"], port["containerPort"]) == ("http", 8000)
    env = {e["name"]: e["value"] for e in verifier["env"]}
    assert env["VERIFIER_PORT"] == str(port["containerPort"])
    paths = {
        probe: (verifier[probe]["httpGet"]["path"], verifier[probe]["httpGet"]["port"])
        for probe in ("readinessProbe", "livenessProbe", "startupProbe")
    }
    assert paths == {
        "readinessProbe": ("/readyz", "http"),
        "livenessProbe": ("/healthz", "http"),
        "startupProbe": ("/healthz", "http"),
    }


def test_k8s_service_container_runs_unprivileged_on_a_read_only_root() -> None:
    pod = _pod_spec()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10000
    context = _container("verifier")["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] != 0
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "privileged" not in context
    mounts = {m["mountPath"] for m in _container("verifier")["volumeMounts"]}
    assert "/tmp" in mounts  # the only place the service writes


def test_k8s_grace_period_outlasts_the_drain() -> None:
    # uvicorn drains for 30 s (cli.py), then the sandbox containers are removed.
    assert _pod_spec()["terminationGracePeriodSeconds"] > 30


def test_k8s_resources_are_bounded_and_workers_match_the_cpu_limit() -> None:
    resources = _container("verifier")["resources"]
    assert set(resources) == {"requests", "limits"}
    workers = int(_load("configmap.yaml")["data"]["VERIFIER_WORKERS"])
    assert workers == int(resources["limits"]["cpu"])


def test_k8s_configmap_sets_only_real_settings() -> None:
    data = _load("configmap.yaml")["data"]
    fields = {f"VERIFIER_{name.upper()}" for name in Settings.model_fields}
    unknown = set(data) - fields - NON_SETTINGS_VARIABLES
    assert not unknown, f"not settings of the service: {sorted(unknown)}"
    assert data["VERIFIER_SANDBOX_BACKEND"] == "docker"
    assert "VERIFIER_API_KEYS" not in data  # keys live in the Secret


def test_k8s_api_keys_come_from_the_mounted_secret() -> None:
    keys_file = Path(_load("configmap.yaml")["data"]["VERIFIER_API_KEYS_FILE"])
    secret = _load("secret.yaml")
    mount = next(
        m
        for m in _container("verifier")["volumeMounts"]
        if Path(m["mountPath"]) == keys_file.parent
    )
    volume = next(v for v in _pod_spec()["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert keys_file.name in secret["stringData"]
    assert mount["readOnly"] is True


def test_k8s_sandbox_engine_shares_its_socket_with_the_service() -> None:
    socket = _load("configmap.yaml")["data"]["DOCKER_HOST"].removeprefix("unix://")
    engine = _container("sandbox-engine")
    assert engine["restartPolicy"] == "Always"  # a native sidecar: up before the service
    for container in (engine, _container("verifier")):
        mount = next(m for m in container["volumeMounts"] if m["name"] == "docker-socket")
        assert Path(socket).parent == Path(mount["mountPath"])


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("service.yaml", ["spec", "selector"]),
        ("pdb.yaml", ["spec", "selector", "matchLabels"]),
        ("networkpolicy.yaml", ["spec", "podSelector", "matchLabels"]),
        ("deployment.yaml", ["spec", "selector", "matchLabels"]),
    ],
)
def test_k8s_selectors_match_the_pods(name: str, path: list[str]) -> None:
    selector: Any = _load(name)
    for key in path:
        selector = selector[key]
    pod_labels = _load("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert selector == POD_LABELS
    assert POD_LABELS.items() <= pod_labels.items()


def test_k8s_service_and_autoscaler_target_the_deployment() -> None:
    service = _load("service.yaml")["spec"]["ports"][0]
    assert service["targetPort"] == "http"
    target = _load("hpa.yaml")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == (
        "Deployment",
        _load("deployment.yaml")["metadata"]["name"],
    )


def test_k8s_network_policy_denies_egress_but_dns_and_the_judge() -> None:
    policy = _load("networkpolicy.yaml")["spec"]
    assert "Egress" in policy["policyTypes"]
    for rule in policy["egress"]:
        assert rule.get("to"), "an egress rule without 'to' allows every destination"
        for peer in rule["to"]:
            assert "ipBlock" not in peer
    dns, judge = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert judge["to"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "judge"}}}
    ]
