"""The judge's verdict cache: the project's byte-bounded LRU, keyed by model, template, prompt."""

from __future__ import annotations

from dataclasses import dataclass

from verifier_service.cache import BytesLRU, text_key
from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.engine.judge.verdict import Verdict

__all__ = ["CachedVerdict", "VerdictCache", "verdict_cache_key"]

DEFAULT_VERDICT_CACHE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class CachedVerdict:
    """A parsed verdict and the reply it was read from."""

    verdict: Verdict
    raw: str


def verdict_cache_key(model_id: str, template_name: str, prompt: JudgePrompt) -> bytes:
    """Return the cache key of one judge call (a digest, so long prompts cost little memory)."""
    return text_key(model_id, template_name, prompt.system, prompt.user)


class VerdictCache(BytesLRU[CachedVerdict]):
    """Verdicts within ``max_bytes`` (0 disables it); safe across threads."""

    def __init__(self, max_bytes: int = DEFAULT_VERDICT_CACHE_BYTES) -> None:
        super().__init__("judge_verdicts", max_bytes)
