"""Fuzzing every endpoint of the OpenAPI schema against the real service (schemathesis).

Whatever the body, the service answers without a 5xx, and every error response is a JSON
object a client can read. The examples per endpoint are bounded (x RELIABILITY_SCALE).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from reliability_support import KEY, SCALE, running_service
from schemathesis.checks import not_a_server_error

from verifier_service.app import create_app
from verifier_service.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = int(300 * SCALE)
# Hypothesis keeps caches in .hypothesis/ of the working directory: keep them out of the tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "verifier-hypothesis")


def error_is_readable_json(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error status comes with a JSON object that says what went wrong."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"HTTP {response.status_code} with a non-JSON body") from exc
    assert isinstance(body, dict), f"HTTP {response.status_code} body is not an object"
    message = body.get("detail") or body.get("message")
    assert message, f"HTTP {response.status_code} says nothing: {body}"
    return None


@pytest.fixture(scope="module")
def fuzzed_service(docker_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Small limits, so random code finishes fast and random batches stay cheap.
    with running_service(
        tmp_path_factory.mktemp("fuzz"), max_items="64", math_timeout_s="2"
    ) as service:
        yield service.url


# The schema the service publishes at /openapi.json, taken from the app itself so the tests
# exist at collection time (starting the app does not start its workers).
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example database written into the tree
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.timeout(int(300 + 300 * SCALE))
def test_fuzz_endpoint_answers_without_server_error(fuzzed_service: str, case: Any) -> None:
    case.call_and_validate(
        base_url=fuzzed_service,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
        checks=[not_a_server_error, error_is_readable_json],
    )
