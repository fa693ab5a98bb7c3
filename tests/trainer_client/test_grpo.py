"""GRPO advantages, masks and loss against values worked out by hand from the formulas."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
import torch
from torch import Tensor

from trainer_client.grpo import completion_mask, group_advantages, grpo_loss

F64 = torch.float64


def _t(values: Sequence[float] | Sequence[Sequence[float]]) -> Tensor:
    return torch.tensor(values, dtype=F64)


def _leaf(values: list[list[float]]) -> Tensor:
    return torch.tensor(values, dtype=F64, requires_grad=True)


def _grad(logprobs: Tensor) -> Tensor:
    assert logprobs.grad is not None
    return logprobs.grad


# --- group_advantages ------------------------------------------------------------------------


def test_group_advantages_scales_by_the_group_sample_std() -> None:
    rewards = _t([1, 0, 0, 1, 3, 1, 2, 2])
    result = group_advantages(rewards, 4, eps=1e-4)
    # Group 1: mean 0.5, sample std sqrt((4 × 0.25) / 3). Group 2: mean 2, sqrt((1+1) / 3).
    std_1, std_2 = math.sqrt(1 / 3), math.sqrt(2 / 3)
    expected = [0.5 / (std_1 + 1e-4) * s for s in (1, -1, -1, 1)]
    expected += [1 / (std_2 + 1e-4) * s for s in (1, -1, 0, 0)]
    torch.testing.assert_close(result.advantages, _t(expected))
    assert bool(result.valid.all())


def test_group_advantages_of_a_zero_variance_group_are_exactly_zero() -> None:
    rewards = _t([0.1, 0.1, 0.1, 1, 0, 1])
    for scale in ("group", "batch", "none"):
        advantages = group_advantages(rewards, 3, scale=scale, eps=0.0).advantages
        assert advantages[:3].tolist() == [0.0, 0.0, 0.0], scale
        assert advantages[3].item() > 0 > advantages[4].item()


def test_group_advantages_batch_scale_uses_the_std_of_every_reward() -> None:
    rewards = _t([1, 0, 0, 1, 2, 2, 2, 2])
    # Batch mean 1.25; squared deviations sum to 5.5; sample variance 5.5 / 7.
    std = math.sqrt(5.5 / 7)
    advantages = group_advantages(rewards, 4, scale="batch", eps=0.0).advantages
    expected = [0.5 / std * s for s in (1, -1, -1, 1)] + [0.0] * 4
    torch.testing.assert_close(advantages, _t(expected))


def test_group_advantages_without_scaling_are_centred_rewards() -> None:
    advantages = group_advantages(_t([1, 0, 0, 1, 3, 0, 0, 1]), 4, scale="none").advantages
    torch.testing.assert_close(advantages, _t([0.5, -0.5, -0.5, 0.5, 2, -1, -1, 0]))


def test_group_advantages_leave_nan_rewards_out_and_mark_them() -> None:
    rewards = _t([1, math.nan, 0, 1, math.nan, math.nan, math.nan, math.nan])
    result = group_advantages(rewards, 4, eps=0.0)
    # Valid rewards 1, 0, 1: mean 2/3, sample variance ((1/3)² × 2 + (2/3)²) / 2 = 1/3.
    std = math.sqrt(1 / 3)
    expected = [(1 / 3) / std, 0.0, (-2 / 3) / std, (1 / 3) / std, 0.0, 0.0, 0.0, 0.0]
    torch.testing.assert_close(result.advantages, _t(expected))
    assert result.valid.tolist() == [True, False, True, True, False, False, False, False]
    assert not bool(torch.isnan(result.advantages).any())


@pytest.mark.parametrize(
    ("shape", "group_size"),
    [((6,), 4), ((6,), 0), ((2, 3), 3)],
    ids=["uneven-groups", "zero-group", "not-1d"],
)
def test_group_advantages_reject_bad_layouts(shape: tuple[int, ...], group_size: int) -> None:
    with pytest.raises(ValueError):
        group_advantages(torch.zeros(shape), group_size)


# --- completion_mask -------------------------------------------------------------------------

EOS = 2
IDS = torch.tensor(
    [
        [5, 3, EOS, 0, 0],  # ends at position 2; the padding after it does not count
        [5, 5, 5, 5, 5],  # no EOS: cut at the length limit
        [EOS, 7, EOS, 1, 1],  # the first EOS ends it
    ]
)


def test_completion_mask_keeps_tokens_through_the_first_eos() -> None:
    mask = completion_mask(IDS, EOS)
    assert mask.tolist() == [
        [True, True, True, False, False],
        [True, True, True, True, True],
        [True, False, False, False, False],
    ]


def test_completion_mask_drops_truncated_completions_when_asked() -> None:
    mask = completion_mask(IDS, EOS, mask_truncated=True)
    assert mask[1].tolist() == [False] * 5
    assert mask[0].tolist() == [True, True, True, False, False]


def test_completion_mask_accepts_several_eos_ids() -> None:
    mask = completion_mask(torch.tensor([[4, 9, 1], [4, 4, 4]]), [9, 8], mask_truncated=True)
    assert mask.tolist() == [[True, True, False], [False, False, False]]


# --- grpo_loss -------------------------------------------------------------------------------

# Two completions of lengths 2 and 1, on-policy (ρ = 1), so each token's loss is -A_i and its
# gradient -A_i times the weight the aggregation gives it.
MASK = _t([[1, 1], [1, 0]])
ADVANTAGES = _t([1.0, -2.0])


@pytest.mark.parametrize(
    ("aggregation", "loss", "token_grads"),
    [
        # 1/B Σ_i 1/|o_i| Σ_t: (-(1+1)/2 - (-2)/1) / 2 = 0.5; weights 1/(B|o_i|).
        ("sequence_mean", 0.5, [[-1 / 4, -1 / 4], [2 / 2, 0]]),
        # Σ / 3 tokens: -(1 + 1 - 2) / 3 = 0; weights 1/3.
        ("token_mean", 0.0, [[-1 / 3, -1 / 3], [2 / 3, 0]]),
        # Σ / (B × 4): 0; weights 1/8.
        ("dr_grpo", 0.0, [[-1 / 8, -1 / 8], [2 / 8, 0]]),
    ],
    ids=["sequence-mean", "token-mean", "dr-grpo"],
)
def test_grpo_loss_aggregations_weigh_tokens_differently(
    aggregation: str, loss: float, token_grads: list[list[float]]
) -> None:
    logprobs = _leaf([[-0.5, -1.0], [-0.2, -9.0]])
    result = grpo_loss(
        logprobs,
        None,
        None,
        ADVANTAGES,
        MASK,
        aggregation=aggregation,  # type: ignore[arg-type]
        max_completion_length=4,
    )
    result.loss.backward()
    torch.testing.assert_close(result.loss, torch.tensor(loss, dtype=F64))
    torch.testing.assert_close(_grad(logprobs), _t(token_grads))


def test_grpo_loss_matches_the_formula_off_policy_with_kl() -> None:
    current, old, ref = [-1.0, -0.5, -2.0], [-1.1, -0.7, -1.9], [-0.8, -0.5, -2.5]
    advantage, beta, eps = 0.7, 0.1, 0.2
    logprobs = _leaf([current])
    result = grpo_loss(
        logprobs, _t([old]), _t([ref]), _t([advantage]), torch.ones(1, 3), epsilon=eps, beta=beta
    )
    result.loss.backward()

    expected_loss = 0.0
    expected_grad: list[float] = []
    kls: list[float] = []
    for lp, lp_old, lp_ref in zip(current, old, ref, strict=True):
        ratio = math.exp(lp - lp_old)
        clipped = min(max(ratio, 1 - eps), 1 + eps)
        kl = math.exp(lp_ref - lp) - (lp_ref - lp) - 1
        kls.append(kl)
        expected_loss += -(min(ratio * advantage, clipped * advantage) - beta * kl) / 3
        # d/dlp of -ρA is -ρA where the unclipped term is the min, else 0;
        # d/dlp of β·k3 is β(1 - exp(ref - lp)).
        policy = -ratio * advantage if ratio * advantage <= clipped * advantage else 0.0
        expected_grad.append((policy + beta * (1 - math.exp(lp_ref - lp))) / 3)
    # The middle token has ρ = e^0.2 ≈ 1.22 > 1.2 with A > 0: clipped, no policy gradient.
    assert math.exp(0.2) > 1 + eps

    torch.testing.assert_close(result.loss, torch.tensor(expected_loss, dtype=F64))
    torch.testing.assert_close(_grad(logprobs), _t([expected_grad]))
    torch.testing.assert_close(result.kl_mean, torch.tensor(sum(kls) / 3, dtype=F64))
    assert result.clip_high_fraction.item() == pytest.approx(1 / 3)
    assert result.clip_low_fraction.item() == 0.0
    assert result.ratio_max.item() == pytest.approx(math.exp(0.2))
    assert result.ratio_min.item() == pytest.approx(math.exp(-0.1))


@pytest.mark.parametrize(
    ("ratio", "advantage", "gradient"),
    [
        # Outside [1-ε, 1+ε] in the direction the advantage pushes: clipped, no gradient.
        (1.5, 1.0, 0.0),
        (0.5, -1.0, 0.0),
        # Outside, but against the advantage: the unclipped term is the min; gradient -ρA.
        (1.5, -1.0, 1.5),
        (0.5, 1.0, -0.5),
        # Inside: -ρA.
        (1.1, 1.0, -1.1),
        (0.9, -1.0, 0.9),
    ],
    ids=["high-pos", "low-neg", "high-neg", "low-pos", "inside-pos", "inside-neg"],
)
def test_grpo_loss_clipping_zeroes_the_gradient(
    ratio: float, advantage: float, gradient: float
) -> None:
    logprobs = _leaf([[math.log(ratio)]])
    result = grpo_loss(logprobs, _t([[0.0]]), None, _t([advantage]), torch.ones(1, 1), epsilon=0.2)
    result.loss.backward()
    torch.testing.assert_close(_grad(logprobs), _t([[gradient]]))


def test_grpo_loss_clip_fractions_count_the_clipped_tokens() -> None:
    # Ratios 1.5, 0.5, 1.0 for A = +1 (first row) and A = -1 (second row).
    ratios = [[1.5, 0.5, 1.0], [1.5, 0.5, 1.0]]
    logprobs = _t([[math.log(r) for r in row] for row in ratios])
    result = grpo_loss(logprobs, torch.zeros(2, 3), None, _t([1.0, -1.0]), torch.ones(2, 3))
    # High: ratio 1.5 with A > 0 (1 token of 6); low: ratio 0.5 with A < 0 (1 of 6).
    assert result.clip_high_fraction.item() == pytest.approx(1 / 6)
    assert result.clip_low_fraction.item() == pytest.approx(1 / 6)
    assert result.metrics()["clip_ratio/region_mean"] == pytest.approx(2 / 6)


def test_grpo_loss_epsilon_high_widens_only_the_upper_bound() -> None:
    def gradient(ratio: float, advantage: float, epsilon_high: float | None) -> float:
        logprobs = _leaf([[math.log(ratio)]])
        loss = grpo_loss(
            logprobs,
            _t([[0.0]]),
            None,
            _t([advantage]),
            torch.ones(1, 1),
            epsilon=0.2,
            epsilon_high=epsilon_high,
        ).loss
        loss.backward()
        return float(_grad(logprobs).item())

    assert gradient(1.25, 1.0, None) == 0.0
    assert gradient(1.25, 1.0, 0.28) == pytest.approx(-1.25)
    assert gradient(0.75, -1.0, 0.28) == 0.0


def test_grpo_loss_k3_kl_is_zero_for_matching_policies_and_positive_otherwise() -> None:
    logprobs = _leaf([[-1.0, -2.0]])
    same = grpo_loss(logprobs, None, logprobs.detach(), _t([0.0]), torch.ones(1, 2), beta=0.5)
    same.loss.backward()
    assert same.kl_mean.item() == 0.0
    assert same.loss.item() == 0.0
    assert _grad(logprobs).abs().max().item() == 0.0

    for shift in (0.5, -0.5):
        ref = logprobs.detach() + shift
        differ = grpo_loss(logprobs, None, ref, _t([0.0]), torch.ones(1, 2), beta=0.5)
        k3 = math.exp(shift) - shift - 1
        assert differ.kl_mean.item() == pytest.approx(k3)
        assert differ.kl_mean.item() > 0
        assert differ.loss.item() == pytest.approx(0.5 * k3)


def test_grpo_loss_sequence_mean_skips_fully_masked_sequences() -> None:
    logprobs = _leaf([[-1.0, -1.0], [-1.0, -1.0]])
    mask = _t([[1, 1], [0, 0]])
    result = grpo_loss(logprobs, None, None, _t([1.0, 5.0]), mask)
    result.loss.backward()
    # Only the first completion counts: loss -A_0, gradient -A_0 / 2 per token.
    assert result.loss.item() == pytest.approx(-1.0)
    torch.testing.assert_close(_grad(logprobs), _t([[-0.5, -0.5], [0.0, 0.0]]))


def test_grpo_loss_statistics_ignore_masked_tokens() -> None:
    logprobs = _t([[math.log(1.1), math.log(50.0)]])
    result = grpo_loss(logprobs, torch.zeros(1, 2), None, _t([1.0]), _t([[1, 0]]))
    assert result.ratio_max.item() == pytest.approx(1.1)
    assert result.ratio_mean.item() == pytest.approx(1.1)
    assert result.clip_high_fraction.item() == 0.0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"beta": 0.1}, "needs ref_logprobs"),
        ({"aggregation": "dr_grpo"}, "max_completion_length"),
        ({"aggregation": "mean"}, "aggregation must be"),
    ],
    ids=["kl-without-reference", "dr-grpo-without-length", "unknown-aggregation"],
)
def test_grpo_loss_rejects_incomplete_settings(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        grpo_loss(torch.zeros(1, 2), None, None, _t([1.0]), torch.ones(1, 2), **settings)  # type: ignore[arg-type]
