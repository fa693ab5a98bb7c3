"""Judging a batch: pre-checks, prompts, one batched backend call, strict verdicts, cache.

``judge_items`` never raises for one item's failure: every item gets a JudgeResult, whose
``error`` says what went wrong. An unparseable reply is an incorrect answer *and* an error
(``correct=False``, code ``judge_unparseable``); a judge that could not be reached leaves the
item undecided (``correct=None``, code ``judge_error``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from verifier_service.engine.judge.backend import Completion, JudgeBackend
from verifier_service.engine.judge.cache import CachedVerdict, VerdictCache, verdict_cache_key
from verifier_service.engine.judge.cascade import JudgeMode, decide_cascade
from verifier_service.engine.judge.precheck import extract_judged_answer, refusal_reason
from verifier_service.engine.judge.prompts import (
    DEFAULT_TEMPLATE,
    JudgePrompt,
    JudgeTemplate,
    VerdictLabel,
    get_template,
    render_prompt,
)
from verifier_service.engine.judge.verdict import parse_verdict
from verifier_service.engine.math import MathResult
from verifier_service.engine.math.extract import extract_reference
from verifier_service.errors import JudgeError, VerifierError

__all__ = [
    "DEFAULT_JUDGE_OPTIONS",
    "ItemError",
    "JudgeItem",
    "JudgeOptions",
    "JudgeResult",
    "cascade_items",
    "complete_prompts",
    "judge_items",
]

logger = logging.getLogger(__name__)

DecidedBy = Literal["judge", "rules", "precheck", "none"]


@dataclass(frozen=True)
class JudgeItem:
    """One thing to judge: the question, the gold reference and the model's whole response."""

    question: str
    reference: str
    response: str


@dataclass(frozen=True)
class JudgeOptions:
    """How items are judged.

    max_answer_chars: the candidate's final answer is cut to this many characters.
    max_reference_chars, max_question_chars: the same for the reference and the question.
    swap_check: ask a second time with the reference presented as the candidate and the answer
        as the reference; correct only when both calls say correct.
    reject_lead_ins: refuse, without asking, answers that end with a colon ("Thought process:").
    """

    max_answer_chars: int = 2000
    max_reference_chars: int = 2000
    max_question_chars: int = 8000
    swap_check: bool = False
    reject_lead_ins: bool = True

    def __post_init__(self) -> None:
        for name in ("max_answer_chars", "max_reference_chars", "max_question_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"JudgeOptions.{name} must be at least 1")


DEFAULT_JUDGE_OPTIONS = JudgeOptions()


@dataclass(frozen=True)
class ItemError:
    """Why one item has no clean verdict: an error code of errors.py and a message."""

    code: str
    message: str

    @classmethod
    def from_exception(cls, error: VerifierError) -> ItemError:
        return cls(error.code, error.message)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class JudgeResult:
    """The judgement of one item.

    correct: the decision; None when no decision could be made (see error).
    verdict: "correct", "incorrect" or "invalid" as the judge (or the rules) said, else None.
    raw: the judge's reply (the first call's, when swap_check asked twice).
    raw_swapped: the reply to the swapped call, when it was made.
    error: set when the judge failed or its reply was unparseable.
    deterministic: False when the judge sampled (temperature > 0).
    decided_by: "judge", "rules" (the cascade's math grader), "precheck" (refused before
        asking) or "none" (an error left it undecided).
    answer: the final answer that was judged; reason: why the result is what it is.
    cached: True when every judge reply came from the verdict cache.
    """

    correct: bool | None
    verdict: VerdictLabel | None
    raw: str | None
    error: ItemError | None
    deterministic: bool
    decided_by: DecidedBy
    reason: str
    answer: str | None = None
    raw_swapped: str | None = None
    cached: bool = False


@dataclass(frozen=True)
class _Prepared:
    answer: str
    prompt: JudgePrompt
    swapped_prompt: JudgePrompt


@dataclass(frozen=True)
class _Reply:
    """The outcome of one judge call: a verdict, or an error (with the reply when there was one)."""

    raw: str | None
    verdict: CachedVerdict | None
    error: VerifierError | None
    cached: bool = False


async def judge_items(
    items: Sequence[JudgeItem],
    *,
    backend: JudgeBackend,
    template: JudgeTemplate | str = DEFAULT_TEMPLATE,
    options: JudgeOptions = DEFAULT_JUDGE_OPTIONS,
    cache: VerdictCache | None = None,
) -> list[JudgeResult]:
    """Judge every item with ``backend``; one result per item, in order."""
    template = get_template(template) if isinstance(template, str) else template
    deterministic = backend.temperature == 0
    # Sampled verdicts are not cached: a sampling judge is asked afresh every time.
    active_cache = cache if deterministic else None
    results: list[JudgeResult | None] = [None] * len(items)
    prepared: dict[int, _Prepared] = {}
    for index, item in enumerate(items):
        outcome = _prepare(item, template, options)
        if isinstance(outcome, JudgeResult):
            results[index] = outcome
        else:
            prepared[index] = outcome

    first = await _ask(backend, template, [p.prompt for p in prepared.values()], active_cache)
    first_by_index = dict(zip(prepared, first, strict=True))
    swapped_by_index: dict[int, _Reply] = {}
    if options.swap_check:
        to_swap = [i for i, reply in first_by_index.items() if _says_correct(reply)]
        swapped = await _ask(
            backend, template, [prepared[i].swapped_prompt for i in to_swap], active_cache
        )
        swapped_by_index = dict(zip(to_swap, swapped, strict=True))

    for index, reply in first_by_index.items():
        results[index] = _combine(
            reply,
            swapped_by_index.get(index),
            answer=prepared[index].answer,
            deterministic=deterministic,
        )
    return [result for result in results if result is not None]


async def cascade_items(
    items: Sequence[JudgeItem],
    math_results: Sequence[MathResult | None],
    *,
    backend: JudgeBackend,
    template: JudgeTemplate | str = DEFAULT_TEMPLATE,
    options: JudgeOptions = DEFAULT_JUDGE_OPTIONS,
    cache: VerdictCache | None = None,
    mode: JudgeMode = "cascade",
) -> list[JudgeResult]:
    """Settle what the rules accepted (``math_results``, one per item) and judge the rest."""
    if len(math_results) != len(items):
        raise ValueError("cascade_items needs one math result per item")
    decisions = [decide_cascade(result, mode=mode) for result in math_results]
    asked = [i for i, decision in enumerate(decisions) if decision.ask_judge]
    judged = await judge_items(
        [items[i] for i in asked], backend=backend, template=template, options=options, cache=cache
    )
    by_index = dict(zip(asked, judged, strict=True))
    results: list[JudgeResult] = []
    for index, (decision, math_result) in enumerate(zip(decisions, math_results, strict=True)):
        if index in by_index:
            results.append(by_index[index])
            continue
        results.append(
            JudgeResult(
                correct=decision.correct,
                verdict="correct" if decision.correct else "incorrect",
                raw=None,
                error=None,
                deterministic=True,
                decided_by="rules",
                reason=decision.reason,
                answer=math_result.extracted if math_result is not None else None,
            )
        )
    return results


def _prepare(
    item: JudgeItem, template: JudgeTemplate, options: JudgeOptions
) -> _Prepared | JudgeResult:
    judged = extract_judged_answer(item.response)
    refusal = refusal_reason(judged.answer, reject_lead_ins=options.reject_lead_ins)
    if refusal is not None or judged.answer is None:
        reason = judged.reason if judged.answer is None else refusal
        return JudgeResult(
            correct=False,
            verdict="invalid",
            raw=None,
            error=None,
            deterministic=True,
            decided_by="precheck",
            reason=f"refused without asking the judge: {reason}",
            answer=judged.answer,
        )
    try:
        reference = _reference_text(item.reference)
    except VerifierError as error:
        return _error_result(error, answer=judged.answer, deterministic=True)
    limits = (options.max_question_chars, options.max_reference_chars, options.max_answer_chars)
    prompt = _render(template, item.question, reference, judged.answer, limits)
    # The swapped prompt shows each text with the other's limit, so both calls see the same text.
    swapped_limits = (limits[0], limits[2], limits[1])
    swapped = _render(template, item.question, judged.answer, reference, swapped_limits)
    return _Prepared(answer=judged.answer, prompt=prompt, swapped_prompt=swapped)


def _render(
    template: JudgeTemplate,
    question: str,
    reference: str,
    answer: str,
    limits: tuple[int, int, int],
) -> JudgePrompt:
    return render_prompt(
        template,
        question=question,
        reference=reference,
        answer=answer,
        max_question_chars=limits[0],
        max_reference_chars=limits[1],
        max_answer_chars=limits[2],
    )


def _reference_text(reference: str) -> str:
    # A full worked solution is judged by its boxed answer, like the candidate.
    if "\\boxed" in reference or "\\fbox" in reference:
        return extract_reference(reference)
    if not reference.strip():
        return extract_reference(reference)  # raises InvalidReferenceError: empty
    return reference.strip()


async def _ask(
    backend: JudgeBackend,
    template: JudgeTemplate,
    prompts: Sequence[JudgePrompt],
    cache: VerdictCache | None,
) -> list[_Reply]:
    """Ask each distinct prompt once (cache first), and read every reply strictly."""
    keys = [verdict_cache_key(backend.model_id, template.name, prompt) for prompt in prompts]
    replies: dict[bytes, _Reply] = {}
    to_ask: dict[bytes, JudgePrompt] = {}
    for key, prompt in zip(keys, prompts, strict=True):
        hit = cache.get(key) if cache is not None and key not in replies else None
        if hit is not None:
            replies[key] = _Reply(raw=hit.raw, verdict=hit, error=None, cached=True)
        elif key not in replies:
            to_ask[key] = prompt
    completions = await complete_prompts(backend, list(to_ask.values()))
    for key, completion in zip(to_ask, completions, strict=True):
        reply = _read(completion, template)
        replies[key] = reply
        if cache is not None and reply.verdict is not None:
            cache.put(key, reply.verdict)
    return [replies[key] for key in keys]


async def complete_prompts(
    backend: JudgeBackend, prompts: Sequence[JudgePrompt]
) -> list[Completion | JudgeError]:
    """One reply or JudgeError per prompt, in order, whatever way the backend fails."""
    if not prompts:
        return []
    try:
        completions = await backend.complete(prompts)
    except Exception as exc:
        # A backend that breaks as a whole still answers per item, with the reason.
        logger.exception("judge backend failed for a batch of %d prompts", len(prompts))
        error = exc if isinstance(exc, JudgeError) else JudgeError(f"judge backend failed: {exc!r}")
        return [error] * len(prompts)
    if len(completions) != len(prompts):
        error = JudgeError(
            f"judge backend returned {len(completions)} replies for {len(prompts)} prompts"
        )
        return [error] * len(prompts)
    return completions


def _read(completion: Completion | JudgeError, template: JudgeTemplate) -> _Reply:
    if isinstance(completion, JudgeError):
        return _Reply(raw=None, verdict=None, error=completion)
    try:
        verdict = parse_verdict(completion.text, template, finish_reason=completion.finish_reason)
    except JudgeError as error:
        return _Reply(raw=completion.text, verdict=None, error=error)
    return _Reply(raw=completion.text, verdict=CachedVerdict(verdict, completion.text), error=None)


def _says_correct(reply: _Reply) -> bool:
    return reply.verdict is not None and reply.verdict.verdict.correct


def _combine(
    first: _Reply, swapped: _Reply | None, *, answer: str, deterministic: bool
) -> JudgeResult:
    result = _single_result(first, answer=answer, deterministic=deterministic)
    if swapped is None:
        return result
    second = _single_result(swapped, answer=answer, deterministic=deterministic)
    cached = first.cached and swapped.cached
    if second.error is not None:
        reason = f"swapped check: {second.reason}"
        chosen = second
    elif not second.correct:
        reason = "the judge accepted the answer, but not with the two answers swapped"
        chosen = second
    else:
        reason = "the judge accepted the answer both ways round"
        chosen = result
    return replace(chosen, reason=reason, raw=first.raw, raw_swapped=swapped.raw, cached=cached)


def _single_result(reply: _Reply, *, answer: str, deterministic: bool) -> JudgeResult:
    if reply.error is not None:
        result = _error_result(reply.error, answer=answer, deterministic=deterministic)
        return replace(result, raw=reply.raw)
    if reply.verdict is None:
        raise ValueError("a judge reply has neither a verdict nor an error")
    verdict = reply.verdict.verdict
    return JudgeResult(
        correct=verdict.correct,
        verdict=verdict.label,
        raw=reply.raw,
        error=None,
        deterministic=deterministic,
        decided_by="judge",
        reason=f"the judge's verdict line says {verdict.choice} ({verdict.label})",
        answer=answer,
        cached=reply.cached,
    )


def _error_result(error: VerifierError, *, answer: str | None, deterministic: bool) -> JudgeResult:
    # An unparseable reply is still a refusal to call the answer correct.
    unparseable = error.code == "judge_unparseable"
    return JudgeResult(
        correct=False if unparseable else None,
        verdict=None,
        raw=None,
        error=ItemError.from_exception(error),
        deterministic=deterministic,
        decided_by="judge" if unparseable else "none",
        reason=error.message,
        answer=answer,
    )
