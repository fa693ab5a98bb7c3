"""Group-relative advantages and the GRPO loss, in plain torch.

The objective of DeepSeekMath / DeepSeek-R1, for the G completions o_i of one prompt:

    A_i      = (r_i - mean(r)) / (std(r) + eps)                     group-relative advantage
    ρ_i,t    = π_θ(o_i,t | ·) / π_old(o_i,t | ·)                     per-token ratio
    KL_i,t   = π_ref/π_θ - log(π_ref/π_θ) - 1                        k3 estimator, >= 0
    J        = mean over tokens of [ min(ρ A, clip(ρ, 1-ε, 1+ε_high) A) - β KL ]

and the loss is -J. How "mean over tokens" is taken is the ``aggregation``:

- ``sequence_mean``: the mean over each completion's tokens, then over completions (the GRPO
  paper's 1/G Σ_i 1/|o_i| Σ_t); a token of a short completion weighs more than one of a long one.
- ``token_mean``: one mean over every token of the batch (DAPO); each token weighs the same.
- ``dr_grpo``: the sum over every token divided by the constant B × max_completion_length
  (Dr. GRPO), so the loss has no length bias at all.

Shapes: B completions (prompts × group size, groups contiguous), T completion tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

AdvantageScale = Literal["group", "batch", "none"]
Aggregation = Literal["sequence_mean", "token_mean", "dr_grpo"]


@dataclass(frozen=True)
class GroupAdvantages:
    """Advantages and which of them come from a real reward."""

    advantages: Tensor
    """(B,) float; 0 where ``valid`` is False."""
    valid: Tensor
    """(B,) bool; False where the reward was NaN (the reward service failed on that item)."""


@dataclass(frozen=True)
class GRPOLoss:
    """The loss to back-propagate and the statistics of the step (detached scalars)."""

    loss: Tensor
    kl_mean: Tensor
    """Mean k3 KL to the reference over the counted tokens (0 without ``ref_logprobs``)."""
    clip_low_fraction: Tensor
    """Tokens with ρ < 1-ε and A < 0: the clipped term wins, they get no gradient."""
    clip_high_fraction: Tensor
    """Tokens with ρ > 1+ε_high and A > 0: the clipped term wins, they get no gradient."""
    ratio_mean: Tensor
    ratio_min: Tensor
    ratio_max: Tensor

    def metrics(self) -> dict[str, float]:
        """Namespaced values for the log, read once per step."""
        return {
            "loss": self.loss.item(),
            "kl": self.kl_mean.item(),
            "clip_ratio/low_mean": self.clip_low_fraction.item(),
            "clip_ratio/high_mean": self.clip_high_fraction.item(),
            "clip_ratio/region_mean": (self.clip_low_fraction + self.clip_high_fraction).item(),
            "ratio/mean": self.ratio_mean.item(),
            "ratio/min": self.ratio_min.item(),
            "ratio/max": self.ratio_max.item(),
        }


def group_advantages(
    rewards: Tensor,
    group_size: int,
    *,
    scale: AdvantageScale = "group",
    eps: float = 1e-4,
) -> GroupAdvantages:
    """Advantages of rewards laid out as consecutive groups of ``group_size`` completions.

    ``scale`` divides the centred rewards by the group's standard deviation (GRPO), by the
    whole batch's (more robust when a group is nearly uniform), or by nothing (Dr. GRPO). The
    standard deviation is the sample one (Bessel's correction), as in TRL.

    A NaN reward (a failed item) is left out of every mean and deviation, gets advantage 0 and
    ``valid=False``: multiply the completion mask by ``valid`` so it adds neither gradient nor
    KL. Scoring it 0 instead would pull its group's mean down and reward its siblings.

    A group whose valid rewards are all equal carries no signal: its advantages are exactly 0.
    """
    if rewards.dim() != 1:
        raise ValueError(f"rewards must have shape (B,), got {tuple(rewards.shape)}")
    if group_size < 1 or rewards.numel() % group_size:
        raise ValueError(
            f"{rewards.numel()} rewards do not split into groups of {group_size}: "
            "give group_size = completions per prompt, with the groups contiguous"
        )
    if not rewards.is_floating_point():
        rewards = rewards.float()
    grouped = rewards.view(-1, group_size)  # (P, G)
    valid = ~torch.isnan(grouped)  # (P, G)
    filled = torch.where(valid, grouped, 0.0)  # (P, G)
    count = valid.sum(dim=1, keepdim=True)  # (P, 1)
    mean = filled.sum(dim=1, keepdim=True) / count.clamp(min=1)  # (P, 1)
    centred = torch.where(valid, grouped - mean, 0.0)  # (P, G)
    if scale == "group":
        variance = centred.pow(2).sum(dim=1, keepdim=True) / (count - 1).clamp(min=1)  # (P, 1)
        advantages = centred / (variance.sqrt() + eps)  # (P, G)
    elif scale == "batch":
        advantages = centred / (_sample_std(grouped[valid]) + eps)  # (P, G)
    elif scale == "none":
        advantages = centred  # (P, G)
    else:
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    # Exactly 0, not a rounding residue divided by eps (nor 0/0 when eps is 0).
    high = torch.where(valid, grouped, -math.inf).amax(dim=1, keepdim=True)  # (P, 1)
    low = torch.where(valid, grouped, math.inf).amin(dim=1, keepdim=True)  # (P, 1)
    signal = valid & (high > low)  # (P, G)
    advantages = torch.where(signal, advantages, 0.0)  # (P, G)
    return GroupAdvantages(advantages=advantages.view(-1), valid=valid.view(-1))


def _sample_std(values: Tensor) -> Tensor:
    """Sample standard deviation of a 1-d tensor; 0 for fewer than two values."""
    if values.numel() < 2:
        return values.new_zeros(())
    return values.std()


def completion_mask(
    completion_ids: Tensor,
    eos_id: int | Sequence[int],
    *,
    mask_truncated: bool = False,
) -> Tensor:
    """(B, T) bool: the tokens of each completion up to and including its first EOS.

    A completion with no EOS was cut at the length limit. With ``mask_truncated`` (DAPO's
    overlong filtering) it is masked out whole: its reward says nothing about an answer it
    never finished. Otherwise every one of its tokens counts.
    """
    if completion_ids.dim() != 2:
        raise ValueError(
            f"completion_ids must have shape (B, T), got {tuple(completion_ids.shape)}"
        )
    eos = torch.as_tensor([eos_id] if isinstance(eos_id, int) else list(eos_id))
    is_eos = torch.isin(completion_ids, eos.to(completion_ids.device))  # (B, T)
    has_eos = is_eos.any(dim=1)  # (B,)
    length = completion_ids.shape[1]
    # argmax returns the first maximum: the first EOS.
    first_eos = torch.where(has_eos, is_eos.int().argmax(dim=1), length)  # (B,)
    positions = torch.arange(length, device=completion_ids.device)  # (T,)
    mask = positions[None, :] <= first_eos[:, None]  # (B, T)
    if mask_truncated:
        mask = mask & has_eos[:, None]  # (B, T)
    return mask


def grpo_loss(
    logprobs: Tensor,
    old_logprobs: Tensor | None,
    ref_logprobs: Tensor | None,
    advantages: Tensor,
    mask: Tensor,
    *,
    epsilon: float = 0.2,
    epsilon_high: float | None = None,
    beta: float = 0.0,
    aggregation: Aggregation = "sequence_mean",
    max_completion_length: int | None = None,
) -> GRPOLoss:
    """The clipped GRPO loss with a k3 KL penalty (see the module docstring).

    ``logprobs`` (B, T): log π_θ of the sampled tokens, with gradient. ``old_logprobs`` (B, T):
    log π_old from generation time; ``None`` when the update is on-policy (one step per batch),
    where ρ = 1 but still carries the gradient. ``ref_logprobs`` (B, T): log π_ref, needed when
    ``beta > 0``. ``advantages`` (B,). ``mask`` (B, T): 1 for tokens that count.
    ``epsilon_high`` defaults to ``epsilon`` (DAPO's clip-higher sets it larger).
    """
    if logprobs.dim() != 2:
        raise ValueError(f"logprobs must have shape (B, T), got {tuple(logprobs.shape)}")
    if advantages.shape != logprobs.shape[:1]:
        raise ValueError(
            f"advantages must have shape (B,) = {tuple(logprobs.shape[:1])}, "
            f"got {tuple(advantages.shape)}"
        )
    if mask.shape != logprobs.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} differs from {tuple(logprobs.shape)}")
    if beta > 0 and ref_logprobs is None:
        raise ValueError("beta > 0 needs ref_logprobs (or set beta=0 to drop the KL term)")
    eps_low = epsilon
    eps_high = epsilon if epsilon_high is None else epsilon_high

    weights = mask.to(logprobs.dtype)  # (B, T)
    old = logprobs.detach() if old_logprobs is None else old_logprobs  # (B, T)
    ratio = torch.exp(logprobs - old)  # (B, T)
    adv = advantages.to(logprobs.dtype)[:, None]  # (B, 1)
    clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high)  # (B, T)
    objective = torch.minimum(ratio * adv, clipped * adv)  # (B, T)

    if ref_logprobs is not None:
        log_ref_over_theta = ref_logprobs - logprobs  # (B, T)
        kl = torch.exp(log_ref_over_theta) - log_ref_over_theta - 1  # (B, T), k3 >= 0
    else:
        kl = torch.zeros_like(logprobs)  # (B, T)
    if beta > 0:
        objective = objective - beta * kl  # (B, T)
    per_token_loss = -objective  # (B, T)

    loss = _aggregate(per_token_loss, weights, aggregation, max_completion_length)

    with torch.no_grad():
        ratio_d = ratio.detach()  # (B, T)
        low = ((ratio_d < 1 - eps_low) & (adv < 0)).to(weights.dtype)  # (B, T)
        high = ((ratio_d > 1 + eps_high) & (adv > 0)).to(weights.dtype)  # (B, T)
        counted = ratio_d[weights > 0]  # (N,)
        nan = ratio_d.new_full((), math.nan)
        return GRPOLoss(
            loss=loss,
            kl_mean=_masked_mean(kl.detach(), weights),
            clip_low_fraction=_masked_mean(low, weights),
            clip_high_fraction=_masked_mean(high, weights),
            ratio_mean=_masked_mean(ratio_d, weights),
            ratio_min=counted.min() if counted.numel() else nan,
            ratio_max=counted.max() if counted.numel() else nan,
        )


def _aggregate(
    per_token: Tensor,
    weights: Tensor,
    aggregation: Aggregation,
    max_completion_length: int | None,
) -> Tensor:
    """Reduce (B, T) per-token losses to a scalar, the way ``aggregation`` says."""
    masked = per_token * weights  # (B, T)
    if aggregation == "sequence_mean":
        tokens = weights.sum(dim=1)  # (B,)
        per_sequence = masked.sum(dim=1) / tokens.clamp(min=1)  # (B,)
        # Completions with no counted token (failed, truncated) are not averaged in.
        sequences = (tokens > 0).sum().clamp(min=1)
        return per_sequence.sum() / sequences
    if aggregation == "token_mean":
        return masked.sum() / weights.sum().clamp(min=1)
    if aggregation == "dr_grpo":
        if not max_completion_length:
            raise ValueError("aggregation 'dr_grpo' needs max_completion_length (the constant)")
        return masked.sum() / (per_token.shape[0] * max_completion_length)
    raise ValueError(
        f"aggregation must be 'sequence_mean', 'token_mean' or 'dr_grpo', got {aggregation!r}"
    )


def _masked_mean(values: Tensor, weights: Tensor) -> Tensor:
    return (values * weights).sum() / weights.sum().clamp(min=1)
