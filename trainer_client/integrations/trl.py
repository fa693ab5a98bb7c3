"""TRL reward functions backed by the service: ``GRPOTrainer(reward_funcs=[VerifierReward()])``.

TRL calls a reward function once per step with the whole batch: ``prompts``, ``completions``
(strings, or chat messages for a conversational dataset), ``completion_ids`` and every other
dataset column as a keyword argument of per-sample lists. :class:`VerifierReward` turns that into
one ``POST /v1/rewards`` call and returns one value per completion.

Columns map to item fields (names configurable with :class:`RewardColumns`): ``reference`` or
``solution`` is the reference answer, ``task`` the item's task, ``tests`` (a list or a JSON
string) and ``language`` make a code item, ``target_language`` adds the language component.
Without a ``task`` column an item with tests is ``code``, one with a reference ``math``, and
any other ``none`` (format and language only).

A failed item is ``None``, which TRL turns into NaN: a completion every reward function left
NaN is left out of its group's baseline and gets no advantage, so a failure never counts as 0.

Several components with TRL's ``reward_weights``::

    reward = VerifierReward("http://127.0.0.1:8000")
    funcs = [reward.component("accuracy"), reward.component("format")]

The views share one client and the last batch's answer, so a step still makes one HTTP call.
:class:`AsyncVerifierReward` is the same with ``async def __call__``: TRL runs async reward
functions concurrently on an event loop of its own.
"""

from __future__ import annotations

import abc
import asyncio
import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Self

from trainer_client.client import (
    AsyncRewardClient,
    RewardClient,
    RewardClientConfig,
    RewardItem,
    RewardOutcome,
)

DEFAULT_URL = "http://127.0.0.1:8000"
TASKS = ("math", "code", "judge", "general", "none")


@dataclass(frozen=True)
class RewardColumns:
    """Which dataset columns hold which item fields. A column the dataset lacks is skipped."""

    reference: tuple[str, ...] = ("reference", "solution")
    """Candidates for the reference answer; the first column present is used."""
    task: str = "task"
    tests: str = "tests"
    """Code tests as in ``/v1/code/run``: a list of objects, or that list as a JSON string."""
    language: str = "language"
    """The programming language of a code item."""
    target_language: str = "target_language"
    """ISO 639-1 code of the language the answer should be written in."""


# --- turning TRL's arguments into reward items -----------------------------------------------


def message_text(message: Any) -> str:
    """The text of a message's content: a string, or the text parts of a multimodal list."""
    content = message.get("content") if isinstance(message, Mapping) else message
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            str(part.get("text", "")) if isinstance(part, Mapping) else str(part)
            for part in content
        )
    return str(content)


def completion_text(completion: str | Sequence[Mapping[str, Any]]) -> str:
    """A completion as text: the string itself, or the last assistant message's content."""
    if isinstance(completion, str):
        return completion
    answers = [m for m in completion if m.get("role", "assistant") == "assistant"]
    return message_text(answers[-1]) if answers else ""


def prompt_text(prompt: str | Sequence[Mapping[str, Any]]) -> str:
    """A prompt as text: the string itself, or the last user message (the judge's question)."""
    if isinstance(prompt, str):
        return prompt
    questions = [m for m in prompt if m.get("role") == "user"]
    return message_text(questions[-1]) if questions else ""


def _column(columns: Mapping[str, Sequence[Any]], name: str, index: int) -> Any:
    values = columns.get(name)
    return None if values is None else values[index]


def _tests(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the tests column is not JSON: {exc}") from exc
    if not isinstance(value, Sequence) or not all(isinstance(t, Mapping) for t in value):
        raise ValueError(f"tests must be a list of objects, got {value!r:.200}")
    return [dict(test) for test in value]


def build_reward_items(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    columns: Mapping[str, Sequence[Any]],
    *,
    names: RewardColumns = RewardColumns(),
    task: str | None = None,
    target_language: str | None = None,
) -> list[RewardItem]:
    """One reward item per completion; ``task`` and ``target_language`` are defaults."""
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts for {len(completions)} completions")
    reference_column = next((c for c in names.reference if columns.get(c) is not None), None)
    items = []
    for index, completion in enumerate(completions):
        reference = None if reference_column is None else columns[reference_column][index]
        tests = _tests(_column(columns, names.tests, index))
        item_task = _column(columns, names.task, index) or task
        if item_task is None:
            item_task = "code" if tests is not None else "math" if reference is not None else "none"
        if item_task not in TASKS:
            raise ValueError(f"task {item_task!r} is not one of {', '.join(TASKS)}")
        items.append(
            RewardItem(
                response=completion_text(completion),
                prompt=prompt_text(prompts[index]),
                task=item_task,
                reference=None if reference is None else str(reference),
                target_language=_column(columns, names.target_language, index) or target_language,
                tests=tests,
                language=_column(columns, names.language, index),
            )
        )
    return items


def _batch_key(items: Sequence[RewardItem]) -> str:
    return json.dumps([asdict(item) for item in items], sort_keys=True, default=str)


# --- the reward functions --------------------------------------------------------------------


class _Settings:
    """What every view of one reward function shares: how to build items and call the service."""

    def __init__(
        self,
        config: RewardClientConfig,
        *,
        name: str,
        weights: Mapping[str, float] | None,
        format_style: str | None,
        task: str | None,
        target_language: str | None,
        columns: RewardColumns,
    ) -> None:
        if task is not None and task not in TASKS:
            raise ValueError(f"task {task!r} is not one of {', '.join(TASKS)}")
        self.config = config
        self.name = name
        self.weights = None if weights is None else dict(weights)
        self.format_style = format_style
        self.task = task
        self.target_language = target_language
        self.columns = columns

    def items(
        self, prompts: Sequence[Any], completions: Sequence[Any], columns: Mapping[str, Any]
    ) -> list[RewardItem]:
        return build_reward_items(
            prompts,
            completions,
            columns,
            names=self.columns,
            task=self.task,
            target_language=self.target_language,
        )

    def report(self, outcomes: Sequence[RewardOutcome], columns: Mapping[str, Any]) -> None:
        """Log the failed share and each failure's code through TRL's hooks, when TRL gave them."""
        codes = [o.error.code if o.error else "" for o in outcomes]
        log_metric: Callable[[str, float], None] | None = columns.get("log_metric")
        log_extra: Callable[[str, list[Any]], None] | None = columns.get("log_extra")
        if log_metric is not None and outcomes:
            log_metric(f"{self.name}/failed", sum(1 for c in codes if c) / len(codes))
        if log_extra is not None:
            log_extra(f"{self.name}_error", codes)


class _Base(abc.ABC):
    """Item building and value picking, common to the sync and async functions."""

    __name__: str
    _settings: _Settings
    _component: str | None

    def __init__(
        self,
        url: str | Sequence[str] = DEFAULT_URL,
        *,
        component: str | None = None,
        name: str = "verifier",
        api_key: str | None = None,
        weights: Mapping[str, float] | None = None,
        format_style: str | None = None,
        task: str | None = None,
        target_language: str | None = None,
        columns: RewardColumns = RewardColumns(),
        chunk_size: int = 256,
        timeout_s: float = 180.0,
        retries: int = 4,
        raise_when_unavailable: bool = False,
    ) -> None:
        config = RewardClientConfig(
            urls=(url,) if isinstance(url, str) else tuple(url),
            api_key=api_key,
            chunk_size=chunk_size,
            timeout_s=timeout_s,
            retries=retries,
            raise_when_unavailable=raise_when_unavailable,
        )
        self._settings = _Settings(
            config,
            name=name,
            weights=weights,
            format_style=format_style,
            task=task,
            target_language=target_language,
            columns=columns,
        )
        self._set_component(component)
        self._start()

    @abc.abstractmethod
    def _start(self) -> None:
        """Make the state the views share (the client, the last batch): sync or async."""

    def _set_component(self, component: str | None) -> None:
        if component is not None and not component:
            raise ValueError("component is empty: give a name such as 'accuracy', or None")
        self._component = component
        # TRL logs each reward function under its __name__ (rewards/<name>/mean).
        base = self._settings.name
        self.__name__ = base if component is None else f"{base}_{component}"

    def component(self, name: str) -> Self:
        """A view returning one component (``accuracy``, ``format``, ``language``) of the same
        answer; the views of one function share its client and its last batch."""
        view = copy.copy(self)
        view._set_component(name)
        return view

    def _values(self, outcomes: Sequence[RewardOutcome]) -> list[float | None]:
        if self._component is None:
            return [o.reward for o in outcomes]
        # An absent component does not apply to the item (no target language, say): None.
        return [None if o.error else o.components.get(self._component) for o in outcomes]


class VerifierReward(_Base):
    """A synchronous TRL reward function: one ``/v1/rewards`` call per step.

    ``component=None`` returns the combined reward (weighted by ``weights`` on the server);
    ``component="accuracy"`` returns that component alone. :meth:`component` makes such a view
    that shares the call. Call :meth:`close` (or use ``with``) to release the connections.
    """

    def _start(self) -> None:
        self._shared = _SyncBatch(self._settings)

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        items = self._settings.items(prompts, completions, columns)
        return self._values(self._shared.score(items, columns))

    def close(self) -> None:
        self._shared.close()

    def __enter__(self) -> VerifierReward:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncVerifierReward(_Base):
    """:class:`VerifierReward` with ``async def __call__``, for TRL's concurrent reward calls.

    The client is made on the first call, inside the event loop that awaits it (TRL's own).
    """

    def _start(self) -> None:
        self._shared = _AsyncBatch(self._settings)

    async def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        items = self._settings.items(prompts, completions, columns)
        return self._values(await self._shared.score(items, columns))

    async def aclose(self) -> None:
        await self._shared.aclose()


# --- one call per batch, shared by the views -------------------------------------------------


def _failed(future: asyncio.Future[Any]) -> bool:
    """Whether a finished request failed: the next call must try again, not re-raise."""
    return future.done() and (future.cancelled() or future.exception() is not None)


class _SyncBatch:
    """The client and the last batch's outcomes: a second view of the same batch reuses them."""

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings
        self._client: RewardClient | None = None
        self._last: tuple[str, list[RewardOutcome]] | None = None

    def score(self, items: Sequence[RewardItem], columns: Mapping[str, Any]) -> list[RewardOutcome]:
        key = _batch_key(items)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        if self._client is None:
            self._client = RewardClient(self._settings.config)
        outcomes = self._client.score(
            items, weights=self._settings.weights, format_style=self._settings.format_style
        )
        self._last = (key, outcomes)
        self._settings.report(outcomes, columns)
        return outcomes

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class _AsyncBatch:
    """As :class:`_SyncBatch`; views awaited together wait on one request, not one each."""

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings
        self._client: AsyncRewardClient | None = None
        self._last: tuple[str, asyncio.Future[list[RewardOutcome]]] | None = None

    async def score(
        self, items: Sequence[RewardItem], columns: Mapping[str, Any]
    ) -> list[RewardOutcome]:
        key = _batch_key(items)
        if self._last is None or self._last[0] != key or _failed(self._last[1]):
            self._last = (key, asyncio.ensure_future(self._fetch(items, columns)))
        return await asyncio.shield(self._last[1])

    async def _fetch(
        self, items: Sequence[RewardItem], columns: Mapping[str, Any]
    ) -> list[RewardOutcome]:
        if self._client is None:
            self._client = AsyncRewardClient(self._settings.config)
        outcomes = await self._client.score(
            items, weights=self._settings.weights, format_style=self._settings.format_style
        )
        self._settings.report(outcomes, columns)
        return outcomes

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
