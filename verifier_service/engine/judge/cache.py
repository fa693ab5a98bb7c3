"""A bounded LRU cache of judge verdicts, keyed by model, template and rendered prompt."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.engine.judge.verdict import Verdict

__all__ = ["CachedVerdict", "VerdictCache", "verdict_cache_key"]


@dataclass(frozen=True)
class CachedVerdict:
    """A parsed verdict and the reply it was read from."""

    verdict: Verdict
    raw: str


def verdict_cache_key(model_id: str, template_name: str, prompt: JudgePrompt) -> str:
    """Return the cache key of one judge call (a digest, so long prompts cost little memory)."""
    digest = hashlib.sha256()
    for part in (model_id, template_name, prompt.system, prompt.user):
        encoded = part.encode()
        # Length-prefixed so no two different part lists hash the same bytes.
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


class VerdictCache:
    """Least-recently-used map from verdict_cache_key to CachedVerdict; safe across threads."""

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0 (0 disables the cache)")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, CachedVerdict] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CachedVerdict | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, entry: CachedVerdict) -> None:
        if self.maxsize == 0:
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
