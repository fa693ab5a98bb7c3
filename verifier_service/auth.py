"""API keys: from ``VERIFIER_API_KEYS`` and a file that can be rotated without a restart."""

from __future__ import annotations

import hmac
import os
import threading
from pathlib import Path


class ApiKeys:
    """The set of accepted keys.

    Keys come from a comma-separated string and, optionally, a file with one key per line
    (blank lines and ``#`` comments ignored). The file is re-read when its modification time
    changes, so keys rotate by rewriting it (a Kubernetes Secret update does exactly that).
    """

    def __init__(self, inline: str, file: Path | None) -> None:
        self._inline = _parse(inline.replace(",", "\n"))
        self._file = file
        self._file_keys: frozenset[str] = frozenset()
        self._file_stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        if file is not None:
            self._reload(file)  # a missing or unreadable file fails start-up loudly

    @property
    def required(self) -> bool:
        return bool(self._inline) or self._file is not None

    def accepts(self, token: str) -> bool:
        """Constant-time check of ``token`` against every key."""
        keys = self._inline | self._current_file_keys()
        candidate = token.encode()
        # Compare with every key, without stopping early: timing says nothing about which.
        matches = [hmac.compare_digest(candidate, key.encode()) for key in keys]
        return bool(token) and any(matches)

    def _current_file_keys(self) -> frozenset[str]:
        if self._file is None:
            return frozenset()
        try:
            stat = os.stat(self._file)
        except OSError:
            return self._file_keys  # mid-rotation (file replaced): keep the last good keys
        if (stat.st_mtime_ns, stat.st_size) != self._file_stamp:
            self._reload(self._file)
        return self._file_keys

    def _reload(self, file: Path) -> None:
        with self._lock:
            stat = os.stat(file)
            self._file_keys = _parse(file.read_text(encoding="utf-8"))
            self._file_stamp = (stat.st_mtime_ns, stat.st_size)


def _parse(text: str) -> frozenset[str]:
    keys = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(key for key in keys if key)
