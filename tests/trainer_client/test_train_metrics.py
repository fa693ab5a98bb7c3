"""The step summariser's numbers, reflection-word counting, and the metrics file on resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from trainer_client.client import ItemError, RewardOutcome
from trainer_client.grpo import GRPOLoss
from trainer_client.metrics import (
    MetricsWriter,
    count_reflection_words,
    read_metrics,
    summarise_rewards,
    summarise_step,
)
from trainer_client.plots import plot_training_curves


def _outcome(reward: float | None, accuracy: float = 0.0, fmt: float = 0.0) -> RewardOutcome:
    if reward is None:
        return RewardOutcome(None, None, {}, {}, ItemError("timeout", "too slow"))
    return RewardOutcome(None, reward, {"accuracy": accuracy, "format": fmt}, {}, None)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        pytest.param("Wait, 3+4 is 7.", 1, id="capitalised"),
        pytest.param("wait wait WAIT", 3, id="repeated"),
        pytest.param("Let me re-check: verify the sum.", 2, id="hyphenated-and-verify"),
        pytest.param("I should double-check, then check again.", 2, id="phrases"),
        pytest.param("awaited, verifying, rewait", 0, id="inside-other-words"),
        pytest.param("no reflection here", 0, id="none"),
        pytest.param("hmm... reconsider", 2, id="hmm"),
    ],
)
def test_count_reflection_words(text: str, count: int) -> None:
    assert count_reflection_words(text) == count


def test_count_reflection_words_with_a_custom_list() -> None:
    assert count_reflection_words("Aber warte, nochmal prüfen", words=("warte", "prüfen")) == 2


def test_summarise_rewards_means_components_failures_and_flat_groups() -> None:
    outcomes = [
        _outcome(2.0, 1, 1),
        _outcome(1.0, 0, 1),  # group 1: varies
        _outcome(1.0, 0, 1),
        _outcome(1.0, 0, 1),  # group 2: all equal
        _outcome(None),
        _outcome(0.0, 0, 0),  # group 3: one failed, one valid -> flat
    ]
    metrics = summarise_rewards(outcomes, group_size=2)
    assert metrics["reward/mean"] == pytest.approx(1.0)
    assert metrics["reward/std"] == pytest.approx(math.sqrt(2 / 4))
    assert metrics["reward/accuracy/mean"] == pytest.approx(1 / 5)
    assert metrics["accuracy/mean"] == metrics["reward/accuracy/mean"]
    assert metrics["reward/format/mean"] == pytest.approx(4 / 5)
    assert metrics["reward/failed_fraction"] == pytest.approx(1 / 6)
    assert metrics["groups/zero_std_fraction"] == pytest.approx(2 / 3)


def test_summarise_step_averages_the_policy_iterations_and_namespaces_every_key() -> None:
    def loss(value: float, kl: float) -> GRPOLoss:
        t = torch.tensor
        return GRPOLoss(t(value), t(kl), t(0.1), t(0.0), t(1.0), t(0.9), t(1.1))

    metrics = summarise_step(
        outcomes=[_outcome(1.0, 1, 0), _outcome(0.0)],
        texts=["wait, 7", "7"],
        lengths=[4, 8],
        truncated=[False, True],
        group_size=2,
        losses=[loss(1.0, 0.2), loss(3.0, 0.4)],
        grad_norms=[0.5, 1.5],
        timings={"generate": 2.0},
    )
    assert metrics["loss"] == pytest.approx(2.0)
    assert metrics["kl"] == pytest.approx(0.3)
    assert metrics["clip_ratio/region_mean"] == pytest.approx(0.1)
    assert metrics["grad_norm"] == pytest.approx(1.0)
    assert metrics["completions/mean_length"] == 6.0
    assert metrics["completions/max_length"] == 8.0
    assert metrics["completions/truncated_fraction"] == 0.5
    assert metrics["reflection/words_per_completion"] == 0.5
    assert metrics["reflection/fraction_with_any"] == 0.5
    assert metrics["time/generate_s"] == 2.0
    assert metrics["groups/zero_std_fraction"] == 0.0


def test_metrics_writer_drops_rows_past_the_resumed_step(tmp_path: Path) -> None:
    with MetricsWriter(tmp_path, tensorboard=False) as writer:
        for step in (1, 2, 3):
            writer.write(step, {"reward/mean": float(step), "kl": math.nan})
    with MetricsWriter(tmp_path, tensorboard=False, resume_step=2) as writer:
        writer.write(3, {"reward/mean": 30.0})
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [(row["step"], row["reward/mean"]) for row in rows] == [(1, 1.0), (2, 2.0), (3, 30.0)]
    # NaN is not JSON: it is written as null.
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])["kl"] is None


def test_metrics_writer_writes_tensorboard_events(tmp_path: Path) -> None:
    with MetricsWriter(tmp_path, tensorboard=True) as writer:
        writer.write(1, {"reward/mean": 1.0})
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_plot_training_curves_writes_two_pngs(tmp_path: Path) -> None:
    rows = [
        {"step": 0, "eval/accuracy": 0.1},
        {"step": 1, "accuracy/mean": 0.2, "completions/mean_length": 10.0},
        {"step": 2, "accuracy/mean": None, "completions/mean_length": 12.0, "eval/accuracy": 0.7},
    ]
    plots = plot_training_curves(rows, tmp_path)
    for path in (plots.accuracy, plots.response_length):
        assert path.read_bytes().startswith(b"\x89PNG")
