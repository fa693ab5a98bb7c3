"""OpenRLHF's ``reward_func`` backed by the service, for ``--reward.remote_url <this file>``.

OpenRLHF 0.11 loads a ``.py`` given as ``--reward.remote_url`` and calls
``reward_func(queries, prompts, labels)`` in a thread for each sample; this posts them to the
service's ``/get_reward`` and returns its answer (``rewards``, ``scores``, ``extra_logs``: numbers
only, the same keys for every sample, ``extra_logs.failed`` 1.0 for a sample the service could
not grade). The service is ``VERIFIER_URL`` (default ``http://127.0.0.1:8000``; comma-separated
URLs are used in turn) with ``VERIFIER_API_KEY`` if it has keys, so unlike the plain URL form
this one can reach a service that requires an API key.

The file needs only httpx: copy it to the training nodes, or point at the installed one.
When the service stays unreachable after the retries it raises, and OpenRLHF leaves the sample
without a reward (its log says why) rather than training on a made-up number.
"""

import itertools
import os
import threading
import time
from typing import Any

import httpx

_URLS = [
    u.strip().rstrip("/")
    for u in os.environ.get("VERIFIER_URL", "http://127.0.0.1:8000").split(",")
    if u.strip()
]
_API_KEY = os.environ.get("VERIFIER_API_KEY", "")
_RETRIES = int(os.environ.get("VERIFIER_RETRIES", "4"))
_TIMEOUT_S = float(os.environ.get("VERIFIER_TIMEOUT_S", "180"))
_next_url = itertools.cycle(_URLS)
_lock = threading.Lock()
_client = httpx.Client(
    timeout=_TIMEOUT_S,
    headers={"Authorization": f"Bearer {_API_KEY}"} if _API_KEY else {},
)


def reward_func(queries: list[str], prompts: list[str], labels: list[str]) -> dict[str, Any]:
    """The service's ``/get_reward`` answer for these samples (OpenRLHF's reward protocol)."""
    body = {"query": list(queries), "prompts": list(prompts), "labels": list(labels)}
    problem = ""
    for attempt in range(_RETRIES + 1):
        with _lock:
            url = next(_next_url)
        try:
            reply = _client.post(f"{url}/get_reward", json=body)
        except httpx.TransportError as exc:
            problem = f"{url} unreachable: {exc}"
        else:
            if reply.status_code == 200:
                answer: dict[str, Any] = reply.json()
                return answer
            problem = f"{url} answered {reply.status_code}: {reply.text[:300]}"
            if reply.status_code not in (429, 500, 502, 503, 504):
                break  # a request the service refuses is not retried
        time.sleep(min(0.5 * 2**attempt, 8.0))
    raise RuntimeError(f"verifier service: {problem}")
