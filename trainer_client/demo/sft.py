"""Cold-start supervised fine-tuning: next-token loss on the completion tokens only."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class SFTResult:
    losses: list[float]
    """Loss of each step."""


def _batch(
    tokenizer: PreTrainedTokenizerBase, pairs: Sequence[tuple[str, str]]
) -> tuple[torch.Tensor, torch.Tensor]:
    rows, targets = [], []
    for prompt, completion in pairs:
        prompt_ids = tokenizer(prompt)["input_ids"]
        ids = tokenizer(prompt + completion)["input_ids"] + [tokenizer.eos_token_id]
        rows.append(ids)
        targets.append([0] * len(prompt_ids) + [1] * (len(ids) - len(prompt_ids)))
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])  # (N, L)
    weights = torch.tensor([t + [0] * (width - len(t)) for t in targets])  # (N, L)
    return ids, weights


def supervised_finetune(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[tuple[str, str]],
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> SFTResult:
    """``steps`` AdamW steps on random batches of (prompt, completion) pairs."""
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    model.train()
    losses = []
    for _ in range(steps):
        ids, weights = _batch(tokenizer, rng.choices(pairs, k=batch_size))  # (N, L) each
        logits = model(input_ids=ids).logits[:, :-1]  # (N, L-1, V)
        target, weight = ids[:, 1:], weights[:, 1:].float()  # (N, L-1)
        token_loss = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), target, reduction="none"
        )  # (N, L-1)
        loss = (token_loss * weight).sum() / weight.sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return SFTResult(losses)
