"""Fixtures of the end-to-end tests: the real service on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from service import running_service


@pytest.fixture(scope="session")
def service_url() -> Iterator[str]:
    with running_service(workers="2", math_timeout_s="2") as url:
        yield url


@pytest.fixture(scope="session")
def start_service() -> Callable[..., object]:
    return running_service
