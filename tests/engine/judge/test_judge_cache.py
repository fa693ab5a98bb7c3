"""The verdict cache: bounded LRU in bytes, keys that tell prompts, models and templates apart."""

from __future__ import annotations

import pytest

from verifier_service.cache import ENTRY_OVERHEAD, approx_size
from verifier_service.engine.judge.cache import CachedVerdict, VerdictCache, verdict_cache_key
from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.engine.judge.verdict import Verdict

ENTRY = CachedVerdict(Verdict("correct", "Yes"), "Final Decision: Yes")
ENTRY_BYTES = ENTRY_OVERHEAD + approx_size(b"a") + approx_size(ENTRY)


def test_verdict_cache_evicts_least_recently_used() -> None:
    cache = VerdictCache(max_bytes=2 * ENTRY_BYTES)
    cache.max_entry_bytes = ENTRY_BYTES
    cache.put(b"a", ENTRY)
    cache.put(b"b", ENTRY)
    assert cache.get(b"a") == ENTRY  # "a" is now the most recent
    cache.put(b"c", ENTRY)
    assert cache.get(b"b") is None
    assert cache.get(b"a") == ENTRY and cache.get(b"c") == ENTRY
    assert len(cache) == 2 and cache.bytes == 2 * ENTRY_BYTES
    assert (cache.hits, cache.misses, cache.evictions) == (3, 1, 1)


def test_verdict_cache_size_zero_stores_nothing() -> None:
    cache = VerdictCache(max_bytes=0)
    cache.put(b"a", ENTRY)
    assert cache.get(b"a") is None


def test_verdict_cache_rejects_negative_size() -> None:
    with pytest.raises(ValueError):
        VerdictCache(max_bytes=-1)


def test_verdict_cache_key_separates_every_part() -> None:
    prompt = JudgePrompt("sys", "user")
    keys = {
        verdict_cache_key("m", "yes_no", prompt),
        verdict_cache_key("m2", "yes_no", prompt),
        verdict_cache_key("m", "abc", prompt),
        verdict_cache_key("m", "yes_no", JudgePrompt("sys", "user2")),
        verdict_cache_key("m", "yes_no", JudgePrompt("sysu", "ser")),  # same concatenation
    }
    assert len(keys) == 5
    assert verdict_cache_key("m", "yes_no", prompt) == verdict_cache_key("m", "yes_no", prompt)
