"""Fixtures of the framework tests: the real service on loopback for the frameworks' code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service import running_service


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with running_service(workers="1", sandbox_backend="local") as url:
        yield url
