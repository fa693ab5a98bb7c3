"""The paper's Figures 2 and 3 for a run: accuracy and mean response length over steps (PNG)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCURACY_PNG = "accuracy.png"
LENGTH_PNG = "response_length.png"


@dataclass(frozen=True)
class Plots:
    """Where the two figures were written."""

    accuracy: Path
    response_length: Path


def _series(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    points = [(row["step"], row[key]) for row in rows if isinstance(row.get(key), int | float)]
    points = [(step, value) for step, value in points if math.isfinite(value)]
    return [step for step, _ in points], [value for _, value in points]


def plot_training_curves(rows: Sequence[Mapping[str, Any]], output_dir: Path) -> Plots:
    """Draw ``accuracy.png`` (sampled and greedy held-out) and ``response_length.png``."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    output_dir.mkdir(parents=True, exist_ok=True)
    plots = Plots(output_dir / ACCURACY_PNG, output_dir / LENGTH_PNG)

    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(*_series(rows, "accuracy/mean"), label="training samples (accuracy/mean)")
    steps, values = _series(rows, "eval/accuracy")
    axes.plot(steps, values, marker="o", label="held-out, greedy (eval/accuracy)")
    axes.set(xlabel="step", ylabel="accuracy", ylim=(-0.02, 1.02), title="Accuracy during GRPO")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(plots.accuracy, dpi=120)
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(*_series(rows, "completions/mean_length"), label="training samples")
    axes.set(xlabel="step", ylabel="tokens", title="Mean response length during GRPO")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(plots.response_length, dpi=120)
    plt.close(figure)
    return plots
