"""slime's remote reward against /slime/reward, its request reproduced from its source.

slime is not on the package index. ``remote_rm`` in slime/rollout/rm_hub/__init__.py (THUDM/slime
at commit 701749b73cc0a292b76659beb937b74f0a8f1915) posts ``{"prompt", "response", "label"}`` of
one Sample with aiohttp to ``args.rm_url``, raises for an HTTP error and takes ``await
resp.json()`` as the reward (a number, or with ``--reward-key`` a key of an object).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp
import httpx
import pytest

pytestmark = pytest.mark.e2e

ADD = {
    "task": "code",
    "language": "python",
    "tests": [{"stdin": "1 2\n", "expected_stdout": "3\n"}],
}
PROGRAM = "<think>add</think>\n```python\nprint(sum(map(int, input().split())))\n```"


async def remote_rm(rm_url: str, prompt: Any, response: str, label: Any) -> Any:
    """slime's remote_rm request: one sample, aiohttp, raise_for_status, the JSON as reward."""
    payload = {"prompt": prompt, "response": response, "label": label}
    connector = aiohttp.TCPConnector(force_close=True, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        session.post(rm_url, json=payload) as resp,
    ):
        resp.raise_for_status()
        return await resp.json()


def _batches(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    match = re.search(r"^verifier_slime_batches_total (\S+)$", text, re.MULTILINE)
    return 0.0 if match is None else float(match.group(1))


SAMPLES: list[tuple[Any, str, Any, float]] = [
    ("What is 1+1?", "<think>1+1=2</think> \\boxed{2}", "2", 2.0),
    ("What is 1+2?", "<think>1+2=4</think> \\boxed{4}", "3", 1.0),
    ([{"role": "user", "content": "Add."}], PROGRAM, ADD, 2.0),  # a chat prompt, a dict label
    ("Add.", PROGRAM, json.dumps(ADD), 2.0),  # the label as a JSON string
] * 4


def test_slime_remote_rm_gets_numbers_and_calls_share_batches(service_url: str) -> None:
    before = _batches(service_url)

    async def rollout() -> list[Any]:
        calls = [remote_rm(f"{service_url}/slime/reward", p, r, lab) for p, r, lab, _ in SAMPLES]
        return list(await asyncio.gather(*calls))

    rewards = asyncio.run(rollout())
    assert rewards == [expected for *_, expected in SAMPLES]
    assert all(isinstance(r, float) for r in rewards)
    # Sixteen concurrent single-sample calls were graded in far fewer batches.
    assert 1 <= _batches(service_url) - before <= 4


def test_slime_failure_is_flagged_not_silent(service_url: str) -> None:
    bad = {"task": "code"}  # no tests: unusable
    plain = asyncio.run(remote_rm(f"{service_url}/slime/reward", "?", "x", bad))
    assert plain == 0.0
    detail = asyncio.run(remote_rm(f"{service_url}/slime/reward?detail=1", "?", "x", bad))
    assert detail["reward"] == 0.0
    assert (detail["failed"], detail["error"]) == (1.0, "invalid_input")
    header = httpx.post(
        f"{service_url}/slime/reward", json={"prompt": "?", "response": "x", "label": bad}
    ).headers
    assert header["x-verifier-error"] == "invalid_input"
    good = asyncio.run(remote_rm(f"{service_url}/slime/reward?detail=1", "?", "\\boxed{3}", "3"))
    assert (good["reward"], good["accuracy"], good["failed"], good["error"]) == (1.0, 1.0, 0.0, "")
    assert good["language"] is None
