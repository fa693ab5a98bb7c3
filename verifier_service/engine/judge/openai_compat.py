"""A judge behind any OpenAI-compatible ``POST /v1/chat/completions`` (vLLM, SGLang, DeepSeek).

Greedy by default (temperature 0) with a small ``max_tokens``. At most ``max_concurrency`` calls
are in flight; each attempt has a wall-clock limit. Only 429 and 5xx answers are retried, with
jittered exponential backoff (a 429's ``Retry-After`` is honoured up to the backoff cap): a 4xx
is a mistake in the request and a malformed reply will not mend itself, so neither is retried,
and neither is a timeout (the same prompt would be as slow again). Every failure becomes a
JudgeError for that prompt alone.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from typing import Any

import httpx

from verifier_service.engine.judge.backend import Completion
from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.errors import JudgeError

__all__ = ["OpenAICompatBackend"]

_MESSAGE_PREVIEW_CHARS = 200


class OpenAICompatBackend:
    """Calls ``{base_url}/v1/chat/completions`` for every prompt.

    base_url: the server's root, with or without a trailing ``/v1``
        (``https://api.deepseek.com``, ``http://127.0.0.1:8001``).
    model: the model name the server expects (``deepseek-chat`` for DeepSeek-V3).
    api_key: sent as ``Authorization: Bearer``; None for servers without keys.
    timeout_s: wall-clock limit of one attempt (connect, send, wait, read).
    max_retries: further attempts after a 429 or 5xx.
    backoff_s, backoff_max_s: the first retry waits about ``backoff_s``, doubling up to the cap;
        each wait is drawn uniformly from its upper half ("equal jitter").
    transport: an httpx transport to use instead of the network (for embedding).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 256,
        timeout_s: float = 60.0,
        max_concurrency: int = 16,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if max_retries < 0 or max_tokens < 1 or timeout_s <= 0:
            raise ValueError("need max_retries >= 0, max_tokens >= 1 and timeout_s > 0")
        if temperature < 0:
            raise ValueError("temperature must be >= 0")
        root = base_url.rstrip("/")
        self.url = (root[: -len("/v1")] if root.endswith("/v1") else root) + "/v1/chat/completions"
        self.model = model
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._temperature = temperature
        self._semaphore = asyncio.Semaphore(max_concurrency)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_concurrency),
            transport=transport,
        )

    @property
    def model_id(self) -> str:
        return f"openai:{self.url}:{self.model}:t={self._temperature}:max_tokens={self.max_tokens}"

    @property
    def temperature(self) -> float:
        return self._temperature

    async def complete(self, prompts: Sequence[JudgePrompt]) -> list[Completion | JudgeError]:
        """Ask every prompt concurrently (bounded); failures come back as JudgeError values."""
        return list(await asyncio.gather(*(self._complete_one(prompt) for prompt in prompts)))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _complete_one(self, prompt: JudgePrompt) -> Completion | JudgeError:
        payload = {
            "model": self.model,
            "messages": prompt.messages(),
            "temperature": self._temperature,
            "max_tokens": self.max_tokens,
            "n": 1,
            "stream": False,
        }
        async with self._semaphore:
            try:
                return await self._post_with_retries(payload)
            except JudgeError as error:
                return error

    async def _post_with_retries(self, payload: dict[str, Any]) -> Completion:
        for attempt in range(self.max_retries + 1):
            response = await self._post(payload)
            retryable = response.status_code == 429 or response.status_code >= 500
            if not retryable:
                return _read_completion(response)
            if attempt == self.max_retries:
                raise JudgeError(
                    f"judge answered HTTP {response.status_code} "
                    f"{self.max_retries + 1} times: {_preview(response.text)}"
                )
            await asyncio.sleep(self._backoff(attempt, response))
        raise JudgeError("judge retries exhausted")  # unreachable: the loop returns or raises

    async def _post(self, payload: dict[str, Any]) -> httpx.Response:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._client.post(self.url, json=payload)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise JudgeError(f"judge call timed out after {self.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise JudgeError(f"judge unreachable at {self.url}: {exc!r}") from exc

    def _backoff(self, attempt: int, response: httpx.Response) -> float:
        ceiling = min(self.backoff_max_s, self.backoff_s * 2**attempt)
        delay = random.uniform(ceiling / 2, ceiling)
        retry_after = _retry_after_s(response)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max_s))
        return delay


def _read_completion(response: httpx.Response) -> Completion:
    if response.status_code != 200:
        raise JudgeError(
            f"judge answered HTTP {response.status_code} (not retried): {_preview(response.text)}"
        )
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JudgeError(f"judge reply is not valid JSON: {_preview(response.text)}") from exc
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
        finish_reason = choice.get("finish_reason")
    except (KeyError, IndexError, TypeError) as exc:
        raise JudgeError(
            f"judge reply has no choices[0].message.content: {_preview(response.text)}"
        ) from exc
    if not isinstance(content, str):
        raise JudgeError(f"judge reply content is not text: {_preview(response.text)}")
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise JudgeError(f"judge reply finish_reason is not text: {_preview(response.text)}")
    return Completion(text=content, finish_reason=finish_reason)


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to the computed backoff
    return seconds if seconds >= 0 else None


def _preview(text: str) -> str:
    if len(text) > _MESSAGE_PREVIEW_CHARS:
        text = text[:_MESSAGE_PREVIEW_CHARS] + "…"
    return repr(text)
