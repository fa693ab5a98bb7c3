"""The GRPO loop of DeepSeek-R1, top to bottom: generate, reward over HTTP, update, log.

Each step samples ``prompts_per_step`` prompts, generates ``group_size`` completions for each,
scores the whole batch with one ``POST /v1/rewards`` call, turns rewards into group-relative
advantages, and takes ``policy_iterations`` clipped policy-gradient steps on the batch, with a
k3 KL penalty to a frozen reference model. Every stage is a call into a small module:

    data.py        prompts and the sampler        rollout.py     generation and log-probs
    client.py      the reward service             grpo.py        advantages and the loss
    metrics.py     what a step measured           checkpoint.py  save and resume
    evaluate.py    greedy held-out accuracy       plots.py       the curves, as PNG

Run it with ``grpo-train --config cfg.yaml [--set key=value ...]``; docs/training.md has the
config reference. Shapes: P prompts, G = group_size, B = P × G completions, T completion tokens.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from trainer_client.checkpoint import (
    Checkpoint,
    latest_checkpoint,
    restore_trainer_state,
    save_checkpoint,
)
from trainer_client.client import (
    RewardClient,
    RewardClientConfig,
    RewardItem,
    RewardOutcome,
    reward_values,
)
from trainer_client.config import ConfigError, TrainConfig, load_config
from trainer_client.data import Example, PromptSampler, load_examples
from trainer_client.evaluate import Evaluation, evaluate_greedy
from trainer_client.grpo import GRPOLoss, group_advantages, grpo_loss
from trainer_client.metrics import MetricsWriter, read_metrics, summarise_step
from trainer_client.plots import Plots, plot_training_curves
from trainer_client.rollout import Rollout, generate_rollouts, token_logprobs

_Advance = Callable[[dict[str, float]], None]


@dataclass(frozen=True)
class TrainResult:
    """Where a finished run left its outputs."""

    step: int
    metrics_path: Path
    checkpoint: Checkpoint | None
    plots: Plots | None
    evaluations: dict[int, Evaluation]
    """Held-out evaluations of this invocation, by step (0: before training)."""


def train(config: TrainConfig) -> TrainResult:
    """Run (or resume) the GRPO loop until ``config.steps``; see the module docstring."""
    run = _set_up(config)
    output_dir, group = Path(config.output_dir), config.group_size
    evaluations: dict[int, Evaluation] = {}
    checkpoint = run.resumed_from
    client_config = RewardClientConfig(config.reward_urls, api_key=config.reward_api_key)
    with (
        RewardClient(client_config) as client,
        MetricsWriter(output_dir, tensorboard=config.tensorboard, resume_step=run.start) as writer,
        _progress_bar(config, run.start) as advance,
    ):
        if run.start == 0 and run.held_out:
            writer.write(0, _evaluate_when_due(run, client, config, 0, evaluations))
        for step in range(run.start + 1, config.steps + 1):
            timings: dict[str, float] = {}
            # 1. A batch of P prompts and G sampled completions each (groups contiguous).
            batch = run.sampler.next_batch()
            with _timed(timings, "generate"):
                rollout = _generate(run, [example.prompt for example in batch], config)
            # 2. One /v1/rewards call scores all B = P × G completions; a failure's reward is NaN.
            with _timed(timings, "reward"):
                items = _reward_items(batch, rollout.texts, group=group, step=step)
                outcomes = client.score(
                    items, weights=config.reward_weights, format_style=config.format_style
                )
            rewards = torch.tensor(reward_values(outcomes), device=run.device)  # (B,)
            # 3. Group-relative advantages; failed (and, if asked, truncated) completions drop out.
            advantages = group_advantages(rewards, group, scale=config.advantage_scale)
            mask = _loss_mask(rollout, advantages.valid, config)  # (B, T)
            with _timed(timings, "update"):
                # 4. Log-probs of the sampling policy π_old (needed when μ > 1) and of π_ref.
                old, ref = _frozen_logprobs(run, rollout, config)  # (B, T) each, or None
                # 5. μ clipped policy-gradient steps on this one batch.
                losses: list[GRPOLoss] = []
                grad_norms: list[float] = []
                for _ in range(config.policy_iterations):
                    logprobs = token_logprobs(run.policy, rollout, temperature=config.temperature)
                    loss = _loss(logprobs, old, ref, advantages.advantages, mask, config)
                    run.optimizer.zero_grad(set_to_none=True)
                    loss.loss.backward()
                    grad_norms.append(_clip_gradients(run.policy, config.max_grad_norm))
                    run.optimizer.step()
                    losses.append(loss)
            # 6. Log the step, evaluate and checkpoint when due.
            metrics = _step_metrics(outcomes, rollout, losses, grad_norms, timings, config)
            metrics |= _evaluate_when_due(run, client, config, step, evaluations)
            writer.write(step, metrics)
            advance(metrics)
            if step % config.checkpoint_every == 0 or step == config.steps:
                checkpoint = _save(run, step, config)

    plots = plot_training_curves(read_metrics(writer.path), output_dir) if config.plots else None
    return TrainResult(config.steps, writer.path, checkpoint, plots, evaluations)


# --- the stages' small helpers ---------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """What the loop works with: models, optimiser, prompts, and where it starts."""

    policy: PreTrainedModel
    reference: PreTrainedModel | None
    """None when beta == 0: no KL term, no reference forward pass."""
    tokenizer: PreTrainedTokenizerBase
    optimizer: torch.optim.Optimizer
    sampler: PromptSampler
    held_out: list[Example]
    device: torch.device
    start: int
    """The last completed step: 0 for a fresh run, the checkpoint's step on resume."""
    resumed_from: Checkpoint | None


def _set_up(config: TrainConfig) -> _Run:
    """Load data and models; resume from the newest checkpoint in ``output_dir`` if any."""
    device = _resolve_device(config.device)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    examples = load_examples(config.dataset)
    sampler = PromptSampler(examples, config.prompts_per_step, seed=config.seed)
    held_out = load_examples(config.eval_dataset) if config.eval_dataset else []
    resume = latest_checkpoint(Path(config.output_dir))
    policy, tokenizer = _load_policy(resume.path if resume else Path(config.model), device)
    reference = None
    if config.beta > 0:  # the reference is the initial model, also when resuming
        reference = _load_frozen(config.reference_model or config.model, device)
    optimizer = torch.optim.AdamW(
        policy.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    start = 0
    if resume is not None:  # after the models: restoring sets the RNG states
        start = restore_trainer_state(resume, optimizer=optimizer, sampler=sampler)
    return _Run(policy, reference, tokenizer, optimizer, sampler, held_out, device, start, resume)


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _load_policy(
    path: Path, device: torch.device
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    # float32 weights: the optimiser's updates on a small model vanish in bf16 rounding.
    model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(path)
    return model.to(device).train(), tokenizer


def _load_frozen(path: str, device: torch.device) -> PreTrainedModel:
    reference: Any = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return reference.to(device).eval().requires_grad_(False)


def _generate(run: _Run, prompts: list[str], config: TrainConfig) -> Rollout:
    return generate_rollouts(
        run.policy,
        run.tokenizer,
        prompts,
        group_size=config.group_size,
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
    )


def _reward_items(
    batch: Sequence[Example], texts: Sequence[str], *, group: int, step: int
) -> list[RewardItem]:
    """One item per completion; completion i answers prompt i // group."""
    return [
        batch[i // group].reward_item(text, item_id=f"s{step}-p{i // group}-g{i % group}")
        for i, text in enumerate(texts)
    ]


def _loss_mask(rollout: Rollout, valid: Tensor, config: TrainConfig) -> Tensor:
    """(B, T) bool: completion tokens of scored completions, not truncated ones if asked."""
    mask = rollout.completion_mask & valid[:, None]  # (B, T)
    if config.mask_truncated:
        mask = mask & ~rollout.truncated[:, None]  # (B, T)
    return mask


@torch.no_grad()
def _frozen_logprobs(
    run: _Run, rollout: Rollout, config: TrainConfig
) -> tuple[Tensor | None, Tensor | None]:
    """(B, T) log π_old, only when μ > 1 (on-policy, ρ = 1), and (B, T) log π_ref."""
    old = None
    if config.policy_iterations > 1:
        old = token_logprobs(run.policy, rollout, temperature=config.temperature)
    ref = None
    if run.reference is not None:
        ref = token_logprobs(run.reference, rollout, temperature=config.temperature)
    return old, ref


def _loss(
    logprobs: Tensor,
    old_logprobs: Tensor | None,
    ref_logprobs: Tensor | None,
    advantages: Tensor,
    mask: Tensor,
    config: TrainConfig,
) -> GRPOLoss:
    return grpo_loss(
        logprobs,
        old_logprobs,
        ref_logprobs,
        advantages,
        mask,
        epsilon=config.epsilon,
        epsilon_high=config.epsilon_high,
        beta=config.beta,
        aggregation=config.aggregation,
        max_completion_length=config.max_new_tokens,
    )


def _clip_gradients(model: PreTrainedModel, max_norm: float) -> float:
    """Clip to ``max_norm`` in place; the norm before clipping, for the log."""
    return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm).item()


def _step_metrics(
    outcomes: Sequence[RewardOutcome],
    rollout: Rollout,
    losses: Sequence[GRPOLoss],
    grad_norms: Sequence[float],
    timings: dict[str, float],
    config: TrainConfig,
) -> dict[str, float]:
    return summarise_step(
        outcomes=outcomes,
        texts=rollout.texts,
        lengths=rollout.lengths.tolist(),
        truncated=rollout.truncated.tolist(),
        group_size=config.group_size,
        losses=losses,
        grad_norms=grad_norms,
        timings=timings,
    )


def _evaluate_when_due(
    run: _Run,
    client: RewardClient,
    config: TrainConfig,
    step: int,
    evaluations: dict[int, Evaluation],
) -> dict[str, float]:
    """Greedy held-out accuracy at step 0, every ``eval_every`` steps and at the end."""
    if not run.held_out or not _evaluation_due(config, step):
        return {}
    evaluations[step] = evaluate_greedy(
        run.policy,
        run.tokenizer,
        run.held_out,
        client,
        max_new_tokens=config.max_new_tokens,
        weights=config.reward_weights,
        format_style=config.format_style,
    )
    return evaluations[step].metrics()


def _save(run: _Run, step: int, config: TrainConfig) -> Checkpoint:
    return save_checkpoint(
        Path(config.output_dir),
        step=step,
        model=run.policy,
        tokenizer=run.tokenizer,
        optimizer=run.optimizer,
        sampler=run.sampler,
        keep=config.keep_checkpoints,
    )


def _evaluation_due(config: TrainConfig, step: int) -> bool:
    periodic = config.eval_every > 0 and step % config.eval_every == 0
    return step in (0, config.steps) or periodic


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - start


@contextmanager
def _progress_bar(config: TrainConfig, start: int) -> Iterator[_Advance]:
    if not config.progress:
        yield lambda metrics: None
        return
    columns = (
        TextColumn("GRPO"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[summary]}"),
    )
    with Progress(*columns) as progress:
        task = progress.add_task("train", total=config.steps, completed=start, summary="")

        def advance(metrics: dict[str, float]) -> None:
            summary = (
                f"reward {metrics['reward/mean']:.2f} "
                f"acc {metrics.get('accuracy/mean', float('nan')):.2f} "
                f"len {metrics['completions/mean_length']:.1f} kl {metrics['kl']:.4f}"
            )
            progress.update(task, advance=1, summary=summary)

        yield advance


# --- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``grpo-train --config cfg.yaml [--set key=value ...]``."""
    parser = argparse.ArgumentParser(prog="grpo-train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="YAML file of TrainConfig fields")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one field (value parsed as YAML); repeatable",
    )
    args = parser.parse_args(argv)
    hf_logging.disable_progress_bar()  # per-checkpoint save bars would break up ours
    try:
        config = load_config(args.config, overrides=args.overrides)
    except (ConfigError, OSError) as exc:
        parser.error(str(exc))
    result = train(config)
    print(f"trained to step {result.step}; metrics in {result.metrics_path}")
    for step, evaluation in sorted(result.evaluations.items()):
        print(
            f"step {step}: held-out accuracy {evaluation.accuracy:.3f}, "
            f"format {evaluation.format:.3f}"
        )
    if result.plots is not None:
        print(f"plots: {result.plots.accuracy}, {result.plots.response_length}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
