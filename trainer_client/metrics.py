"""What one training step measured, in namespaced keys, and where it is written.

:func:`summarise_step` is the one place the per-step numbers are computed; every key it returns
is listed in :data:`METRIC_KEYS` with its meaning. :class:`MetricsWriter` appends each step to
``metrics.jsonl`` and, optionally, to TensorBoard event files (through ``tensorboardX``, which
needs no TensorFlow or TensorBoard install).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from trainer_client.client import RewardOutcome
from trainer_client.grpo import GRPOLoss

# Words a model uses when it goes back over its work: the "aha moment" of R1-Zero.
REFLECTION_WORDS = (
    "wait",
    "re-check",
    "recheck",
    "double-check",
    "verify",
    "re-evaluate",
    "reconsider",
    "check again",
    "let me check",
    "hmm",
)

METRIC_KEYS = {
    "reward/mean": "mean reward of the scored completions (failed items left out)",
    "reward/std": "standard deviation of those rewards",
    "reward/<component>/mean": "mean of each reward component (accuracy, format, language, ...)",
    "reward/failed_fraction": "completions the service could not score (reward null)",
    "accuracy/mean": "mean accuracy component: the share of correct answers",
    "completions/mean_length": "tokens per completion, EOS included",
    "completions/min_length": "shortest completion",
    "completions/max_length": "longest completion",
    "completions/truncated_fraction": "completions cut at max_new_tokens",
    "groups/zero_std_fraction": "groups whose rewards are all equal: no learning signal",
    "reflection/words_per_completion": "reflection words (wait, verify, ...) per completion",
    "reflection/fraction_with_any": "completions with at least one reflection word",
    "loss": "GRPO loss, mean over the policy iterations",
    "kl": "k3 KL to the reference, mean over counted tokens",
    "clip_ratio/low_mean": "tokens clipped below (ratio < 1-ε, A < 0)",
    "clip_ratio/high_mean": "tokens clipped above (ratio > 1+ε_high, A > 0)",
    "clip_ratio/region_mean": "all clipped tokens",
    "ratio/mean": "mean π_θ/π_old",
    "grad_norm": "global gradient norm before clipping, mean over iterations",
    "time/<stage>_s": "seconds spent generating, scoring, updating",
    "eval/accuracy": "greedy accuracy on the held-out prompts (when evaluated)",
    "eval/format": "greedy format reward on the held-out prompts",
    "eval/mean_length": "greedy completion length on the held-out prompts",
}


def _reflection_pattern(words: Sequence[str]) -> re.Pattern[str]:
    # Longest first, so "check again" is one match and not a shorter word inside it.
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


_DEFAULT_PATTERN = _reflection_pattern(REFLECTION_WORDS)


def count_reflection_words(text: str, *, words: Sequence[str] | None = None) -> int:
    """Occurrences of reflection words in ``text``, whole words only, case-insensitive."""
    pattern = _DEFAULT_PATTERN if words is None else _reflection_pattern(words)
    return len(pattern.findall(text))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _std(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0 if values else math.nan
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarise_rewards(outcomes: Sequence[RewardOutcome], group_size: int) -> dict[str, float]:
    """Reward keys: the mean and std, each component, failures and zero-variance groups."""
    scored = [o.reward for o in outcomes if o.reward is not None]
    metrics = {
        "reward/mean": _mean(scored),
        "reward/std": _std(scored),
        "reward/failed_fraction": 1 - len(scored) / len(outcomes) if outcomes else math.nan,
    }
    components = sorted({name for o in outcomes for name in o.components})
    for name in components:
        values = [o.components[name] for o in outcomes if name in o.components]
        metrics[f"reward/{name}/mean"] = _mean(values)
    if "accuracy" in components:
        metrics["accuracy/mean"] = metrics["reward/accuracy/mean"]
    groups = [outcomes[i : i + group_size] for i in range(0, len(outcomes), group_size)]
    flat = 0
    for group in groups:
        rewards = {o.reward for o in group if o.reward is not None}
        flat += len(rewards) <= 1
    metrics["groups/zero_std_fraction"] = flat / len(groups) if groups else math.nan
    return metrics


def summarise_completions(
    texts: Sequence[str], lengths: Sequence[int], truncated: Sequence[bool]
) -> dict[str, float]:
    """Length and reflection keys of a batch of completions."""
    reflections = [count_reflection_words(text) for text in texts]
    return {
        "completions/mean_length": _mean([float(n) for n in lengths]),
        "completions/min_length": float(min(lengths, default=0)),
        "completions/max_length": float(max(lengths, default=0)),
        "completions/truncated_fraction": _mean([float(t) for t in truncated]),
        "reflection/words_per_completion": _mean([float(n) for n in reflections]),
        "reflection/fraction_with_any": _mean([float(n > 0) for n in reflections]),
    }


def summarise_step(
    *,
    outcomes: Sequence[RewardOutcome],
    texts: Sequence[str],
    lengths: Sequence[int],
    truncated: Sequence[bool],
    group_size: int,
    losses: Sequence[GRPOLoss],
    grad_norms: Sequence[float],
    timings: Mapping[str, float],
) -> dict[str, float]:
    """Every metric of one step (see :data:`METRIC_KEYS`), averaged over policy iterations."""
    metrics = summarise_rewards(outcomes, group_size)
    metrics |= summarise_completions(texts, lengths, truncated)
    per_iteration = [loss.metrics() for loss in losses]
    for key in per_iteration[0] if per_iteration else ():
        metrics[key] = _mean([m[key] for m in per_iteration])
    metrics["grad_norm"] = _mean(list(grad_norms))
    metrics |= {f"time/{stage}_s": seconds for stage, seconds in timings.items()}
    return metrics


class MetricsWriter:
    """Appends one JSON line per step to ``metrics.jsonl``; mirrors it to TensorBoard if asked.

    Opening it with ``resume_step`` drops lines logged after that step (a run that crashed past
    its last checkpoint repeats those steps), so the file never holds a step twice.
    """

    def __init__(self, output_dir: Path, *, tensorboard: bool, resume_step: int = 0) -> None:
        self.path = output_dir / "metrics.jsonl"
        kept = [row for row in read_metrics(self.path) if row["step"] <= resume_step]
        output_dir.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(json.dumps(row) + "\n" for row in kept), encoding="utf-8")
        self._file = self.path.open("a", encoding="utf-8")
        self._tensorboard: Any = None
        if tensorboard:
            from tensorboardX import SummaryWriter

            self._tensorboard = SummaryWriter(
                str(output_dir / "tensorboard"),
                purge_step=(resume_step + 1 if resume_step else None),
            )

    def write(self, step: int, metrics: Mapping[str, float]) -> None:
        row = {"step": step, **{k: _json_number(v) for k, v in metrics.items()}}
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        if self._tensorboard is not None:
            for key, value in metrics.items():
                if math.isfinite(value):
                    self._tensorboard.add_scalar(key, value, step)

    def close(self) -> None:
        self._file.close()
        if self._tensorboard is not None:
            self._tensorboard.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _json_number(value: float) -> float | None:
    # JSON has no NaN: a missing value (no scored item) is written as null.
    return value if math.isfinite(value) else None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl`` file, or none if it does not exist."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
