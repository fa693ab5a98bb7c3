"""Batch grading: what the service does with an item, between the HTTP layer and the engine.

The engine's pure functions decide; this module adds what a service needs around them: size
limits, the result cache, sharing one grading among equal in-flight items (a GRPO group repeats
answers), the worker pool, metrics, and the conversion of every failure into a per-item error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace

from verifier_service.cache import LRUCache
from verifier_service.engine.combine import DEFAULT_WEIGHTS, combine_components
from verifier_service.engine.format import FormatStyle, format_reward
from verifier_service.engine.math import MathConfig, MathResult, extract_final_answer, grade_answer
from verifier_service.errors import GradingTimeoutError, InvalidInputError, VerifierError
from verifier_service.metrics import Metrics
from verifier_service.schemas import ItemError, RewardItem, RewardResult
from verifier_service.settings import Settings
from verifier_service.workers import WorkerPool

# Errors that the same input will raise again: cached like results. A crashed worker is not.
_CACHEABLE_ERRORS = {"invalid_reference", "timeout", "resource_limit"}


@dataclass(frozen=True)
class _CachedError:
    """An error kept in the cache; re-raised as a fresh exception each time."""

    error_type: type[VerifierError]
    message: str


class Grader:
    """Grades items for the HTTP endpoints; one instance per app."""

    def __init__(self, settings: Settings, pool: WorkerPool, metrics: Metrics) -> None:
        self.settings = settings
        self.pool = pool
        self.metrics = metrics
        self.cache: LRUCache[MathResult | _CachedError] = LRUCache(settings.cache_size)
        self._in_flight: dict[Hashable, asyncio.Future[MathResult | _CachedError]] = {}

    # --- math ------------------------------------------------------------------------------

    def math_config(self, last_number_fallback: bool | None) -> MathConfig:
        if last_number_fallback is None:
            last_number_fallback = self.settings.last_number_fallback
        return MathConfig(last_number_fallback=last_number_fallback)

    async def grade_math(self, response: str, reference: str, config: MathConfig) -> MathResult:
        """Grade one response; raises VerifierError for what cannot be graded."""
        self._check_size("response", response)
        self._check_size("reference", reference)
        extraction = extract_final_answer(
            response, last_number_fallback=config.last_number_fallback
        )
        if extraction.answer is None:
            return MathResult(False, None, extraction.reason, "no_answer")
        key = (extraction.answer, reference, config)
        outcome = self.cache.get(key)
        self.metrics.cache_lookups.labels("miss" if outcome is None else "hit").inc()
        if outcome is None:
            outcome = await self._grade_shared(key)
        if isinstance(outcome, _CachedError):
            raise outcome.error_type(outcome.message)
        return replace(outcome, extracted=extraction.answer)

    async def _grade_shared(self, key: tuple[str, str, MathConfig]) -> MathResult | _CachedError:
        future = self._in_flight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._grade_in_worker(*key))
            self._in_flight[key] = future
            future.add_done_callback(lambda _: self._in_flight.pop(key, None))
        # Shielded: one client giving up must not cancel the grading others wait for.
        return await asyncio.shield(future)

    async def _grade_in_worker(
        self, answer: str, reference: str, config: MathConfig
    ) -> MathResult | _CachedError:
        started = time.perf_counter()
        self.metrics.queue_depth.inc()
        try:
            outcome: MathResult | _CachedError = await self.pool.call(
                grade_answer,
                answer,
                reference,
                config=config,
                timeout=self.settings.math_timeout_s,
            )
        except VerifierError as exc:
            if isinstance(exc, GradingTimeoutError):
                self.metrics.timeouts.labels("math").inc()
            outcome = _CachedError(type(exc), exc.message)
            if exc.code not in _CACHEABLE_ERRORS:
                return outcome
        finally:
            self.metrics.queue_depth.dec()
            self.metrics.grading_seconds.labels("math").observe(time.perf_counter() - started)
        self.cache.put((answer, reference, config), outcome)
        return outcome

    def _check_size(self, field: str, text: str) -> None:
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > self.settings.max_item_bytes:
            raise InvalidInputError(
                f"{field} is {size} bytes; the limit is {self.settings.max_item_bytes} "
                "(VERIFIER_MAX_ITEM_BYTES)"
            )

    # --- rewards ---------------------------------------------------------------------------

    async def reward(
        self,
        item: RewardItem,
        *,
        weights: Mapping[str, float] | None,
        style: str | None,
        config: MathConfig,
    ) -> RewardResult:
        """Score one item: its components, their weighted sum, and why each has its value."""
        components: dict[str, float] = {}
        details: dict[str, object] = {}
        try:
            self._check_size("prompt", item.prompt)
            self._check_size("response", item.response)
            fmt_style = FormatStyle(item.format_style or style or self.settings.format_style)
            fmt = format_reward(item.response, style=fmt_style)
            components["format"] = fmt.score
            details["format"] = {"style": str(fmt_style), "reason": fmt.reason}
            if item.task == "math":
                if item.reference is None:
                    raise InvalidInputError("task 'math' needs a 'reference'")
                result = await self.grade_math(item.response, item.reference, config)
                components["accuracy"] = 1.0 if result.correct else 0.0
                details["accuracy"] = {
                    "extracted": result.extracted,
                    "rule": result.rule,
                    "reason": result.reason,
                }
            elif item.task != "none":
                raise InvalidInputError(f"task {item.task!r} is not supported by this server")
            if item.target_language is not None:
                raise InvalidInputError("the language reward is not supported by this server")
            reward = combine_components(components, DEFAULT_WEIGHTS if weights is None else weights)
        except VerifierError as exc:
            self.count_error("rewards", exc)
            return RewardResult(
                id=item.id,
                reward=None,
                components=components,
                details=details,
                error=ItemError(**exc.as_dict()),
            )
        return RewardResult(id=item.id, reward=reward, components=components, details=details)

    def count_error(self, component: str, exc: VerifierError) -> None:
        self.metrics.items.labels(component, "error").inc()
        self.metrics.item_errors.labels(component, exc.code).inc()
