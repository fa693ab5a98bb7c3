"""Sampling completions with transformers, and the log-probabilities of the sampled tokens.

Shapes: P prompts, G completions per prompt, B = P × G completions (each prompt's G completions
contiguous, as ``group_advantages`` expects), S prompt tokens (left-padded), T completion tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from trainer_client.grpo import completion_mask


@dataclass(frozen=True)
class Rollout:
    """A batch of sampled completions, as token ids and as text."""

    prompt_ids: Tensor
    """(B, S) long, left-padded."""
    prompt_mask: Tensor
    """(B, S) long: 1 for real prompt tokens."""
    completion_ids: Tensor
    """(B, T) long: padding after the first EOS."""
    completion_mask: Tensor
    """(B, T) bool: tokens up to and including the first EOS."""
    texts: list[str]
    """B decoded completions, special tokens (EOS, padding) removed."""
    truncated: Tensor
    """(B,) bool: the completion reached the length limit without an EOS."""

    @property
    def lengths(self) -> Tensor:
        """(B,) long: tokens per completion, its EOS included."""
        return self.completion_mask.sum(dim=1)


def _eos_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the model and tokenizer define no EOS token: generation cannot stop")
    return [eos] if isinstance(eos, int) else list(eos)


@torch.no_grad()
def generate_rollouts(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    group_size: int,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    greedy: bool = False,
) -> Rollout:
    """``group_size`` completions per prompt, by sampling (or greedy decoding with ``greedy``)."""
    device = model.device
    tokenizer.padding_side = "left"  # generation appends on the right
    encoded = tokenizer(list(prompts), return_tensors="pt", padding=True)
    prompt_ids = encoded["input_ids"].to(device)  # (P, S)
    prompt_mask = encoded["attention_mask"].to(device)  # (P, S)
    eos = _eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    sampling = (
        {"do_sample": False}
        if greedy
        else {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
    )
    was_training = model.training
    model.eval()
    generate: Any = model.generate  # typed loosely by transformers
    output = generate(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        max_new_tokens=max_new_tokens,
        num_return_sequences=group_size,
        eos_token_id=eos,
        pad_token_id=pad,
        **sampling,
    )  # (B, S + T'), T' <= max_new_tokens
    model.train(was_training)
    prompt_ids = prompt_ids.repeat_interleave(group_size, dim=0)  # (B, S)
    prompt_mask = prompt_mask.repeat_interleave(group_size, dim=0)  # (B, S)
    completion_ids = output[:, prompt_ids.shape[1] :]  # (B, T)
    mask = completion_mask(completion_ids, eos)  # (B, T)
    completion_ids = torch.where(mask, completion_ids, pad)  # (B, T), pad after the EOS
    has_eos = torch.isin(completion_ids, torch.tensor(eos, device=device)).any(dim=1)  # (B,)
    truncated = ~has_eos & (mask.sum(dim=1) >= max_new_tokens)  # (B,)
    texts = tokenizer.batch_decode(completion_ids, skip_special_tokens=True)
    return Rollout(prompt_ids, prompt_mask, completion_ids, mask, texts, truncated)


def token_logprobs(model: PreTrainedModel, rollout: Rollout, *, temperature: float = 1.0) -> Tensor:
    """(B, T) log π(token | prefix) of each completion token, at the sampling temperature.

    Gradients flow when called with grad enabled. Positions count real tokens only, so a
    left-padded prompt sees the same positions here as during generation.
    """
    input_ids = torch.cat([rollout.prompt_ids, rollout.completion_ids], dim=1)  # (B, S+T)
    attention = torch.cat([rollout.prompt_mask, rollout.completion_mask.long()], dim=1)  # (B, S+T)
    positions = (attention.cumsum(dim=1) - 1).clamp(min=0)  # (B, S+T)
    logits = model(input_ids=input_ids, attention_mask=attention, position_ids=positions).logits
    prompt_length = rollout.prompt_ids.shape[1]
    # The logit at position i predicts token i+1: completion tokens are predicted from S-1 on.
    logits = logits[:, prompt_length - 1 : -1].float() / temperature  # (B, T, V)
    logprobs = torch.log_softmax(logits, dim=-1)  # (B, T, V)
    return logprobs.gather(-1, rollout.completion_ids.unsqueeze(-1)).squeeze(-1)  # (B, T)
