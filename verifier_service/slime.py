"""slime's remote reward: ``POST /slime/reward`` with ``{prompt, response, label}``, one sample.

slime (``--rm-type remote_rm --rm-url URL``) posts each sample on its own and takes the JSON
answer as the sample's reward: a number here. With ``?detail=1`` the answer is an object
(``reward``, ``accuracy``, ``format``, ``language``, ``failed``, ``error``) for slime's
``--reward-key reward``, so failures can be counted on slime's side too.

The label is read as OpenRLHF's: a math reference, or a JSON object (or a string of one) with
a ``task``. A sample that cannot be graded gets ``VERIFIER_SLIME_FAILURE_REWARD``; the service
counts it (``verifier_item_errors_total``), logs it, and says so in ``failed``/``error`` of the
detailed answer and in the ``X-Verifier-Error`` header.

Concurrent single-sample calls are gathered for ``VERIFIER_SLIME_BATCH_WINDOW_S`` and graded
as one batch (``verifier_slime_batches_total`` counts the batches), as a batch request would be.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict

from verifier_service.errors import InvalidInputError, VerifierError
from verifier_service.grading import Grader
from verifier_service.openrlhf import COMPONENTS, label_item
from verifier_service.schemas import RewardItem, RewardResult, to_item_error
from verifier_service.wire import UnicodeCheckedRoute

router = APIRouter(tags=["slime"], route_class=UnicodeCheckedRoute)
logger = logging.getLogger(__name__)

Grade = Callable[[list[RewardItem]], Awaitable[list[RewardResult]]]


class SlimeRequest(BaseModel):
    # slime may send more of its Sample: accept and ignore it.
    model_config = ConfigDict(extra="ignore")

    prompt: str | list[dict[str, Any]] = ""
    response: str
    label: Any = None


class RewardCoalescer:
    """Gathers the items awaited within ``window_s`` (at most ``max_batch``) into one grading."""

    def __init__(self, grade: Grade, *, window_s: float, max_batch: int, batches: Counter) -> None:
        self._grade = grade
        self._window_s = window_s
        self._max_batch = max_batch
        self._batches = batches
        self._pending: list[tuple[RewardItem, asyncio.Future[RewardResult]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()  # the loop holds tasks only weakly

    async def score(self, item: RewardItem) -> RewardResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RewardResult] = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_batch:
            self._flush_now()
        elif self._timer is None:
            self._timer = loop.call_later(self._window_s, self._flush_now)
        return await future

    def _flush_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.ensure_future(self._flush(batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(self, batch: list[tuple[RewardItem, asyncio.Future[RewardResult]]]) -> None:
        self._batches.inc()
        try:
            results = await self._grade([item for item, _ in batch])
        except Exception as exc:  # every waiter gets the error; none is left hanging
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _coalescer(request: Request) -> RewardCoalescer:
    state = request.app.state
    if getattr(state, "slime_coalescer", None) is None:
        grader: Grader = state.grader
        settings = state.settings

        async def grade(items: list[RewardItem]) -> list[RewardResult]:
            with grader.admit(len(items)):
                config = grader.math_config(None)
                return await grader.rewards(items, weights=None, style=None, config=config)

        batches = Counter(
            "verifier_slime_batches",
            "Gradings of gathered /slime/reward calls.",
            registry=state.metrics.registry,
        )
        state.slime_coalescer = RewardCoalescer(
            grade,
            window_s=settings.slime_batch_window_s,
            max_batch=settings.slime_max_batch,
            batches=batches,
        )
    coalescer: RewardCoalescer = state.slime_coalescer
    return coalescer


def _prompt_text(prompt: str | list[dict[str, Any]]) -> str:
    """The prompt, or the last user message of a chat prompt."""
    if isinstance(prompt, str):
        return prompt
    users = [m.get("content") for m in prompt if m.get("role") == "user"]
    return users[-1] if users and isinstance(users[-1], str) else ""


def _label_text(label: Any) -> str:
    if isinstance(label, str):
        return label
    return json.dumps(label)  # an object from the dataset, or a number


@router.post("/slime/reward", response_model=None)
async def slime_reward(
    body: SlimeRequest, request: Request, response: Response, detail: bool = False
) -> float | dict[str, Any]:
    """One sample's reward (a number), or with ``?detail=1`` its components and failure flag."""
    grader: Grader = request.app.state.grader
    item = label_item(_prompt_text(body.prompt), body.response, _label_text(body.label))
    if isinstance(item, InvalidInputError):
        result = RewardResult(error=to_item_error(item, grader, "slime"))
    else:
        try:
            result = await _coalescer(request).score(item)
        except VerifierError as exc:
            if exc.code == "overloaded":
                raise
            result = RewardResult(error=to_item_error(exc))
    failure = request.app.state.settings.slime_failure_reward
    failed = result.error is not None or result.reward is None
    if failed:
        code = result.error.code if result.error else "no_reward"
        response.headers["X-Verifier-Error"] = code
        logger.warning("slime sample scored %s: %s", failure, result.error)
    reward = failure if failed or result.reward is None else result.reward
    if not detail:
        return reward
    components = {n: failure if failed else result.components.get(n) for n in COMPONENTS}
    error = result.error.code if result.error else ("no_reward" if failed else "")
    return {"reward": reward, **components, "failed": 1.0 if failed else 0.0, "error": error}
