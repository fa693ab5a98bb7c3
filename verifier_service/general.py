"""The service's general rewards: scorers from settings, running statistics, metrics, batches.

For each batch of ``task: "general"`` items this module asks the configured scorer of each
component once (helpfulness on the prompt and the final summary, harmlessness on the prompt and
the whole response), puts reward-model scores on the configured scale, optionally removes the
length bias of helpfulness within the batch, and reports the running statistics and the
batch's length bias in ``/metrics``. Every item comes back with its components, the reason for
each, or the error that left it without a reward.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Gauge

from verifier_service.engine.format import FormatStyle
from verifier_service.engine.general import (
    COMPONENTS,
    Comparison,
    Conversation,
    JudgeScorer,
    Normalization,
    NoSummary,
    Preferred,
    Rating,
    RunningStats,
    Scorer,
    harmlessness_view,
    helpfulness_view,
    length_controlled,
    length_report,
    normalise,
)
from verifier_service.engine.judge import JudgeBackend
from verifier_service.errors import JudgeNotConfiguredError, VerifierError
from verifier_service.metrics import Metrics
from verifier_service.settings import Settings

__all__ = [
    "GeneralInput",
    "GeneralOutcome",
    "GeneralRewards",
    "PreferenceOutcome",
    "batch_report",
]

NO_SCORER = (
    "no general scorer is configured on this server: set VERIFIER_JUDGE_BACKEND (the judge "
    "scores both components) or VERIFIER_GENERAL_HELPFULNESS_MODEL / "
    "VERIFIER_GENERAL_HARMLESSNESS_MODEL (reward models)"
)


@dataclass(frozen=True)
class GeneralInput:
    """One general item: the prompt, the whole response, and the format style it follows."""

    prompt: str
    response: str
    style: FormatStyle = FormatStyle.THINK


@dataclass
class GeneralOutcome:
    """The general components of one item, the reason for each, or the error."""

    components: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: VerifierError | None = None


@dataclass
class PreferenceOutcome:
    """The preferred answer per component (or the error of that component)."""

    components: dict[str, Comparison | VerifierError] = field(default_factory=dict)


class GeneralRewards:
    """The configured scorer of each component, and what the service reports of them."""

    def __init__(self, scorers: Mapping[str, Scorer], settings: Settings, metrics: Metrics) -> None:
        self.scorers = dict(scorers)
        self.settings = settings
        self.metrics = metrics
        self.normalization = Normalization(settings.general_normalization)
        self.stats = {name: RunningStats() for name in COMPONENTS}
        self._gauges = _gauges(metrics)

    @classmethod
    def from_settings(
        cls, settings: Settings, judge: JudgeBackend | None, metrics: Metrics
    ) -> GeneralRewards:
        """The scorers the settings name; a model used by both components is loaded once."""
        models: dict[str, Scorer] = {}
        scorers: dict[str, Scorer] = {}
        for name in COMPONENTS:
            choice = getattr(settings, f"general_{name}_scorer")
            path = getattr(settings, f"general_{name}_model")
            if choice == "auto":
                choice = "reward_model" if path else "judge" if judge is not None else "none"
            if choice == "judge" and judge is not None:
                scorers[name] = JudgeScorer(judge, max_chars=settings.general_judge_max_chars)
            elif choice == "reward_model":
                if path not in models:
                    models[path] = _reward_model(path, settings)
                scorers[name] = models[path]
        return cls(scorers, settings, metrics)

    def status(self) -> dict[str, Any]:
        """What /readyz reports: the scorer of each component."""
        return {
            name: {"scorer": scorer.kind, "model": scorer.model_id}
            for name, scorer in self.scorers.items()
        }

    async def load(self) -> None:
        """Load the reward models now, so the first request does not wait for them."""
        for scorer in set(self.scorers.values()):
            load = getattr(scorer, "load", None)
            if load is not None:
                await load()

    async def aclose(self) -> None:
        for scorer in set(self.scorers.values()):
            await scorer.aclose()

    # --- rewards -------------------------------------------------------------------------

    async def score(self, items: Sequence[GeneralInput]) -> list[GeneralOutcome]:
        """The components of every item, in order; one scorer call per component."""
        outcomes = [GeneralOutcome() for _ in items]
        if not self.scorers:
            for outcome in outcomes:
                outcome.error = JudgeNotConfiguredError(NO_SCORER)
            return outcomes
        if "helpfulness" in self.scorers:
            await self._helpfulness(items, outcomes)
        if "harmlessness" in self.scorers:
            views = [harmlessness_view(i.prompt, i.response) for i in items]
            await self._rate("harmlessness", list(enumerate(views)), outcomes)
        return outcomes

    async def _helpfulness(
        self, items: Sequence[GeneralInput], outcomes: list[GeneralOutcome]
    ) -> None:
        asked: list[tuple[int, Conversation]] = []
        for index, item in enumerate(items):
            view = helpfulness_view(item.prompt, item.response, style=item.style)
            if isinstance(view, NoSummary):
                outcomes[index].components["helpfulness"] = self.settings.general_no_summary_score
                outcomes[index].details["helpfulness"] = {
                    "outcome": "no_summary",
                    "reason": f"{view.reason}: scored {self.settings.general_no_summary_score:g}"
                    " (VERIFIER_GENERAL_NO_SUMMARY_SCORE) without asking the scorer",
                    "chars": 0,
                }
                self.metrics.items.labels("helpfulness", "no_summary").inc()
            else:
                asked.append((index, view))
        scored = await self._rate("helpfulness", asked, outcomes)
        lengths = [len(view.response) for index, view in asked if index in scored]
        values = [scored[index] for index, _ in asked if index in scored]
        report = length_report(lengths, values)
        self._gauges["correlation"].set(report.correlation or 0.0)
        self._gauges["slope"].set(report.slope_per_1k_chars or 0.0)
        if self.settings.general_length_control:
            controlled = length_controlled(lengths, values)
            kept = [index for index, _ in asked if index in scored]
            for index, value in zip(kept, controlled, strict=True):
                details = outcomes[index].details["helpfulness"]
                details["before_length_control"] = outcomes[index].components["helpfulness"]
                outcomes[index].components["helpfulness"] = value

    async def _rate(
        self,
        component: str,
        asked: list[tuple[int, Conversation]],
        outcomes: list[GeneralOutcome],
    ) -> dict[int, float]:
        """Rate the conversations; fill in each item's component. Returns index → value."""
        scorer = self.scorers[component]
        ratings = await scorer.rate(component, [view for _, view in asked])
        values: dict[int, float] = {}
        for (index, view), rating in zip(asked, ratings, strict=True):
            outcome = outcomes[index]
            if isinstance(rating, VerifierError):
                outcome.details[component] = {
                    "outcome": "error",
                    "scorer": scorer.kind,
                    "error": rating.as_dict(),
                }
                outcome.error = outcome.error or rating
                self.metrics.item_errors.labels(component, rating.code).inc()
                continue
            value = self._value(component, scorer, rating)
            outcome.components[component] = values[index] = value
            outcome.details[component] = _rating_details(scorer, rating, view, value)
            self.metrics.items.labels(component, "scored").inc()
        return values

    def _value(self, component: str, scorer: Scorer, rating: Rating) -> float:
        stats = self.stats[component]
        stats.update(rating.value)
        self._gauges["mean"].labels(component).set(stats.mean)
        self._gauges["std"].labels(component).set(stats.std)
        self._gauges["count"].labels(component).set(stats.count)
        if scorer.kind == "judge":
            return rating.value  # already on [0, 1]
        return normalise(rating.value, self.normalization, stats)

    # --- preference ----------------------------------------------------------------------

    async def prefer(
        self, items: Sequence[tuple[str, str, str]], style: FormatStyle = FormatStyle.THINK
    ) -> list[PreferenceOutcome]:
        """For each (prompt, A, B): which answer is better, per configured component."""
        outcomes = [PreferenceOutcome() for _ in items]
        if not self.scorers:
            for outcome in outcomes:
                for name in COMPONENTS:
                    outcome.components[name] = JudgeNotConfiguredError(NO_SCORER)
        for name, scorer in self.scorers.items():
            pairs: list[tuple[int, tuple[Conversation, Conversation]]] = []
            for index, (prompt, a, b) in enumerate(items):
                views = _pair_views(name, prompt, a, b, style)
                if isinstance(views, Comparison):  # settled without asking: a missing summary
                    outcomes[index].components[name] = views
                else:
                    pairs.append((index, views))
            compared = await scorer.compare(name, [pair for _, pair in pairs])
            for (index, _), comparison in zip(pairs, compared, strict=True):
                outcomes[index].components[name] = comparison
        return outcomes


def batch_report(details: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The length bias of one batch, from its items' details; None without scored summaries.

    Each scored helpfulness detail holds the summary's length and its score before any length
    control, so the report shows the bias the scorer has, not what is left of it.
    """
    scored = [
        d["helpfulness"]
        for d in details
        if isinstance(d.get("helpfulness"), Mapping) and d["helpfulness"].get("outcome") == "scored"
    ]
    if not scored:
        return None
    lengths = [int(h["chars"]) for h in scored]
    values = [float(h.get("before_length_control", h["value"])) for h in scored]
    return length_report(lengths, values).as_dict()


def _pair_views(
    component: str, prompt: str, a: str, b: str, style: FormatStyle
) -> tuple[Conversation, Conversation] | Comparison:
    """What the scorer compares of two answers, or the outcome when a summary is missing."""
    if component == "harmlessness":
        return harmlessness_view(prompt, a), harmlessness_view(prompt, b)
    view_a = helpfulness_view(prompt, a, style=style)
    view_b = helpfulness_view(prompt, b, style=style)
    if isinstance(view_a, Conversation) and isinstance(view_b, Conversation):
        return view_a, view_b
    if isinstance(view_a, NoSummary) and isinstance(view_b, NoSummary):
        return Comparison("tie", "neither answer has a final summary")
    preferred: Preferred = "B" if isinstance(view_a, NoSummary) else "A"
    return Comparison(preferred, "only this answer has a final summary")


def _rating_details(
    scorer: Scorer, rating: Rating, view: Conversation, value: float
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "outcome": "scored",
        "scorer": scorer.kind,
        "model": scorer.model_id,
        "chars": len(view.response),
        "value": value,
    }
    if rating.score is not None:
        details["score"] = rating.score
        details["reason"] = f"the judge's rubric score {rating.score}/10, as {value:.3f}"
    else:
        details["raw"] = rating.value
        details["reason"] = (
            f"the reward model's score {rating.value:.4f}, normalised to {value:.4f}"
        )
    return details


def _reward_model(path: str, settings: Settings) -> Scorer:
    from verifier_service.engine.general.reward_model import RewardModelScorer

    gguf_file = None
    if path.endswith(".gguf"):  # a GGUF file names its directory and itself
        path, gguf_file = os.path.dirname(path) or ".", os.path.basename(path)
    return RewardModelScorer(
        path,
        gguf_file=gguf_file,
        device=settings.general_device,
        batch_size=settings.general_batch_size,
        max_length=settings.general_max_tokens,
    )


def _gauges(metrics: Metrics) -> dict[str, Any]:
    # One set per registry: an app whose lifespan runs twice must not register them twice.
    gauges: dict[str, Any] | None = getattr(metrics, "_general_gauges", None)
    if gauges is None:
        gauges = _new_gauges(metrics)
        metrics._general_gauges = gauges  # type: ignore[attr-defined]
    return gauges


def _new_gauges(metrics: Metrics) -> dict[str, Any]:
    registry = metrics.registry
    by_component = ["component"]
    return {
        "mean": Gauge(
            "verifier_general_score_mean",
            "Running mean of the raw general scores (reward-model logits, judge scores on [0, 1]).",
            by_component,
            registry=registry,
        ),
        "std": Gauge(
            "verifier_general_score_std",
            "Running standard deviation of the raw general scores.",
            by_component,
            registry=registry,
        ),
        "count": Gauge(
            "verifier_general_scores_seen",
            "General scores seen (the running statistics' sample size).",
            by_component,
            registry=registry,
        ),
        "correlation": Gauge(
            "verifier_general_length_correlation",
            "Pearson correlation of summary length and helpfulness in the last batch.",
            registry=registry,
        ),
        "slope": Gauge(
            "verifier_general_length_slope_per_1k_chars",
            "Helpfulness gained per 1000 summary characters in the last batch (least squares).",
            registry=registry,
        ),
    }
