"""The one cache of the project: least-recently-used, bounded in bytes, keyed by digests.

Every cache (graded results in the service, parsed answers in each grading worker, judge
verdicts) is a ``BytesLRU``. Its budget is bytes, not entries: a cache of N entries holds
anything from kilobytes to gigabytes depending on what is in them, so only a byte budget
bounds a process's memory whatever the traffic. Keys are digests (``text_key``) of the text
they stand for, never the text itself: a 200 KB answer costs a 16-byte key. An entry larger
than ``max_entry_bytes`` is refused (counted, never stored).

Sizes are estimates (``approx_size``): the bytes of the strings and numbers an entry holds
plus a fixed overhead per object, close enough to keep RSS within the documented budgets
(measured in tests/reliability).

Caches created with a ``name`` are listed in this process's registry, so a grading worker can
report every cache it holds without knowing which modules made them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = [
    "BytesLRU",
    "CacheStats",
    "approx_size",
    "cache_stats",
    "set_cache_budget",
    "text_key",
]

V = TypeVar("V")

# An OrderedDict entry (its node, the hash slot, the key object): measured ~ 200 bytes.
ENTRY_OVERHEAD = 200
_OBJECT = 56  # a small Python object's header and slots
_MAX_DEPTH = 12
_SYMPY_NODE = 160


def text_key(*parts: object) -> bytes:
    """A 16-byte digest of ``parts`` (strings, or anything with a stable ``repr``).

    Length-prefixed, so no two different part lists hash the same bytes. Text is taken with
    its lone surrogates (``surrogatepass``): any str the service was given has a key.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = (part if isinstance(part, str) else repr(part)).encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.digest()


def approx_size(value: object, _depth: int = 0) -> int:
    """Bytes ``value`` holds, estimated: strings and bytes exactly, containers and dataclasses
    as their parts plus a header; other objects (sympy trees) through their ``args``."""
    if isinstance(value, str | bytes):
        return sys.getsizeof(value)
    if value is None or isinstance(value, bool | int | float) or _depth > _MAX_DEPTH:
        return sys.getsizeof(value) if isinstance(value, int) else _OBJECT // 2
    if isinstance(value, tuple | list | frozenset | set):
        return _OBJECT + sum(approx_size(v, _depth + 1) for v in value)
    if isinstance(value, dict):
        return _OBJECT + sum(
            approx_size(k, _depth + 1) + approx_size(v, _depth + 1) for k, v in value.items()
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _OBJECT + sum(
            approx_size(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value)
        )
    if isinstance(value, BaseException):
        return _OBJECT + sum(approx_size(a, _depth + 1) for a in value.args)
    args = getattr(value, "args", None)  # a sympy expression: its tree
    if isinstance(args, tuple):
        # Each node also holds its hash and a dict of derived assumptions (measured).
        own = sys.getsizeof(value) + _SYMPY_NODE
        return own + sum(approx_size(a, _depth + 1) for a in args)
    return sys.getsizeof(value)


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """What a cache holds and has done, for /metrics and /readyz."""

    name: str
    bytes: int
    max_bytes: int
    entries: int
    hits: int
    misses: int
    evictions: int
    refused: int


class BytesLRU(Generic[V]):
    """Least-recently-used map from digest keys to values, within ``max_bytes``.

    ``max_bytes=0`` disables it. ``max_entry_bytes`` (default: an eighth of the budget) refuses
    single entries that would crowd out many others. Safe across threads (the local judge runs
    in one).
    """

    def __init__(
        self,
        name: str,
        max_bytes: int,
        *,
        max_entry_bytes: int | None = None,
        size_of: Callable[[Any], int] = approx_size,
        register: bool = False,
    ) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0 (0 disables the cache)")
        self.name = name
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes // 8 if max_entry_bytes is None else max_entry_bytes
        self._size_of = size_of
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = self.misses = self.evictions = self.refused = 0
        if register:
            _REGISTRY[name] = self

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: V) -> bool:
        """Keep ``value``; False when it was refused for its size (or the cache is off)."""
        if self.max_bytes <= 0:
            return False
        size = ENTRY_OVERHEAD + approx_size(key) + self._size_of(value)
        if size > self.max_entry_bytes:
            self.refused += 1
            return False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
                self.evictions += 1
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> CacheStats:
        return CacheStats(
            self.name,
            self.bytes,
            self.max_bytes,
            len(self._entries),
            self.hits,
            self.misses,
            self.evictions,
            self.refused,
        )


_REGISTRY: dict[str, BytesLRU[Any]] = {}


def set_cache_budget(max_bytes: int) -> None:
    """Share ``max_bytes`` among this process's named caches (a grading worker's budget)."""
    caches = list(_REGISTRY.values())
    for cache in caches:
        cache.max_bytes = max_bytes // len(caches)
        cache.max_entry_bytes = cache.max_bytes // 8
        cache.clear()


def cache_stats() -> list[CacheStats]:
    """The stats of every named cache of this process."""
    return [cache.stats() for cache in list(_REGISTRY.values())]
