"""The verdict cache: bounded LRU, keys that tell prompts, models and templates apart."""

from __future__ import annotations

import pytest

from verifier_service.engine.judge.cache import CachedVerdict, VerdictCache, verdict_cache_key
from verifier_service.engine.judge.prompts import JudgePrompt
from verifier_service.engine.judge.verdict import Verdict

ENTRY = CachedVerdict(Verdict("correct", "Yes"), "Final Decision: Yes")


def test_verdict_cache_evicts_least_recently_used() -> None:
    cache = VerdictCache(maxsize=2)
    cache.put("a", ENTRY)
    cache.put("b", ENTRY)
    assert cache.get("a") == ENTRY  # "a" is now the most recent
    cache.put("c", ENTRY)
    assert cache.get("b") is None
    assert cache.get("a") == ENTRY and cache.get("c") == ENTRY
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 1)


def test_verdict_cache_size_zero_stores_nothing() -> None:
    cache = VerdictCache(maxsize=0)
    cache.put("a", ENTRY)
    assert cache.get("a") is None


def test_verdict_cache_rejects_negative_size() -> None:
    with pytest.raises(ValueError):
        VerdictCache(maxsize=-1)


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
