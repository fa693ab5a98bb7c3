"""The online audit: a sample of graded items graded again by a second verifier, off the hot path.

A sampled item is queued after its response has been computed; background tasks grade it again
and compare. Math: Math-Verify in a killable worker of the audit's own pool, then the judge
(when one is configured) on items the rules rejected or the two rule graders disagree on. Code:
the program is run again in the sandbox, so flaky tests and nondeterminism show up.

The audit observes and never decides: nothing it finds changes a reward that was returned, a
full audit queue drops samples (counted) instead of waiting, and every failure of the second
verifier (a crash, a hang, a judge error) is counted and logged, never raised. What it reports:
Prometheus counters of agreements and disagreements per component, rule and direction,
estimated false-negative and false-positive rates with a Wilson interval (``GET /v1/audit``),
and every disagreement as a golden-format JSONL line, ready for review and
``verifier check --update``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import math
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from logging.handlers import RotatingFileHandler
from typing import Any

from sandbox import Limits, Program, RunResult, Sandbox, Test, Verdict
from verifier_service.engine.judge import JudgeItem, JudgeResult
from verifier_service.engine.math import MathResult
from verifier_service.engine.peer import math_verify_accepts
from verifier_service.errors import VerifierError
from verifier_service.metrics import Metrics
from verifier_service.settings import Settings
from verifier_service.version import GRADER_VERSION
from verifier_service.workers import WorkerPool

logger = logging.getLogger(__name__)

# A request's own audit rate (its body's ``audit_rate``), seen by every item graded for it.
REQUEST_AUDIT_RATE: ContextVar[float | None] = ContextVar("request_audit_rate", default=None)

JudgeCall = Callable[[Sequence[JudgeItem]], Awaitable[list[JudgeResult]]]
_Z_95 = 1.959964


@dataclass(frozen=True)
class Interval:
    """A rate estimated from ``hits`` of ``n`` trials, with its 95% Wilson score interval."""

    hits: int
    n: int
    estimate: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
            "n": self.n,
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
        }


def wilson_interval(hits: int, n: int, z: float = _Z_95) -> Interval:
    """The Wilson score interval: honest at small n and at rates near 0 or 1."""
    if n == 0:
        return Interval(hits, n, None, None, None)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(hits, n, p, max(0.0, centre - half), min(1.0, centre + half))


def direction(rules_accept: bool, second: str, second_accepts: bool) -> str:
    """``agree``, or which way the rules and the second verifier part, e.g.
    ``rules_reject_judge_accepts``."""
    if rules_accept == second_accepts:
        return "agree"
    if rules_accept:
        return f"rules_accept_{second}_rejects"
    return f"rules_reject_{second}_accepts"


@dataclass
class _Tally:
    """One component's audit so far. The deciding second opinion is the judge's when it was
    asked, else the other rule grader's (the re-run's for code)."""

    audited: int = 0
    rules_accepted: int = 0
    rules_rejected: int = 0
    rejected_but_second_accepts: int = 0  # estimated false negatives
    accepted_but_second_rejects: int = 0  # estimated false positives
    comparisons: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def report(self) -> dict[str, Any]:
        fn = wilson_interval(self.rejected_but_second_accepts, self.rules_rejected)
        fp = wilson_interval(self.accepted_but_second_rejects, self.rules_accepted)
        by_second: dict[str, dict[str, int]] = {}
        for (second, outcome), count in sorted(self.comparisons.items()):
            by_second.setdefault(second, {})[outcome] = count
        return {
            "audited": self.audited,
            "rules_accepted": self.rules_accepted,
            "rules_rejected": self.rules_rejected,
            "comparisons": by_second,
            "false_negative_rate": fn.as_dict(),
            "false_positive_rate": fp.as_dict(),
            "errors": dict(self.errors),
        }


@dataclass(frozen=True)
class _MathJob:
    question: str
    response: str
    reference: str
    result: MathResult


@dataclass(frozen=True)
class _CodeJob:
    program: Program
    tests: tuple[Test, ...]
    limits: Limits
    stop_on_first_failure: bool
    result: RunResult
    wire: Mapping[str, Any]  # the item as the API takes it, for the disagreement log


_Job = _MathJob | _CodeJob


_niced = False


def _audit_math_verify(response: str, reference: str) -> bool:
    """Math-Verify in an audit worker, at the lowest CPU priority: grading comes first."""
    global _niced
    if not _niced:
        os.nice(19)
        _niced = True
    return math_verify_accepts(response, reference)


class Auditor:
    """Samples graded items and grades them again in the background; see the module doc."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        *,
        judge: JudgeCall | None = None,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._judge = judge
        self.sandbox = sandbox
        self._random = random.Random(settings.audit_seed)
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=settings.audit_queue_size)
        self._pool = WorkerPool(workers=1, memory_mb=settings.worker_memory_mb)
        self._tasks: list[asyncio.Task[None]] = []
        self._tallies: dict[str, _Tally] = {}
        self._dropped: Counter[str] = Counter()
        self._rows = 0
        self._log = _disagreement_log(settings)
        self._started = time.time()

    @property
    def enabled(self) -> bool:
        """Whether items are sampled without a request asking (its audit_rate can, anyway)."""
        return self.settings.audit_rate > 0

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._drain(), name=f"audit-{i}")
            for i in range(self.settings.audit_concurrency)
        ]
        if self.enabled and importlib.util.find_spec("math_verify") is not None:
            # Math-Verify's import takes seconds: done now, in the background, not on the
            # first sampled item while requests are arriving.
            self._tasks.append(asyncio.create_task(self._warm_up(), name="audit-warm-up"))

    async def _warm_up(self) -> None:
        with contextlib.suppress(VerifierError):
            await self._pool.call(_audit_math_verify, "\\boxed{1}", "1", timeout=60)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.close()
        if self._log is not None:
            for handler in self._log.handlers:
                handler.close()

    # --- sampling (on the request path: cheap, never raises) -------------------------------

    def _sampled(self, component: str) -> bool:
        rate = self.settings.audit_rate
        requested = REQUEST_AUDIT_RATE.get()
        if requested is not None and self.settings.audit_allow_request_rate:
            rate = requested
        if rate <= 0 or self._random.random() >= rate:
            return False
        self.metrics.audit_sampled.labels(component).inc()
        return True

    def _enqueue(self, component: str, job: _Job) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:  # the audit falls behind; grading never waits for it
            self._dropped[component] += 1
            self.metrics.audit_dropped.labels(component).inc()

    def offer_math(
        self, *, question: str, response: str, reference: str, result: MathResult
    ) -> None:
        """Maybe audit a graded math item."""
        if self._sampled("math"):
            self._enqueue("math", _MathJob(question, response, reference, result))

    def offer_code(
        self,
        *,
        program: Program,
        tests: Sequence[Test],
        limits: Limits,
        stop_on_first_failure: bool,
        result: RunResult,
        wire: Mapping[str, Any],
    ) -> None:
        """Maybe audit a code item that got a verdict."""
        if self.sandbox is not None and self._sampled("code"):
            job = _CodeJob(program, tuple(tests), limits, stop_on_first_failure, result, wire)
            self._enqueue("code", job)

    # --- the second verifier (background) ----------------------------------------------------

    async def _drain(self) -> None:
        while True:
            job = await self._queue.get()
            component = "math" if isinstance(job, _MathJob) else "code"
            try:
                async with asyncio.timeout(self.settings.audit_timeout_s):
                    if isinstance(job, _MathJob):
                        await self._audit_math(job)
                    else:
                        await self._audit_code(job)
            except TimeoutError:
                self._count_error(component, "timeout")
            except Exception:  # a bug here must not stop the audit, nor reach a response
                logger.exception("audit of a %s item failed", component)
                self._count_error(component, "internal")

    async def _audit_math(self, job: _MathJob) -> None:
        opinions: dict[str, bool] = {}
        try:
            opinions["math_verify"] = await self._pool.call(
                _audit_math_verify,
                job.response,
                job.reference,
                timeout=self.settings.audit_timeout_s,
            )
        except VerifierError as exc:
            self._count_error("math", f"math_verify_{exc.code}")
        rules = job.result.correct
        peer = opinions.get("math_verify")
        if self._judge is not None and (not rules or peer is None or peer != rules):
            verdict = await self._ask_judge(job)
            if verdict is not None:
                opinions["judge"] = verdict
        row = {"kind": "math", "response": job.response, "reference": job.reference}
        said = {**_math_said(job.result), **{k: _word(v) for k, v in opinions.items()}}
        self._record("math", job.result.rule, rules, opinions, row, said)

    async def _ask_judge(self, job: _MathJob) -> bool | None:
        assert self._judge is not None
        item = JudgeItem(question=job.question, reference=job.reference, response=job.response)
        try:
            (verdict,) = await self._judge([item])
        except VerifierError as exc:
            self._count_error("math", f"judge_{exc.code}")
            return None
        if verdict.error is not None or verdict.correct is None:
            code = verdict.error.code if verdict.error else "no_verdict"
            self._count_error("math", f"judge_{code}")
            return None
        return verdict.correct

    async def _audit_code(self, job: _CodeJob) -> None:
        assert self.sandbox is not None
        rerun = await self.sandbox.run(
            job.program, job.tests, job.limits, stop_on_first_failure=job.stop_on_first_failure
        )
        if rerun.verdict is Verdict.SE:
            self._count_error("code", "rerun_sandbox_error")
            return
        first = job.result.verdict
        said = {"rules": str(first), "rerun": str(rerun.verdict)}
        opinions = {"rerun": rerun.verdict is Verdict.AC}
        row = {"kind": "code", **job.wire}
        differs = rerun.verdict is not first  # WA then TLE is no flip, but still flaky
        self._record("code", str(first), first is Verdict.AC, opinions, row, said, differs)

    # --- bookkeeping ---------------------------------------------------------------------------

    def _record(
        self,
        component: str,
        rule: str,
        rules_accept: bool,
        opinions: Mapping[str, bool],
        row: dict[str, Any],
        said: Mapping[str, Any],
        differs: bool = False,
    ) -> None:
        tally = self._tallies.setdefault(component, _Tally())
        outcomes = {}
        for second, accepts in opinions.items():
            outcome = direction(rules_accept, second, accepts)
            outcomes[second] = outcome
            tally.comparisons[(second, outcome)] += 1
            self.metrics.audit_comparisons.labels(component, second, rule, outcome).inc()
        deciding = opinions.get("judge", opinions.get("math_verify", opinions.get("rerun")))
        if deciding is None:
            return  # no second opinion came back: counted as errors, no estimate
        tally.audited += 1
        if rules_accept:
            tally.rules_accepted += 1
            tally.accepted_but_second_rejects += not deciding
        else:
            tally.rules_rejected += 1
            tally.rejected_but_second_accepts += deciding
        self._publish_rates(component, tally)
        if differs or any(outcome != "agree" for outcome in outcomes.values()):
            self._write_row(component, row, said)

    def _publish_rates(self, component: str, tally: _Tally) -> None:
        fn = wilson_interval(tally.rejected_but_second_accepts, tally.rules_rejected)
        fp = wilson_interval(tally.accepted_but_second_rejects, tally.rules_accepted)
        for kind, interval in (("false_negative", fn), ("false_positive", fp)):
            if interval.estimate is not None:
                self.metrics.audit_estimated_rate.labels(component, kind).set(interval.estimate)

    def _write_row(self, component: str, row: dict[str, Any], said: Mapping[str, Any]) -> None:
        self._rows += 1
        if self._log is None:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = {
            "id": f"audit-{int(time.time() * 1000)}-{self._rows}",
            **row,
            "note": f"audit {stamp}, grader {GRADER_VERSION}: "
            + "; ".join(f"{who}={what}" for who, what in said.items()),
            "audit": {"component": component, "grader_version": GRADER_VERSION, **said},
        }
        self._log.info(json.dumps(line, ensure_ascii=False))

    def _count_error(self, component: str, kind: str) -> None:
        self._tallies.setdefault(component, _Tally()).errors[kind] += 1
        self.metrics.audit_errors.labels(component, kind).inc()

    def report(self) -> dict[str, Any]:
        """What ``GET /v1/audit`` answers."""
        return {
            "enabled": self.enabled,
            "rate": self.settings.audit_rate,
            "per_request_rate": self.settings.audit_allow_request_rate,
            "second_verifiers": {
                # Math-Verify comes with the [audit] extra; without it math audits only error.
                "math_verify": importlib.util.find_spec("math_verify") is not None,
                "judge": self._judge is not None,
                "rerun": self.sandbox is not None,
            },
            "grader_version": GRADER_VERSION,
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._started)),
            "queue": {
                "pending": self._queue.qsize(),
                "capacity": self.settings.audit_queue_size,
                "dropped": dict(self._dropped),
            },
            "components": {name: tally.report() for name, tally in sorted(self._tallies.items())},
            "disagreements": {
                "count": self._rows,
                "log": str(self.settings.audit_log) if self.settings.audit_log else None,
            },
        }


def _word(accepts: bool) -> str:
    return "correct" if accepts else "incorrect"


def _math_said(result: MathResult) -> dict[str, Any]:
    return {
        "rules": _word(result.correct),
        "rule": result.rule,
        "extracted": result.extracted,
        "reason": result.reason,
    }


def _disagreement_log(settings: Settings) -> logging.Logger | None:
    """A logger writing bare JSON lines to the rotated disagreement file, if one is set."""
    if settings.audit_log is None:
        return None
    log = logging.getLogger(f"verifier_service.audit.rows.{id(settings)}")
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = RotatingFileHandler(
        settings.audit_log,
        maxBytes=settings.audit_log_max_bytes,
        backupCount=settings.audit_log_backups,
        encoding="utf-8",
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    return log
