"""verl reward functions backed by the service: ``compute_score`` and its batch and async forms.

Point verl 0.9's ``reward.custom_reward_function.path`` at this file and pick a function by
``reward.custom_reward_function.name`` (``verl_reward.yaml`` beside it is a tested config):

- ``compute_score_async``: for verl's reward loop (the default since 0.9), which hands samples
  to its reward workers one at a time; a worker's samples awaited within ``batch_window_s`` go
  out as one request;
- ``compute_score``: one sample per call and one request each, where a sync function is needed;
- ``compute_score_batch``: the whole batch in one request, for code that holds a batch (verl
  0.9 has no reward manager that calls it).

Options come from ``reward.custom_reward_function.reward_kwargs`` (verl passes them as keyword
arguments), then the environment (``VERIFIER_URL``, comma-separated for replicas, and
``VERIFIER_API_KEY``). Keyword arguments this module does not know are verl's own and ignored.

A ground truth is a math reference; a JSON object (or dict) with a ``task`` as in OpenRLHF labels,
e.g. ``{"task": "code", "language": "python", "tests": [...]}``; or stdin tests in the APPS/PRIME
shape ``{"inputs": [...], "outputs": [...]}``. ``extra_info["question"]`` is the judge's question
and ``extra_info["target_language"]`` asks for the language component.

Every result has the same keys, as verl requires: ``score`` (the reward), ``acc``, ``format``,
``language`` (the components; None where one does not apply, which verl's validation metrics
leave out of their means, where NaN would spoil them), ``failed`` (0.0 or 1.0) and ``error`` (a
code such as ``timeout``, or ""). verl cannot take a missing reward, so a failed item scores
``failure_score`` (0.0 by default) in every numeric key, with ``failed=1.0`` and its code in
``error``, and each batch with failures is logged as a warning; the mean of ``failed`` is the
failure rate. With ``raise_on_failure`` a failure raises :class:`VerlRewardError` instead.
"""

# No ``from __future__ import annotations``: verl may load this file by path without entering it
# in sys.modules, and dataclasses cannot resolve string annotations of such a module.
import asyncio
import atexit
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trainer_client.client import (
    AsyncRewardClient,
    ItemError,
    RewardClient,
    RewardClientConfig,
    RewardClientError,
    RewardItem,
    RewardOutcome,
)

DEFAULT_URL = "http://127.0.0.1:8000"
RESULT_KEYS = ("score", "acc", "format", "language", "failed", "error")
_COMPONENT_KEYS = {"acc": "accuracy", "format": "format", "language": "language"}
_LABEL_FIELDS = {"task", "reference", "tests", "language", "target_language", "format_style"}

logger = logging.getLogger(__name__)


class VerlRewardError(RewardClientError):
    """Items failed and ``raise_on_failure`` is set."""

    code = "item_failed"


@dataclass(frozen=True)
class VerlRewardConfig:
    """Options of the verl functions; build it from keyword arguments with :func:`read_config`."""

    urls: tuple[str, ...] = (DEFAULT_URL,)
    api_key: str | None = field(default=None, repr=False)
    failure_score: float = 0.0
    """The score of an item the service could not grade (verl cannot take None)."""
    raise_on_failure: bool = False
    """Raise :class:`VerlRewardError` instead of scoring failures ``failure_score``."""
    weights: tuple[tuple[str, float], ...] | None = None
    """Weight per component of the combined reward, e.g. accuracy 1.0, format 0.2."""
    format_style: str | None = None
    target_language: str | None = None
    """Default language component target for every item (``extra_info`` may override it)."""
    code_language: str = "python"
    """Programming language of ``{"inputs", "outputs"}`` ground truths."""
    timeout_s: float = 180.0
    retries: int = 4
    chunk_size: int = 256
    batch_window_s: float = 0.01
    """How long ``compute_score_async`` waits for other samples to share a request."""

    def client_config(self) -> RewardClientConfig:
        return RewardClientConfig(
            urls=self.urls,
            api_key=self.api_key,
            chunk_size=self.chunk_size,
            timeout_s=self.timeout_s,
            retries=self.retries,
        )


def read_config(
    options: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> VerlRewardConfig:
    """The config from verl's keyword arguments, then ``VERIFIER_URL``/``VERIFIER_API_KEY``."""
    url = options.get("url") or environ.get("VERIFIER_URL") or DEFAULT_URL
    urls = url.split(",") if isinstance(url, str) else list(url)
    raise_on_failure = options.get("raise_on_failure", False)
    if not isinstance(raise_on_failure, bool):
        raise ValueError(f"raise_on_failure must be true or false, got {raise_on_failure!r}")
    weights = options.get("weights")
    config = VerlRewardConfig(
        urls=tuple(u.strip() for u in urls if u.strip()),
        api_key=options.get("api_key") or environ.get("VERIFIER_API_KEY") or None,
        failure_score=float(options.get("failure_score", 0.0)),
        raise_on_failure=raise_on_failure,
        weights=None if weights is None else tuple((str(k), float(v)) for k, v in weights.items()),
        format_style=options.get("format_style"),
        target_language=options.get("target_language"),
        code_language=str(options.get("code_language", "python")),
        timeout_s=float(options.get("timeout_s", 180.0)),
        retries=int(options.get("retries", 4)),
        chunk_size=int(options.get("chunk_size", 256)),
        batch_window_s=float(options.get("batch_window_s", 0.01)),
    )
    config.client_config()  # checks the URLs and limits now, with their own messages
    return config


# --- verl's arguments to reward items --------------------------------------------------------


def build_item(
    solution_str: str, ground_truth: Any, extra_info: Any, config: VerlRewardConfig
) -> RewardItem | ItemError:
    """The reward item for one sample, or why its ground truth cannot make one."""
    extra = extra_info if isinstance(extra_info, Mapping) else {}
    question = extra.get("question", extra.get("prompt"))
    base: dict[str, Any] = {
        "response": str(solution_str),
        "prompt": question if isinstance(question, str) else "",
        "target_language": extra.get("target_language") or config.target_language,
    }
    spec = _label_spec(ground_truth)
    if spec is None:
        if ground_truth is None:
            return RewardItem(**base, task="none")
        return RewardItem(**base, reference=str(ground_truth))
    if "inputs" in spec and "outputs" in spec and "task" not in spec:
        return _stdin_item(spec, base, extra, config)
    unknown = set(spec) - _LABEL_FIELDS
    if unknown or not isinstance(spec.get("task"), str):
        return ItemError(
            "invalid_input",
            f"ground truth has no 'task' or unknown fields {sorted(unknown)}; "
            f"allowed: {sorted(_LABEL_FIELDS)}",
        )
    tests = spec.get("tests")
    if tests is not None and not _is_test_list(tests):
        return ItemError("invalid_input", "ground truth 'tests' must be a list of objects")
    fields = {**base, **{k: v for k, v in spec.items() if v is not None}}
    if tests is not None:
        fields["tests"] = [dict(test) for test in tests]
    return RewardItem(**fields)


def _label_spec(ground_truth: Any) -> dict[str, Any] | None:
    """The ground truth as an object (a dict, or a JSON object string), else None."""
    if isinstance(ground_truth, Mapping):
        return dict(ground_truth)
    if not isinstance(ground_truth, str) or not ground_truth.lstrip().startswith("{"):
        return None
    try:
        spec = json.loads(ground_truth)
    except json.JSONDecodeError:
        return None  # a set such as {1, 2} is a math reference, not JSON
    return spec if isinstance(spec, dict) else None


def _is_test_list(tests: Any) -> bool:
    return (
        isinstance(tests, Sequence)
        and not isinstance(tests, str)
        and all(isinstance(t, Mapping) for t in tests)
    )


def _stdin_item(
    spec: Mapping[str, Any],
    base: Mapping[str, Any],
    extra: Mapping[str, Any],
    config: VerlRewardConfig,
) -> RewardItem | ItemError:
    inputs, outputs = spec["inputs"], spec["outputs"]
    if spec.get("fn_name") or not isinstance(inputs, list) or not isinstance(outputs, list):
        return ItemError(
            "invalid_input",
            "only stdin tests ({'inputs': [str], 'outputs': [str]}) are read from this shape; "
            "give function tests as {'task': 'code', 'tests': [...]}",
        )
    if len(inputs) != len(outputs):
        return ItemError("invalid_input", f"{len(inputs)} inputs for {len(outputs)} outputs")
    tests = [
        {"stdin": str(i), "expected_stdout": str(o)} for i, o in zip(inputs, outputs, strict=True)
    ]
    language = extra.get("language") or config.code_language
    return RewardItem(**base, task="code", tests=tests, language=str(language))


# --- outcomes to verl's result dicts ---------------------------------------------------------


def _result(outcome: RewardOutcome | ItemError, config: VerlRewardConfig) -> dict[str, Any]:
    error = outcome if isinstance(outcome, ItemError) else outcome.error
    if error is not None or not isinstance(outcome, RewardOutcome) or outcome.reward is None:
        failed = config.failure_score
        code = error.code if error is not None else "no_reward"
        return {**dict.fromkeys(("score", *_COMPONENT_KEYS), failed), "failed": 1.0, "error": code}
    # None, not NaN, where a component does not apply: verl's validation metrics leave None
    # out of a mean, and NaN would turn the whole mean into NaN.
    components = {key: outcome.components.get(name) for key, name in _COMPONENT_KEYS.items()}
    return {"score": outcome.reward, **components, "failed": 0.0, "error": ""}


def _results(
    outcomes: Sequence[RewardOutcome | ItemError], config: VerlRewardConfig
) -> list[dict[str, Any]]:
    results = [_result(outcome, config) for outcome in outcomes]
    failures = Counter(r["error"] for r in results if r["failed"])
    if failures:
        summary = ", ".join(f"{code}: {count}" for code, count in failures.most_common())
        message = f"{sum(failures.values())} of {len(results)} samples failed ({summary})"
        first = next(o for o in outcomes if isinstance(o, ItemError) or o.error is not None)
        detail = first if isinstance(first, ItemError) else first.error
        if config.raise_on_failure:
            raise VerlRewardError(f"{message}; first: {detail}")
        logger.warning("%s; scored %s; first: %s", message, config.failure_score, detail)
    return results


# --- clients, one per thread (sync) or event loop (async) ------------------------------------

# verl's reward loop runs sync functions in a thread pool, and a RewardClient serves one thread.
_sync_clients: dict[tuple[int, VerlRewardConfig], RewardClient] = {}
_sync_lock = threading.Lock()
_async_clients: dict[tuple[asyncio.AbstractEventLoop, VerlRewardConfig], AsyncRewardClient] = {}
_batchers: dict[tuple[asyncio.AbstractEventLoop, VerlRewardConfig], "_Batcher"] = {}


def _sync_client(config: VerlRewardConfig) -> RewardClient:
    key = (threading.get_ident(), config)
    with _sync_lock:
        if key not in _sync_clients:
            _sync_clients[key] = RewardClient(config.client_config())
        return _sync_clients[key]


def _async_client(config: VerlRewardConfig) -> AsyncRewardClient:
    key = (asyncio.get_running_loop(), config)
    if key not in _async_clients:
        _async_clients[key] = AsyncRewardClient(config.client_config())
    return _async_clients[key]


def close_clients() -> None:
    """Close the synchronous functions' clients (they are reopened when next needed)."""
    with _sync_lock:
        clients = list(_sync_clients.values())
        _sync_clients.clear()
    for client in clients:
        client.close()


async def aclose_clients() -> None:
    """Close the async functions' clients of the running event loop; await it before the loop
    ends (verl's reward loop lives as long as the process, so it need not)."""
    loop = asyncio.get_running_loop()
    for key in [k for k in _batchers if k[0] is loop]:
        del _batchers[key]
    for key in [k for k in _async_clients if k[0] is loop]:
        await _async_clients.pop(key).aclose()


atexit.register(close_clients)


def _request(
    items: Sequence[RewardItem | ItemError], config: VerlRewardConfig
) -> tuple[list[RewardItem], dict[str, Any]]:
    valid = [item for item in items if isinstance(item, RewardItem)]
    weights = None if config.weights is None else dict(config.weights)
    return valid, {"weights": weights, "format_style": config.format_style}


def _merge(
    items: Sequence[RewardItem | ItemError], graded: Sequence[RewardOutcome]
) -> list[RewardOutcome | ItemError]:
    answers = iter(graded)
    return [next(answers) if isinstance(item, RewardItem) else item for item in items]


def _items(
    solution_strs: Sequence[Any],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None,
    config: VerlRewardConfig,
) -> list[RewardItem | ItemError]:
    solutions, truths = list(solution_strs), list(ground_truths)
    extras = [None] * len(solutions) if extra_infos is None else list(extra_infos)
    if not len(solutions) == len(truths) == len(extras):
        raise ValueError(
            f"{len(solutions)} solutions, {len(truths)} ground truths, {len(extras)} extra infos"
        )
    return [build_item(s, g, e, config) for s, g, e in zip(solutions, truths, extras, strict=True)]


# --- the functions verl calls ----------------------------------------------------------------


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[Any],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """verl's batch reward manager: one request for the batch, one dict per sample."""
    config = read_config(kwargs)
    items = _items(solution_strs, ground_truths, extra_infos, config)
    valid, options = _request(items, config)
    graded = _sync_client(config).score(valid, **options) if valid else []
    return _results(_merge(items, graded), config)


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's per-sample reward function (the naive reward manager): one request per sample."""
    return compute_score_batch(
        [data_source], [solution_str], [ground_truth], [extra_info], **kwargs
    )[0]


async def compute_score_async(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's async reward loop: samples awaited together share one request."""
    config = read_config(kwargs)
    item = build_item(solution_str, ground_truth, extra_info, config)
    outcome = item if isinstance(item, ItemError) else await _batcher(config).score(item)
    return _results([outcome], config)[0]


async def compute_score_batch_async(
    data_sources: Sequence[Any],
    solution_strs: Sequence[Any],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """:func:`compute_score_batch` for code that runs in an event loop."""
    config = read_config(kwargs)
    items = _items(solution_strs, ground_truths, extra_infos, config)
    valid, options = _request(items, config)
    graded = await _async_client(config).score(valid, **options) if valid else []
    return _results(_merge(items, graded), config)


# --- coalescing concurrent single-sample calls -----------------------------------------------


class _Batcher:
    """Collects the items awaited within ``batch_window_s`` and sends them as one request."""

    def __init__(self, config: VerlRewardConfig) -> None:
        self._config = config
        self._pending: list[tuple[RewardItem, asyncio.Future[RewardOutcome]]] = []
        # The loop keeps only weak references to tasks: these keep the sends alive.
        self._sending: set[asyncio.Task[None]] = set()

    async def score(self, item: RewardItem) -> RewardOutcome:
        future: asyncio.Future[RewardOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) == 1:  # the first of a batch sends it when the window closes
            asyncio.get_running_loop().call_later(self._config.batch_window_s, self._send)
        return await future

    def _send(self) -> None:
        task = asyncio.ensure_future(self._flush())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        items = [item for item, _ in batch]
        _, options = _request(items, self._config)
        try:
            outcomes = await _async_client(self._config).score(items, **options)
        except Exception as exc:  # every waiter gets the error, none is left hanging
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)


def _batcher(config: VerlRewardConfig) -> _Batcher:
    key = (asyncio.get_running_loop(), config)
    if key not in _batchers:
        _batchers[key] = _Batcher(config)
    return _batchers[key]
