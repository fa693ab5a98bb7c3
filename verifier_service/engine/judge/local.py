"""A judge model hosted in this process with transformers: a model directory or a GGUF file.

Prompts go through the model's own chat template and are generated greedily in left-padded
batches (left padding keeps every prompt's last token next to its first generated one), on the
GPU when there is one. torch and transformers are imported on first use only, so the service
imports without them; install them with the ``judge-local`` extra.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from verifier_service.engine.judge.backend import Completion
from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.errors import JudgeError

__all__ = ["LocalBackend"]


@dataclass
class _Loaded:
    model: Any
    tokenizer: Any
    device: str


class LocalBackend:
    """Greedy judging with a causal LM loaded by transformers.

    model_path: a model directory (config, weights, tokenizer with a chat template), or the
        directory holding ``gguf_file``.
    gguf_file: the name of a GGUF file in ``model_path`` (needs the ``gguf`` and ``accelerate``
        packages); quantised weights are de-quantised to float32 on load.
    device: "auto" (cuda when available, else cpu), "cpu", "cuda", "cuda:1", ...
    max_new_tokens: the token budget of one verdict; a reply that hits it has finish_reason
        "length".
    batch_size: prompts generated together.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        gguf_file: str | None = None,
        device: str = "auto",
        max_new_tokens: int = 64,
        batch_size: int = 8,
    ) -> None:
        if max_new_tokens < 1 or batch_size < 1:
            raise ValueError("max_new_tokens and batch_size must be at least 1")
        self.model_path = os.fspath(model_path)
        self.gguf_file = gguf_file
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self._loaded: _Loaded | None = None
        # One model, one generation at a time; loading happens once.
        self._lock = asyncio.Lock()

    @property
    def model_id(self) -> str:
        name = os.path.join(self.model_path, self.gguf_file or "")
        return f"local:{name}:greedy:max_new_tokens={self.max_new_tokens}"

    @property
    def temperature(self) -> float:
        return 0.0

    async def load(self) -> None:
        """Load the model now (otherwise the first ``complete`` does)."""
        async with self._lock:
            await self._ensure_loaded()

    async def complete(self, prompts: Sequence[JudgePrompt]) -> list[Completion | JudgeError]:
        """Generate a reply to every prompt; a failed batch gives its prompts a JudgeError."""
        async with self._lock:
            loaded = await self._ensure_loaded()
            results: list[Completion | JudgeError] = []
            for start in range(0, len(prompts), self.batch_size):
                batch = prompts[start : start + self.batch_size]
                try:
                    results.extend(await asyncio.to_thread(_generate, loaded, batch, self))
                except JudgeError as error:
                    results.extend([error] * len(batch))
            return results

    async def aclose(self) -> None:
        async with self._lock:
            self._loaded = None

    async def _ensure_loaded(self) -> _Loaded:
        if self._loaded is None:
            self._loaded = await asyncio.to_thread(_load, self)
        return self._loaded


def _resolve_device(device: str, torch: Any) -> str:
    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _load(backend: LocalBackend) -> _Loaded:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise JudgeError(
            "the local judge needs torch and transformers: "
            "pip install 'verifier-service[judge-local]'"
        ) from exc
    device = _resolve_device(backend.device, torch)
    extra = {"gguf_file": backend.gguf_file} if backend.gguf_file else {}
    # bfloat16 halves GPU memory at no cost to a verdict; CPUs are faster in float32.
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(backend.model_path, **extra)
        model: Any = AutoModelForCausalLM.from_pretrained(backend.model_path, dtype=dtype, **extra)
    except (OSError, ValueError, ImportError) as exc:
        raise JudgeError(f"cannot load the judge model {backend.model_id}: {exc}") from exc
    if not getattr(tokenizer, "chat_template", None):
        raise JudgeError(f"the judge model {backend.model_id} has no chat template")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.to(device)
    model.eval()
    return _Loaded(model=model, tokenizer=tokenizer, device=device)


def _generate(
    loaded: _Loaded, prompts: Sequence[JudgePrompt], backend: LocalBackend
) -> list[Completion]:
    import torch
    from transformers import GenerationConfig

    tokenizer = loaded.tokenizer
    texts = [_chat_text(tokenizer, prompt) for prompt in prompts]
    # The chat template already holds the special tokens (BOS and the like).
    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    encoded = encoded.to(loaded.device)
    eos_ids = _eos_ids(loaded.model, tokenizer)
    config = GenerationConfig(
        max_new_tokens=backend.max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=eos_ids,
    )
    try:
        with torch.inference_mode():
            output = loaded.model.generate(**encoded, generation_config=config)
    except (RuntimeError, ValueError) as exc:  # out of memory, bad shapes
        raise JudgeError(f"local judge generation failed: {exc}") from exc
    new_tokens = output[:, encoded["input_ids"].shape[1] :]  # (B, T_new)
    completions = []
    for row in new_tokens.tolist():
        ended = any(token in eos_ids for token in row)
        text = tokenizer.decode(row, skip_special_tokens=True)
        completions.append(
            Completion(text=text.strip(), finish_reason="stop" if ended else "length")
        )
    return completions


def _chat_text(tokenizer: Any, prompt: JudgePrompt) -> str:
    from jinja2 import TemplateError

    try:
        text = tokenizer.apply_chat_template(
            prompt.messages(), tokenize=False, add_generation_prompt=True
        )
    except TemplateError:
        # Some chat templates refuse a system role (Gemma's): fold it into the user turn.
        merged = [{"role": "user", "content": f"{prompt.system}\n\n{prompt.user}"}]
        try:
            text = tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
        except TemplateError as exc:
            raise JudgeError(f"the judge model's chat template failed: {exc}") from exc
    return str(text)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = model.generation_config.eos_token_id
    if ids is None:
        ids = tokenizer.eos_token_id
    if ids is None:
        raise JudgeError("the judge model has no end-of-sequence token")
    return [ids] if isinstance(ids, int) else list(ids)
