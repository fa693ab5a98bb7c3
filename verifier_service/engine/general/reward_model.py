"""A scalar reward model in this process: transformers' AutoModelForSequenceClassification.

The conversation goes through the model's own chat template (user prompt, assistant answer) and
the model's single logit is the raw score, the way the open reward models on the hub are used
(Skywork-Reward, InternLM2-Reward, ArmoRM's preference head). Batches are padded and, past
``max_length`` tokens, truncated from the left: the end of an answer is what is read last and
what padding would push out. torch and transformers are imported on first use only; install
them with the ``judge-local`` extra.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from verifier_service.engine.general.scorers import Comparison, Preferred, Rating, ScorerKind
from verifier_service.engine.general.views import Conversation
from verifier_service.errors import JudgeError, VerifierError

__all__ = ["RewardModelError", "RewardModelScorer"]


class RewardModelError(JudgeError):
    """The reward model could not be loaded or run (code ``judge_error``)."""


@dataclass
class _Loaded:
    model: Any
    tokenizer: Any
    device: str


class RewardModelScorer:
    """Scores conversations with one sequence-classification model.

    model_path: a model directory (config with ``num_labels=1``, weights, tokenizer with a chat
        template), or the directory holding ``gguf_file``.
    gguf_file: a GGUF file in ``model_path`` (needs ``gguf``); its head is what the file has,
        so a causal LM's GGUF gives an untrained score head: for measuring speed only.
    device: "auto" (cuda when available, else cpu), "cpu", "cuda", "cuda:1", ...
    batch_size: conversations scored together.
    max_length: tokens per conversation; longer ones keep their last ``max_length`` tokens.
    """

    kind: ScorerKind = "reward_model"

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        gguf_file: str | None = None,
        device: str = "auto",
        batch_size: int = 8,
        max_length: int = 4096,
    ) -> None:
        if batch_size < 1 or max_length < 8:
            raise ValueError("batch_size must be at least 1 and max_length at least 8")
        self.model_path = os.fspath(model_path)
        self.gguf_file = gguf_file
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self._loaded: _Loaded | None = None
        self._lock = asyncio.Lock()  # one forward pass at a time; loading happens once

    @property
    def model_id(self) -> str:
        name = os.path.join(self.model_path, self.gguf_file or "")
        return f"reward_model:{name}:max_length={self.max_length}"

    async def load(self) -> None:
        """Load the model now (otherwise the first call does)."""
        async with self._lock:
            await self._ensure_loaded()

    async def rate(
        self, component: str, conversations: Sequence[Conversation]
    ) -> list[Rating | VerifierError]:
        """The raw score of each conversation; a failed batch gives its items the error."""
        results: list[Rating | VerifierError] = []
        async with self._lock:
            try:
                loaded = await self._ensure_loaded()
            except RewardModelError as error:
                return [error] * len(conversations)
            for start in range(0, len(conversations), self.batch_size):
                batch = conversations[start : start + self.batch_size]
                try:
                    values = await asyncio.to_thread(_score, loaded, batch, self.max_length)
                except RewardModelError as error:
                    results.extend([error] * len(batch))
                else:
                    results.extend(Rating(value=v) for v in values)
        return results

    async def compare(
        self, component: str, pairs: Sequence[tuple[Conversation, Conversation]]
    ) -> list[Comparison | VerifierError]:
        """The higher score is better; a score does not depend on order, so one pass suffices."""
        flat = [conversation for pair in pairs for conversation in pair]
        ratings = await self.rate(component, flat)
        results: list[Comparison | VerifierError] = []
        for index in range(len(pairs)):
            a, b = ratings[2 * index], ratings[2 * index + 1]
            if isinstance(a, VerifierError):
                results.append(a)
            elif isinstance(b, VerifierError):
                results.append(b)
            else:
                results.append(_compare(a.value, b.value))
        return results

    async def aclose(self) -> None:
        async with self._lock:
            self._loaded = None

    async def _ensure_loaded(self) -> _Loaded:
        if self._loaded is None:
            self._loaded = await asyncio.to_thread(_load, self)
        return self._loaded


def _compare(a: float, b: float) -> Comparison:
    if a == b:
        return Comparison("tie", "the reward model scored both the same", values=(a, b))
    preferred: Preferred = "A" if a > b else "B"
    return Comparison(preferred, "the reward model scored it higher", values=(a, b))


def _load(scorer: RewardModelScorer) -> _Loaded:
    try:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
    except ImportError as exc:
        raise RewardModelError(
            "the reward model needs torch and transformers: "
            "pip install 'verifier-service[judge-local]'"
        ) from exc
    device = scorer.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    # bfloat16 halves GPU memory; CPUs are faster in float32.
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    extra: dict[str, Any] = {"gguf_file": scorer.gguf_file} if scorer.gguf_file else {}
    # A GGUF file holds a causal LM: its classification head is new, with one label.
    head: dict[str, Any] = {"num_labels": 1} if scorer.gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(scorer.model_path, **extra)
        model: Any = AutoModelForSequenceClassification.from_pretrained(
            scorer.model_path, dtype=dtype, **extra, **head
        )
    except (OSError, ValueError, ImportError) as exc:
        raise RewardModelError(f"cannot load the reward model {scorer.model_path}: {exc}") from exc
    if model.config.num_labels != 1:
        raise RewardModelError(
            f"the reward model {scorer.model_path} has {model.config.num_labels} labels; a "
            "scalar reward model has exactly one"
        )
    if not getattr(tokenizer, "chat_template", None):
        raise RewardModelError(f"the reward model {scorer.model_path} has no chat template")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    # The model reads the last non-padding token: its id must be known to the model.
    model.config.pad_token_id = tokenizer.pad_token_id
    tokenizer.truncation_side = "left"
    model.to(device)
    model.eval()
    return _Loaded(model=model, tokenizer=tokenizer, device=device)


def _score(loaded: _Loaded, batch: Sequence[Conversation], max_length: int) -> list[float]:
    import torch

    tokenizer = loaded.tokenizer
    texts = [str(tokenizer.apply_chat_template(c.messages(), tokenize=False)) for c in batch]
    # The chat template already holds the special tokens (BOS and the like).
    encoded = tokenizer(
        texts,
        return_tensors="pt",
        padding=True,
        truncation=True,
        max_length=max_length,
        add_special_tokens=False,
    ).to(loaded.device)
    try:
        with torch.inference_mode():
            logits = loaded.model(**encoded).logits  # (B, 1)
    except (RuntimeError, ValueError) as exc:  # out of memory, bad shapes
        raise RewardModelError(f"the reward model failed on a batch: {exc}") from exc
    return [float(v) for v in logits[:, 0].float().tolist()]
