"""The deployment's options and the client's serve:// URLs, without a cluster."""

from __future__ import annotations

import pytest
from ray_support import APP

from trainer_client.client import RewardClientConfig
from trainer_client.serve_transport import serve_url
from verifier_service.ray_serve import DEPLOYMENT_NAME, ServeOptions


def test_fixed_replicas_without_a_maximum() -> None:
    options = ServeOptions(replicas=3).deployment_options()

    assert options["num_replicas"] == 3
    assert "autoscaling_config" not in options
    assert options["name"] == DEPLOYMENT_NAME


def test_autoscaling_between_replicas_and_maximum() -> None:
    options = ServeOptions(replicas=2, max_replicas=6, target_ongoing_requests=3)

    config = options.deployment_options()["autoscaling_config"]

    assert (config["min_replicas"], config["max_replicas"]) == (2, 6)
    assert config["target_ongoing_requests"] == 3
    assert "num_replicas" not in options.deployment_options()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"replicas": 0}, "replicas must be >= 1"),
        ({"replicas": 3, "max_replicas": 2}, "below replicas"),
        ({"num_cpus": 0}, "num_cpus must be > 0"),
    ],
)
def test_options_say_what_to_change(fields: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        ServeOptions(**fields)


def test_client_takes_serve_urls_and_still_refuses_others() -> None:
    assert RewardClientConfig([serve_url(APP)]).urls == ("serve://verifier",)
    with pytest.raises(ValueError, match="serve://"):
        RewardClientConfig(["ftp://host"])
