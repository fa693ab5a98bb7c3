"""docker-compose.yml and the Dockerfiles: they parse, point at files that exist, and agree."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from verifier_service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILES = ["Dockerfile", "Dockerfile.offline"]


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return document


def _instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per line of a Dockerfile, continuations joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / name).read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _last(name: str, instruction: str) -> str:
    return [args for ins, args in _instructions(name) if ins == instruction][-1]


def test_compose_build_contexts_and_dockerfiles_exist() -> None:
    for name, service in _compose()["services"].items():
        context = (DEPLOY / service["build"]["context"]).resolve()
        assert context.is_dir(), name
        dockerfile = context / service["build"].get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), name


def test_compose_service_reaches_docker_through_the_socket_as_its_group() -> None:
    verifier = _compose()["services"]["verifier"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in verifier["volumes"]
    assert verifier["group_add"] == [
        "${DOCKER_GID:?set DOCKER_GID=$(stat -c %g /var/run/docker.sock)}"
    ]
    assert verifier["environment"]["VERIFIER_SANDBOX_BACKEND"] == "docker"
    assert verifier["depends_on"]["sandbox-image"]["condition"] == "service_completed_successfully"


def test_compose_service_is_hardened_and_published_on_loopback_only() -> None:
    verifier = _compose()["services"]["verifier"]
    assert verifier["read_only"] is True
    assert verifier["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in verifier["security_opt"]
    assert all(port.startswith("127.0.0.1:") for port in verifier["ports"])
    assert "user" not in verifier  # the image's non-root user applies


def test_compose_environment_sets_only_real_settings_and_keys_from_a_secret() -> None:
    compose = _compose()
    environment = compose["services"]["verifier"]["environment"]
    fields = {f"VERIFIER_{name.upper()}" for name in Settings.model_fields}
    assert set(environment) - fields <= {"SANDBOX_IMAGE"}
    assert "VERIFIER_API_KEYS" not in environment
    secret = Path(environment["VERIFIER_API_KEYS_FILE"]).name
    assert compose["services"]["verifier"]["secrets"] == [secret]
    keys_file = compose["secrets"][secret]["file"]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(DEPLOY / keys_file)], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, f"{keys_file} holds secrets: it must be git-ignored"


def test_compose_health_check_runs_the_image_health_script() -> None:
    test = _compose()["services"]["verifier"]["healthcheck"]["test"]
    for dockerfile in DOCKERFILES:
        assert _last(dockerfile, "HEALTHCHECK").endswith('"' + '", "'.join(test[1:]) + '"]'), (
            dockerfile
        )


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_runs_as_a_non_root_user_with_the_entrypoint(dockerfile: str) -> None:
    user = _last(dockerfile, "USER")
    assert user.split(":")[0] not in {"0", "root"}
    assert _last(dockerfile, "ENTRYPOINT") == '["/usr/local/bin/verifier-entrypoint"]'
    assert "VERIFIER_HOST=0.0.0.0" in _last(dockerfile, "ENV")
    assert "healthcheck.py" in _last(dockerfile, "HEALTHCHECK")


def test_dockerfile_copies_only_files_that_exist() -> None:
    for ins, args in _instructions("Dockerfile"):
        if ins == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source
    for ins, args in _instructions("Dockerfile.offline"):
        if ins == "COPY":
            source = args.split()[0].rstrip("/")
            assert source == "wheel" or (DEPLOY / source).exists(), source


def test_healthcheck_script_targets_healthz() -> None:
    assert '/healthz"' in (DEPLOY / "healthcheck.py").read_text()


def test_sandbox_engine_image_files_exist_and_parse() -> None:
    engine = DEPLOY / "sandbox-engine"
    copied = [a.split()[:-1] for i, a in _instructions("sandbox-engine/Dockerfile") if i == "COPY"]
    generated = {"sandbox-image.tar", "sandbox-image.tag"}
    for source in (s for sources in copied for s in sources):
        assert source in generated or (engine / source).is_file(), source
    for script in ("engine.sh", "ready.sh"):
        subprocess.run(["sh", "-n", str(engine / script)], check=True)
