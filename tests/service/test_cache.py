"""The byte-bounded cache: budget held whatever goes in, digest keys, refusals, counters."""

from __future__ import annotations

import sys
import threading

import pytest

from verifier_service.cache import (
    ENTRY_OVERHEAD,
    BytesLRU,
    approx_size,
    cache_stats,
    set_cache_budget,
    text_key,
)
from verifier_service.engine.math import MathResult, parse_answer
from verifier_service.engine.math.parse import PARSE_CACHE
from verifier_service.settings import Settings

KB = 1024


def test_cache_many_unique_long_values_stay_within_budget() -> None:
    cache: BytesLRU[str] = BytesLRU("test", 256 * KB, max_entry_bytes=64 * KB)
    for n in range(2000):
        text = f"answer {n} " + "x" * (5 * KB)
        assert cache.put(text_key(text), text)
        assert cache.bytes <= cache.max_bytes
    assert cache.evictions > 1900
    # Each kept entry is accounted at least at its real size.
    assert cache.bytes >= len(cache) * 5 * KB
    assert len(cache) == cache.stats().entries


def test_cache_refuses_an_entry_over_its_limit_and_keeps_the_rest() -> None:
    cache: BytesLRU[str] = BytesLRU("test", 64 * KB)  # entries: an eighth, 8 KB
    cache.put(b"small", "s")
    assert not cache.put(b"big", "x" * (10 * KB))
    assert cache.get(b"big") is None and cache.get(b"small") == "s"
    assert (cache.refused, cache.evictions) == (1, 0)


def test_cache_replacing_a_key_does_not_count_it_twice() -> None:
    cache: BytesLRU[str] = BytesLRU("test", 64 * KB)
    cache.put(b"k", "a" * 1000)
    cache.put(b"k", "b")
    assert cache.bytes == ENTRY_OVERHEAD + approx_size(b"k") + approx_size("b")
    assert len(cache) == 1


def test_cache_zero_budget_stores_nothing() -> None:
    cache: BytesLRU[str] = BytesLRU("test", 0)
    assert not cache.put(b"k", "v")
    assert cache.get(b"k") is None and cache.bytes == 0


def test_cache_rejects_a_negative_budget() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        BytesLRU("test", -1)


def test_text_key_is_a_short_digest_that_tells_parts_apart() -> None:
    long = "y" * 200_000
    assert len(text_key(long)) == 16
    assert text_key("ab", "c") != text_key("a", "bc")
    assert text_key(long, "1") == text_key(long, "1")
    assert len(text_key("\ud800 lone surrogate")) == 16  # any str the service was given


def test_approx_size_counts_the_text_a_result_holds() -> None:
    result = MathResult(False, "z" * 10_000, "reason", "rule")
    assert approx_size(result) >= 10_000
    assert approx_size(result) < 10_000 + 1_000


def test_approx_size_walks_a_parsed_answer() -> None:
    parsed = parse_answer(r"\{1, 2, \frac{3}{4}\}")
    assert approx_size(parsed) > sys.getsizeof(parsed.text)


def test_cache_is_safe_across_threads() -> None:
    cache: BytesLRU[int] = BytesLRU("test", 16 * KB)

    def fill(offset: int) -> None:
        for n in range(2000):
            cache.put(text_key(str(offset + n)), n)

    threads = [threading.Thread(target=fill, args=(k * 10_000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0 < cache.bytes <= cache.max_bytes
    assert cache.bytes == sum(size for _, size in cache._entries.values())


def test_parser_cache_never_keeps_an_answer_refused_for_its_size() -> None:
    before = PARSE_CACHE.stats()
    with pytest.raises(Exception, match="characters long"):
        parse_answer("1+" * 50_000)
    after = PARSE_CACHE.stats()
    assert after.entries == before.entries and after.bytes == before.bytes


def test_set_cache_budget_applies_to_the_named_caches() -> None:
    old = PARSE_CACHE.max_bytes
    try:
        set_cache_budget(100 * KB)
        assert PARSE_CACHE.max_bytes == 100 * KB and PARSE_CACHE.bytes == 0
        assert "parsed_answers" in {s.name for s in cache_stats()}
    finally:
        set_cache_budget(old)


def test_settings_refuse_the_old_entry_count_with_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VERIFIER_CACHE_SIZE", "100000")
    with pytest.raises(ValueError, match="VERIFIER_CACHE_BYTES"):
        Settings()
