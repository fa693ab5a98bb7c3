"""The client of ``POST /v1/rewards``: one call per training step, split into concurrent chunks.

A batch of completions is cut into chunks of ``chunk_size`` items; the chunks go out at the same
time, each to the next service URL in turn (round-robin, so several replicas share a step), and
the results come back in input order.

Failures, and what the client does with them:

- a connection error, a timeout, 429 or 5xx is transient: the chunk is retried with jittered
  exponential backoff (``Retry-After`` is honoured), each retry on the next URL;
- any other 4xx means the request itself is wrong (a bad key, an oversized batch, a field the
  server does not know): :class:`RewardRequestError` at once, with the server's message;
- an item the server could not grade comes back with ``reward=None`` and its ``error``;
- a chunk still failing after its retries comes back the same way, every item with the error
  code ``unavailable`` (or raises :class:`RewardServiceUnavailableError` with
  ``raise_when_unavailable``). A failure is never scored 0: that would drag its group's mean.

:class:`AsyncRewardClient` does the work; :class:`RewardClient` drives it on a private event loop,
so there is one implementation of batching and retries.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

from verifier_service.errors import VerifierError

REWARDS_PATH = "/v1/rewards"
# The service must answer before the client stops waiting: its deadline leaves this much of the
# timeout (at most half of it) for the way back and for reading the request.
_DEADLINE_MARGIN_S = 5.0


# --- errors ----------------------------------------------------------------------------------


class RewardClientError(VerifierError):
    """Base of the errors the reward client raises."""

    code = "client_error"


class RewardRequestError(RewardClientError):
    """The service refused the request (a 4xx other than 429): retrying cannot help."""

    code = "request_rejected"

    def __init__(self, message: str, *, status_code: int, url: str) -> None:
        super().__init__(f"{url} answered {status_code}: {message}")
        self.status_code = status_code
        self.url = url


class RewardServiceUnavailableError(RewardClientError):
    """A chunk still failed after every retry (connection errors, timeouts, 429 or 5xx)."""

    code = "unavailable"


class RewardResponseError(RewardClientError):
    """The service answered 200 with a body that breaks the contract."""

    code = "bad_response"


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RewardClientConfig:
    """How the client reaches the service. Every field is checked when the config is built."""

    urls: Sequence[str]
    """Base URLs of replicas, e.g. ``http://127.0.0.1:8000``; chunks rotate over them.
    ``serve://APP`` (or a Ray Serve ``DeploymentHandle`` itself) reaches a Ray Serve
    application through a handle, no HTTP hop (:mod:`trainer_client.serve_transport`): for
    trainers inside the Ray cluster."""
    api_key: str | None = field(default=None, repr=False)
    """Sent as ``Authorization: Bearer KEY`` when set."""
    chunk_size: int = 256
    """Items per request. Smaller chunks spread a step over more replicas and workers."""
    max_concurrency: int | None = None
    """Requests in flight at once for one call; ``None``: every chunk at once."""
    timeout_s: float = 180.0
    """Per request. OpenRLHF's remote reward client uses 180 s."""
    connect_timeout_s: float = 10.0
    """To open a connection; a replica that is down is skipped quickly."""
    retries: int = 4
    """Retries per chunk after the first try (OpenRLHF makes 5 tries in all)."""
    backoff_s: float = 0.5
    """Base of the exponential backoff: retry k waits about ``backoff_s * 2**k``, jittered."""
    max_backoff_s: float = 30.0
    """Cap on one wait, ``Retry-After`` included."""
    raise_when_unavailable: bool = False
    """Raise instead of returning ``unavailable`` items when a chunk runs out of retries."""
    send_deadline: bool = True
    """Send ``deadline_s`` (``timeout_s`` less 5 s, at least half of it) so the service answers
    before the client gives up: graded items come back and only the rest carry a ``timeout``
    error, instead of the whole chunk being retried. Off for services older than grader 2.0.0,
    which refuse the field."""
    priority: int = 0
    """The service serves higher priorities first (-10..10), e.g. 1 for evaluation."""

    def __post_init__(self) -> None:
        given: Any = self.urls
        urls: tuple[Any, ...] = (
            (given,) if isinstance(given, str) or _is_handle(given) else tuple(given)
        )
        # A Ray Serve handle stands for its application: serve://APP/DEPLOYMENT.
        urls = tuple(_handle_url(url) if _is_handle(url) else url for url in urls)
        if not urls:
            raise ValueError("urls is empty: give at least one base URL of the reward service")
        for url in urls:
            if not url.startswith(("http://", "https://", "serve://")):
                raise ValueError(f"url {url!r} must start with http://, https:// or serve://")
        object.__setattr__(self, "urls", tuple(url.rstrip("/") for url in urls))
        positive = {
            "chunk_size": self.chunk_size,
            "timeout_s": self.timeout_s,
            "connect_timeout_s": self.connect_timeout_s,
            "max_concurrency": 1 if self.max_concurrency is None else self.max_concurrency,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        for name, value in {"retries": self.retries, "backoff_s": self.backoff_s}.items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if self.max_backoff_s < self.backoff_s:
            raise ValueError(f"max_backoff_s ({self.max_backoff_s}) is below backoff_s")


@dataclass(frozen=True)
class RewardItem:
    """One completion to score; the fields of an item of ``POST /v1/rewards``."""

    response: str
    prompt: str = ""
    id: str | None = None
    task: str = "math"
    """``math``, ``code``, ``judge`` or ``none`` (format and language only)."""
    reference: str | None = None
    target_language: str | None = None
    tests: Sequence[Mapping[str, Any]] | None = None
    """For ``task="code"``: tests as in ``/v1/code/run``."""
    language: str | None = None
    """For ``task="code"``: the programming language."""
    limits: Mapping[str, Any] | None = None
    """For ``task="code"``: ``{"time_s": …, "memory_mb": …}`` per test."""
    format_style: str | None = None


@dataclass(frozen=True)
class ItemError:
    """Why the service could not score an item: a stable code and a sentence."""

    code: str
    message: str


@dataclass(frozen=True)
class RewardOutcome:
    """The service's answer for one item; ``reward`` is ``None`` exactly when ``error`` is set."""

    id: str | None
    reward: float | None
    components: Mapping[str, float]
    details: Mapping[str, Any]
    error: ItemError | None


def reward_values(outcomes: Sequence[RewardOutcome]) -> list[float]:
    """Rewards as floats with NaN for failed items, ready for ``torch.tensor``."""
    return [math.nan if o.reward is None else o.reward for o in outcomes]


# --- request building and response parsing ---------------------------------------------------


def _item_payload(item: RewardItem) -> dict[str, Any]:
    # Unset fields are left out: the server fills its defaults and older servers accept it.
    payload = {k: v for k, v in asdict(item).items() if v is not None}
    if item.tests is not None:
        payload["tests"] = [dict(test) for test in item.tests]
    if item.limits is not None:
        payload["limits"] = dict(item.limits)
    return payload


def _request_options(
    weights: Mapping[str, float] | None, format_style: str | None, code_scoring: str | None
) -> dict[str, Any]:
    """The request-wide fields of a /v1/rewards body; unset ones are left to the server."""
    options: dict[str, Any] = {}
    if weights is not None:
        options["weights"] = dict(weights)
    if format_style is not None:
        options["format_style"] = format_style
    if code_scoring is not None:
        options["code_scoring"] = code_scoring
    return options


def _scheduling_options(config: RewardClientConfig) -> dict[str, Any]:
    """The request's deadline (inside the client's own timeout) and priority, when sent."""
    options: dict[str, Any] = {}
    if config.send_deadline:
        timeout = config.timeout_s
        options["deadline_s"] = round(max(timeout / 2, timeout - _DEADLINE_MARGIN_S), 3)
    if config.priority:
        options["priority"] = config.priority
    return options


def _parse_outcome(raw: Any, item: RewardItem) -> RewardOutcome:
    if not isinstance(raw, dict):
        raise RewardResponseError(f"a result is not an object: {raw!r:.200}")
    error = raw.get("error")
    reward = raw.get("reward")
    if error is not None:
        if not isinstance(error, dict) or not {"code", "message"} <= error.keys():
            raise RewardResponseError(f"an error has no code and message: {error!r:.200}")
        item_error: ItemError | None = ItemError(str(error["code"]), str(error["message"]))
        reward = None
    elif isinstance(reward, int | float) and not isinstance(reward, bool):
        item_error, reward = None, float(reward)
    else:
        raise RewardResponseError(f"a result has no numeric reward and no error: {raw!r:.200}")
    if item.id is not None and raw.get("id") != item.id:
        raise RewardResponseError(f"result id {raw.get('id')!r} answers item {item.id!r}")
    return RewardOutcome(
        id=item.id,
        reward=reward,
        components=dict(raw.get("components") or {}),
        details=dict(raw.get("details") or {}),
        error=item_error,
    )


def _parse_response(response: httpx.Response, items: Sequence[RewardItem]) -> list[RewardOutcome]:
    try:
        results = response.json()["results"]
    except (ValueError, KeyError, TypeError) as exc:
        raise RewardResponseError(f"the body has no 'results' list: {response.text:.200}") from exc
    if not isinstance(results, list) or len(results) != len(items):
        count = len(results) if isinstance(results, list) else "no"
        raise RewardResponseError(f"{count} results for {len(items)} items")
    return [_parse_outcome(raw, item) for raw, item in zip(results, items, strict=True)]


def _server_message(response: httpx.Response) -> str:
    """The service's own words: ``message`` (422) or ``detail`` (other errors), else the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])[:500]
    return str(body)[:500]


def _is_transient(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


def _retry_after_s(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds: a number or an HTTP date; ``None`` if absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _backoff_s(config: RewardClientConfig, retry: int, retry_after_s: float | None) -> float:
    # Jitter in [0.5, 1] of the step: replicas see retries spread out, never a synchronised wave.
    step = config.backoff_s * 2**retry * random.uniform(0.5, 1.0)
    wait = step if retry_after_s is None else max(step, retry_after_s)
    return min(wait, config.max_backoff_s)


def _unavailable(items: Sequence[RewardItem], message: str) -> list[RewardOutcome]:
    error = ItemError(RewardServiceUnavailableError.code, message)
    return [RewardOutcome(item.id, None, {}, {}, error) for item in items]


def _is_handle(value: object) -> bool:
    return hasattr(value, "deployment_name") and hasattr(value, "app_name")


def _handle_url(handle: Any) -> str:
    from trainer_client.serve_transport import handle_url

    return handle_url(handle)


def _serve_mounts(urls: Sequence[str]) -> dict[str, httpx.AsyncBaseTransport]:
    """The handle transport for ``serve://`` URLs (Ray is imported only when one is used)."""
    if not any(url.startswith("serve://") for url in urls):
        return {}
    from trainer_client.serve_transport import ServeHandleTransport

    return {"serve://": ServeHandleTransport()}


# --- clients ---------------------------------------------------------------------------------


class AsyncRewardClient:
    """Scores a batch over HTTP; use ``async with`` or call :meth:`aclose`."""

    def __init__(self, config: RewardClientConfig) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            mounts=_serve_mounts(config.urls),
        )
        # Where the next call's first chunk goes, so consecutive small calls also rotate.
        self._next_url = 0

    async def score(
        self,
        items: Sequence[RewardItem],
        *,
        weights: Mapping[str, float] | None = None,
        format_style: str | None = None,
        code_scoring: str | None = None,
    ) -> list[RewardOutcome]:
        """Score every item; one outcome per item, in input order.

        code_scoring: "binary" (1 when every test passes) or "fraction" (share passed).
        """
        options = {
            **_request_options(weights, format_style, code_scoring),
            **_scheduling_options(self.config),
        }
        size = self.config.chunk_size
        chunks = [items[start : start + size] for start in range(0, len(items), size)]
        first_url = self._next_url
        self._next_url = (first_url + len(chunks)) % len(self.config.urls)
        limit = asyncio.Semaphore(self.config.max_concurrency or max(1, len(chunks)))
        tasks = [
            asyncio.ensure_future(self._score_chunk(chunk, first_url + index, options, limit))
            for index, chunk in enumerate(chunks)
        ]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            # One chunk was refused: the others' answers are no use, so stop them now.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [outcome for chunk_outcomes in results for outcome in chunk_outcomes]

    async def _score_chunk(
        self,
        items: Sequence[RewardItem],
        slot: int,
        options: Mapping[str, Any],
        limit: asyncio.Semaphore,
    ) -> list[RewardOutcome]:
        body = {"items": [_item_payload(item) for item in items], **options}
        urls = self.config.urls
        failure = ""
        async with limit:
            for attempt in range(self.config.retries + 1):
                url = urls[(slot + attempt) % len(urls)] + REWARDS_PATH
                retry_after = None
                try:
                    response = await self._http.post(url, json=body)
                except httpx.TransportError as exc:
                    failure = f"{url}: {type(exc).__name__}: {exc}"
                else:
                    if response.status_code == 200:
                        return _parse_response(response, items)
                    if not _is_transient(response.status_code):
                        raise RewardRequestError(
                            _server_message(response), status_code=response.status_code, url=url
                        )
                    failure = f"{url} answered {response.status_code}: {_server_message(response)}"
                    retry_after = _retry_after_s(response)
                if attempt < self.config.retries:
                    await asyncio.sleep(_backoff_s(self.config, attempt, retry_after))
        message = f"gave up after {self.config.retries + 1} tries; last: {failure}"
        if self.config.raise_when_unavailable:
            raise RewardServiceUnavailableError(message)
        return _unavailable(items, message)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class RewardClient:
    """The blocking front of :class:`AsyncRewardClient`, for a synchronous training loop.

    It runs the async client on an event loop of its own, so connections are reused from one
    step to the next. Call it from code that is not itself inside a running event loop (there,
    use :class:`AsyncRewardClient`), and from one thread at a time.
    """

    def __init__(self, config: RewardClientConfig) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._client = AsyncRewardClient(config)

    def score(
        self,
        items: Sequence[RewardItem],
        *,
        weights: Mapping[str, float] | None = None,
        format_style: str | None = None,
        code_scoring: str | None = None,
    ) -> list[RewardOutcome]:
        """Score every item; one outcome per item, in input order (see AsyncRewardClient)."""
        call = self._client.score(
            items, weights=weights, format_style=format_style, code_scoring=code_scoring
        )
        return self._loop.run_until_complete(call)

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._client.aclose())
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
