"""Fixtures of the framework tests: the real service (Docker sandbox) for the frameworks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service import running_service


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    # A wide slime window, so that concurrent calls of a test surely share a batch.
    with running_service(workers="1", slime_batch_window_s="0.2") as url:
        yield url
