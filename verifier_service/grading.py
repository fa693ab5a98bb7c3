"""Batch grading: what the service does with an item, between the HTTP layer and the engine.

The engine's pure functions decide; this module adds what a service needs around them: size
limits, the result cache (bounded in bytes, keyed by digests), sharing one grading among equal
in-flight items (a GRPO group repeats answers), request deadlines, the worker pool, the judge
backend, metrics, and the conversion of every failure into a per-item error.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sandbox import Program, RunResult, Sandbox, Verdict
from verifier_service.audit import Auditor
from verifier_service.cache import BytesLRU, CacheStats, text_key
from verifier_service.engine.code import (
    Scoring,
    build_limits,
    build_tests,
    extract_program,
    score_run,
)
from verifier_service.engine.combine import DEFAULT_WEIGHTS, combine_components
from verifier_service.engine.format import FormatStyle, format_reward
from verifier_service.engine.judge import (
    JudgeBackend,
    JudgeItem,
    JudgeMode,
    JudgeOptions,
    JudgeResult,
    VerdictCache,
    cascade_items,
)
from verifier_service.engine.language import (
    LanguageOptions,
    LanguageResult,
    Scope,
    language_consistency,
)
from verifier_service.engine.math import MathConfig, MathResult, extract_final_answer, grade_answer
from verifier_service.errors import (
    DeadlineExceededError,
    GradingTimeoutError,
    InvalidInputError,
    JudgeError,
    JudgeNotConfiguredError,
    SandboxError,
    ServiceOverloadedError,
    VerifierError,
)
from verifier_service.general import GeneralInput, GeneralRewards
from verifier_service.metrics import Metrics
from verifier_service.scheduling import current_scope, request_scope
from verifier_service.schemas import CodeLimits, CodeTest, ItemError, RewardItem, RewardResult
from verifier_service.settings import Settings
from verifier_service.workers import WorkerPool

# Errors that the same input will raise again: cached like results. A crashed worker is not.
_CACHEABLE_ERRORS = {"invalid_reference", "timeout", "resource_limit"}
T = TypeVar("T")


@dataclass(frozen=True)
class _CachedError:
    """An error kept in the cache; re-raised as a fresh exception each time."""

    error_type: type[VerifierError]
    message: str


@dataclass(frozen=True)
class CodeOutcome:
    """A code item's run, or why there was nothing to run (``result`` None)."""

    result: RunResult | None
    program: str | None
    reason: str


@dataclass
class _Shared:
    """One grading in flight and how many items wait for it (cancelled when none does)."""

    future: asyncio.Future[MathResult | _CachedError]
    waiters: int = 0
    abandoned: bool = False  # cancelled, not yet finished: a newcomer starts afresh


@dataclass
class _Scored:
    """One reward item on its way: the components so far, why, and a failure if any."""

    item: RewardItem
    components: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: VerifierError | None = None
    math: MathResult | None = None


class Grader:
    """Grades items for the HTTP endpoints and the CLI; one instance per app."""

    def __init__(
        self,
        settings: Settings,
        pool: WorkerPool,
        metrics: Metrics,
        judge: JudgeBackend | None = None,
        sandbox: Sandbox | None = None,
        auditor: Auditor | None = None,
        general: GeneralRewards | None = None,
    ) -> None:
        self.settings = settings
        self.auditor = auditor
        self.general = general
        self.sandbox = sandbox
        self.pool = pool
        self.metrics = metrics
        self.judge_backend = judge
        self.cache: BytesLRU[MathResult | _CachedError] = BytesLRU("results", settings.cache_bytes)
        self.verdicts = VerdictCache(settings.judge_cache_bytes)
        self._judge_options = JudgeOptions(
            max_answer_chars=settings.judge_max_answer_chars,
            swap_check=settings.judge_swap_check,
        )
        # Keyed by digest, like the cache; bounded by the admitted items.
        self._in_flight: dict[bytes, _Shared] = {}
        self._admitted = 0

    @contextmanager
    def admit(
        self, items: int, *, deadline_s: float | None = None, priority: int = 0
    ) -> Iterator[None]:
        """Hold ``items`` places in the grading queue for the duration of a request, and serve
        it as one flow of the fair queue with this priority and deadline (the server's
        default when None; never past ``VERIFIER_MAX_DEADLINE_S``).

        Raises ServiceOverloadedError (429) when the queue would pass
        ``VERIFIER_MAX_QUEUED_ITEMS``: memory stays bounded and the client backs off. A request
        arriving at an empty queue is always admitted.
        """
        limit = self.settings.max_queued_items
        if self._admitted and self._admitted + items > limit:
            self.metrics.rejections.labels("overloaded").inc()
            raise ServiceOverloadedError(
                f"{self._admitted} items are being graded and the limit is {limit} "
                "(VERIFIER_MAX_QUEUED_ITEMS): retry later"
            )
        self._admitted += items
        self.metrics.admitted_items.set(self._admitted)
        deadline_s = min(
            deadline_s or self.settings.default_deadline_s, self.settings.max_deadline_s
        )
        try:
            fair = self.settings.scheduling == "fair"
            with request_scope(deadline_s=deadline_s, priority=priority, fair=fair):
                yield
        finally:
            self._admitted -= items
            self.metrics.admitted_items.set(self._admitted)

    # --- math ------------------------------------------------------------------------------

    def math_config(self, last_number_fallback: bool | None) -> MathConfig:
        if last_number_fallback is None:
            last_number_fallback = self.settings.last_number_fallback
        return MathConfig(last_number_fallback=last_number_fallback)

    async def grade_math(
        self, response: str, reference: str, config: MathConfig, *, question: str = ""
    ) -> MathResult:
        """Grade one response; raises VerifierError for what cannot be graded."""
        self.check_size("response", response)
        self.check_size("reference", reference)
        extraction = extract_final_answer(
            response, last_number_fallback=config.last_number_fallback
        )
        if extraction.answer is None:
            result = MathResult(False, None, extraction.reason, "no_answer")
        else:
            key = text_key(extraction.answer, reference, config)
            outcome = self.cache.get(key)
            self.metrics.cache_lookups.labels("miss" if outcome is None else "hit").inc()
            if outcome is None:
                outcome = await self.before_deadline(
                    self._grade_shared(key, extraction.answer, reference, config)
                )
            if isinstance(outcome, _CachedError):
                raise outcome.error_type(outcome.message)
            result = replace(outcome, extracted=extraction.answer)
        if self.auditor is not None:
            self.auditor.offer_math(
                question=question, response=response, reference=reference, result=result
            )
        return result

    async def _grade_shared(
        self, key: bytes, answer: str, reference: str, config: MathConfig
    ) -> MathResult | _CachedError:
        shared = self._in_flight.get(key)
        if shared is None or shared.abandoned:
            future = asyncio.ensure_future(self._grade_in_worker(key, answer, reference, config))
            shared = self._in_flight[key] = _Shared(future)
            future.add_done_callback(lambda done: self._forget(key, done))
        shared.waiters += 1
        try:
            # Shielded: one item giving up must not cancel the grading others wait for...
            return await asyncio.shield(shared.future)
        finally:
            shared.waiters -= 1
            if not shared.waiters and not shared.future.done():
                shared.abandoned = True
                shared.future.cancel()  # ...but when no one waits, the work stops

    def _forget(self, key: bytes, done: asyncio.Future[MathResult | _CachedError]) -> None:
        shared = self._in_flight.get(key)
        if shared is not None and shared.future is done:  # not a newer grading of the key
            del self._in_flight[key]

    async def _grade_in_worker(
        self, key: bytes, answer: str, reference: str, config: MathConfig
    ) -> MathResult | _CachedError:
        outcome: MathResult | _CachedError
        try:
            result: MathResult = await self._in_worker(
                "math",
                self.settings.math_timeout_s,
                grade_answer,
                answer,
                reference,
                config=config,
            )
            # The answer comes back from the request each time: the cache keeps no copy of it.
            outcome = replace(result, extracted=None)
        except VerifierError as exc:
            outcome = _CachedError(type(exc), exc.message)
            if exc.code not in _CACHEABLE_ERRORS:
                return outcome
        self.cache.put(key, outcome)
        return outcome

    # --- language --------------------------------------------------------------------------

    async def score_language(
        self, text: str, target: str, *, scope: Scope = Scope.REASONING
    ) -> LanguageResult:
        """Language consistency of ``text``; raises VerifierError (e.g. unknown target)."""
        self.check_size("text", text)
        options = LanguageOptions(scope=scope)
        return await self.before_deadline(
            self._in_worker(
                "language",
                self.settings.language_timeout_s,
                language_consistency,
                text,
                target=target,
                options=options,
            )
        )

    # --- code ------------------------------------------------------------------------------

    async def run_code(
        self,
        *,
        language: str,
        code: str | None,
        response: str | None,
        tests: list[CodeTest],
        limits: CodeLimits,
        stop_on_first_failure: bool,
    ) -> CodeOutcome:
        """Run a program (given, or extracted from a response) against its tests.

        Raises InvalidInputError for unusable items and SandboxError when the sandbox fails:
        a sandbox fault is never reported as the program's failure.
        """
        if self.sandbox is None:
            raise SandboxError("code execution is off on this server (VERIFIER_SANDBOX_BACKEND)")
        if len(tests) > self.settings.code_max_tests:
            raise InvalidInputError(
                f"{len(tests)} tests; the limit is {self.settings.code_max_tests} "
                "(VERIFIER_CODE_MAX_TESTS)"
            )
        sandbox_tests = build_tests([t.model_dump(exclude_unset=True) for t in tests])
        sandbox_limits = build_limits(limits.time_s, limits.memory_mb)
        if code is not None and response is None:
            reason = "the program as given"
        elif response is not None and code is None:
            self.check_size("response", response)
            extraction = extract_program(response, language)
            if extraction.code is None:
                return CodeOutcome(None, None, extraction.reason)
            code, reason = extraction.code, extraction.reason
        else:
            raise InvalidInputError("a code item needs exactly one of 'code' and 'response'")
        self.check_size("code", code)
        started = time.perf_counter()
        # Cancelled at the deadline, the sandbox stops the run and replaces its container.
        result = await self.before_deadline(
            self.sandbox.run(
                Program(language, code),
                sandbox_tests,
                sandbox_limits,
                stop_on_first_failure=stop_on_first_failure,
            )
        )
        self.metrics.grading_seconds.labels("code").observe(time.perf_counter() - started)
        self.metrics.code_verdicts.labels(str(result.verdict)).inc()
        if result.verdict is Verdict.SE:
            raise SandboxError(f"the sandbox failed: {result.reason}")
        if self.auditor is not None:
            self.auditor.offer_code(
                program=Program(language, code),
                tests=sandbox_tests,
                limits=sandbox_limits,
                stop_on_first_failure=stop_on_first_failure,
                result=result,
                wire={
                    "language": language,
                    "code": code,
                    "tests": [t.model_dump(exclude_unset=True) for t in tests],
                    "limits": limits.model_dump(),
                    "stop_on_first_failure": stop_on_first_failure,
                },
            )
        return CodeOutcome(result, code, reason)

    # --- judge -----------------------------------------------------------------------------

    async def judge(
        self,
        items: Sequence[JudgeItem],
        *,
        mode: JudgeMode,
        math_results: Sequence[MathResult | None] | None = None,
    ) -> list[JudgeResult]:
        """Judge a batch (cascade: the math rules first); raises JudgeNotConfiguredError."""
        if self.judge_backend is None:
            raise JudgeNotConfiguredError(
                "no judge is configured on this server: set VERIFIER_JUDGE_BACKEND=openai "
                "(with VERIFIER_JUDGE_BASE_URL and VERIFIER_JUDGE_MODEL) or =local"
            )
        if math_results is None:
            math_results = await self._math_for_cascade(items, mode)
        started = time.perf_counter()
        results = await self.before_deadline(
            cascade_items(
                items,
                math_results,
                backend=self.judge_backend,
                template=self.settings.judge_template,
                options=self._judge_options,
                cache=self.verdicts,
                mode=mode,
            )
        )
        self.metrics.grading_seconds.labels("judge").observe(time.perf_counter() - started)
        return results

    async def _math_for_cascade(
        self, items: Sequence[JudgeItem], mode: JudgeMode
    ) -> list[MathResult | None]:
        if mode == "judge":
            return [None] * len(items)
        config = self.math_config(None)

        async def rules(item: JudgeItem) -> MathResult | None:
            try:
                return await self.grade_math(item.response, item.reference, config)
            except VerifierError:  # the rules could not decide: the judge will
                return None

        return list(await asyncio.gather(*(rules(item) for item in items)))

    # --- rewards ---------------------------------------------------------------------------

    async def rewards(
        self,
        items: Sequence[RewardItem],
        *,
        weights: Mapping[str, float] | None,
        style: str | None,
        config: MathConfig,
        code_scoring: Scoring = "binary",
    ) -> list[RewardResult]:
        """Score a batch: rule components per item, one judge call for the judge items."""
        scored = list(
            await asyncio.gather(
                *(self._rule_components(i, style, config, code_scoring) for i in items)
            )
        )
        await self._judge_components([s for s in scored if s.item.task == "judge" and not s.error])
        await self._general_components(
            [s for s in scored if s.item.task == "general" and not s.error]
        )
        return [self._finish(s, DEFAULT_WEIGHTS if weights is None else weights) for s in scored]

    async def _rule_components(
        self, item: RewardItem, style: str | None, config: MathConfig, code_scoring: Scoring
    ) -> _Scored:
        scored = _Scored(item)
        try:
            self.check_size("prompt", item.prompt)
            self.check_size("response", item.response)
            fmt_style = FormatStyle(item.format_style or style or self.settings.format_style)
            fmt = format_reward(item.response, style=fmt_style)
            scored.components["format"] = fmt.score
            scored.details["format"] = {"style": str(fmt_style), "reason": fmt.reason}
            reference = item.reference
            if item.task in ("math", "judge") and reference is None:
                raise InvalidInputError(f"task {item.task!r} needs a 'reference'")
            if item.task == "math" and reference is not None:
                result = await self.grade_math(
                    item.response, reference, config, question=item.prompt
                )
                self._count_outcome("math", result.correct)
                scored.components["accuracy"] = 1.0 if result.correct else 0.0
                scored.details["accuracy"] = {
                    "extracted": result.extracted,
                    "rule": result.rule,
                    "reason": result.reason,
                }
            elif item.task == "code":
                await self._code_component(scored, code_scoring)
            if item.target_language is not None:
                language = await self.score_language(item.response, item.target_language)
                scored.details["language"] = {
                    "counts": language.counts,
                    "reason": language.reason,
                }
                # No words, no score: the component is absent rather than a made-up 0.
                if language.score is not None:
                    scored.components["language"] = language.score
        except VerifierError as exc:
            scored.error = exc
        return scored

    async def _code_component(self, scored: _Scored, scoring: Scoring) -> None:
        item = scored.item
        if item.language is None or item.tests is None:
            raise InvalidInputError("task 'code' needs 'language' and 'tests'")
        outcome = await self.run_code(
            language=item.language,
            code=None,
            response=item.response,
            tests=item.tests,
            limits=item.limits,
            # Binary scoring needs only the first failure; a fraction needs every test.
            stop_on_first_failure=scoring == "binary",
        )
        if outcome.result is None:  # no program in the response: a wrong answer, with why
            scored.components["accuracy"] = 0.0
            scored.details["accuracy"] = {"verdict": None, "reason": outcome.reason}
            return
        result = outcome.result
        scored.components["accuracy"] = score_run(result, scoring)
        scored.details["accuracy"] = {
            "verdict": str(result.verdict),
            "passed": result.passed,
            "total": result.total,
            "reason": result.reason or outcome.reason,
        }

    async def _judge_components(self, scored: list[_Scored]) -> None:
        if not scored:
            return
        items = [
            JudgeItem(
                question=s.item.prompt, reference=s.item.reference or "", response=s.item.response
            )
            for s in scored
        ]
        try:
            verdicts = await self.judge(items, mode=self.settings.judge_mode)
        except VerifierError as exc:  # no judge, or the deadline passed
            for entry in scored:
                entry.error = exc
            return
        for entry, verdict in zip(scored, verdicts, strict=True):
            entry.details["accuracy"] = {
                "decided_by": verdict.decided_by,
                "verdict": verdict.verdict,
                "reason": verdict.reason,
                "deterministic": verdict.deterministic,
                "error": verdict.error.as_dict() if verdict.error else None,
            }
            if verdict.correct is None:  # the judge failed: no reward, never a silent 0
                error = verdict.error
                entry.error = JudgeError(error.message if error else "the judge gave no verdict")
                continue
            # An unparseable verdict counts as incorrect (its code stays in the details).
            self._count_outcome("judge", verdict.correct)
            entry.components["accuracy"] = 1.0 if verdict.correct else 0.0

    async def _general_components(self, scored: list[_Scored]) -> None:
        if not scored:
            return
        if self.general is None:
            for entry in scored:
                entry.error = JudgeNotConfiguredError("general rewards are off on this server")
            return
        inputs = [
            GeneralInput(s.item.prompt, s.item.response, FormatStyle(s.details["format"]["style"]))
            for s in scored
        ]
        started = time.perf_counter()
        try:
            outcomes = await self.before_deadline(self.general.score(inputs))
        except VerifierError as exc:  # the deadline passed
            for entry in scored:
                entry.error = exc
            return
        self.metrics.grading_seconds.labels("general").observe(time.perf_counter() - started)
        for entry, outcome in zip(scored, outcomes, strict=True):
            entry.components.update(outcome.components)
            entry.details.update(outcome.details)
            entry.error = outcome.error

    def _finish(self, scored: _Scored, weights: Mapping[str, float]) -> RewardResult:
        item = scored.item
        try:
            if scored.error is not None:
                raise scored.error
            reward = combine_components(scored.components, weights)
        except VerifierError as exc:
            self.count_error("rewards", exc)
            return RewardResult(
                id=item.id,
                reward=None,
                components=scored.components,
                details=scored.details,
                error=ItemError(**exc.as_dict()),
            )
        return RewardResult(
            id=item.id, reward=reward, components=scored.components, details=scored.details
        )

    # --- shared ----------------------------------------------------------------------------

    async def before_deadline(self, work: Awaitable[T]) -> T:
        """``await work``, stopped at the current request's deadline (DeadlineExceededError);
        cancelling it drops a queued item and stops a running one."""
        scope = current_scope()
        timeout = asyncio.timeout_at(None if math.isinf(scope.deadline) else scope.deadline)
        try:
            async with timeout:
                return await work
        except TimeoutError as exc:
            if not timeout.expired():  # not ours: raised inside the work
                raise
            self.metrics.deadline_expired.inc()
            raise DeadlineExceededError(
                f"the request's deadline of {scope.deadline_s:g} s passed before this item "
                "was graded"
            ) from exc

    async def _in_worker(
        self, component: str, timeout: float, function: Any, *args: Any, **kwargs: Any
    ) -> Any:
        started = time.perf_counter()
        self.metrics.queue_depth.inc()
        try:
            return await self.pool.call(function, *args, timeout=timeout, **kwargs)
        except GradingTimeoutError:
            self.metrics.timeouts.labels(component).inc()
            raise
        finally:
            self.metrics.queue_depth.dec()
            self.metrics.grading_seconds.labels(component).observe(time.perf_counter() - started)

    def cache_stats(self) -> list[tuple[str, CacheStats]]:
        """Every cache and the process it lives in, for /metrics."""
        here = [("service", self.cache.stats()), ("service", self.verdicts.stats())]
        return here + [("workers", stats) for stats in self.pool.cache_stats()]

    def check_size(self, field: str, text: str) -> None:
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > self.settings.max_item_bytes:
            raise InvalidInputError(
                f"{field} is {size} bytes; the limit is {self.settings.max_item_bytes} "
                "(VERIFIER_MAX_ITEM_BYTES)"
            )

    def _count_outcome(self, component: str, correct: bool) -> None:
        self.metrics.items.labels(component, "correct" if correct else "incorrect").inc()

    def count_error(self, component: str, exc: VerifierError) -> None:
        self.metrics.items.labels(component, "error").inc()
        self.metrics.item_errors.labels(component, exc.code).inc()
