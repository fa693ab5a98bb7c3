"""Build the labelled language set (language_set.jsonl) from the hand-written sentence banks.

Run ``python tests/engine/data/language_set.py`` to rewrite the set; a test checks that the
file is what this script writes.

Counting rule (how the expected shares were counted): in Chinese and Japanese each Han or kana
character is a word; in every other language a word is a space-separated token holding at
least two letters (one-letter words such as "y", "à", "и" are left out on both sides, as they
cannot be told from variables). Punctuation, numbers, math, code, URLs, e-mail addresses and
tags are never words. The share of a mix is the target's words over all words, and its range
is that share ± 0.05 (± 0.08 for a clause mixed inside one sentence, whose boundary words a
reader may attribute either way). Pure texts expect [0.95, 1], texts wholly in another
language [0, 0.05], texts with no words ``null``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from language_banks import BANKS

OUT = Path(__file__).parent / "language_set.jsonl"
CHARACTER_LANGUAGES = ("zh", "ja")
# For each language: a partner of another script and one of the same script (or a close one).
PARTNERS = {
    "en": ("zh", "fr"),
    "fr": ("ru", "en"),
    "de": ("ja", "en"),
    "es": ("ko", "pt"),
    "pt": ("ar", "es"),
    "it": ("zh", "es"),
    "vi": ("ko", "en"),
    "ru": ("en", "uk"),
    "uk": ("de", "ru"),
    "ar": ("en", "fr"),
    "ko": ("en", "ja"),
    "zh": ("en", "ja"),
    "ja": ("en", "zh"),
}
_CJK = re.compile(r"[\u3041-\u309f\u30a0-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_LETTER = re.compile(r"[^\W\d_]")


def count_words(text: str, language: str) -> int:
    """Words of ``text`` by the counting rule above."""
    if language in CHARACTER_LANGUAGES:
        return len(_CJK.findall(text))
    if language == "ko":  # a one-syllable Korean word (두, 값) is still a word
        return len(text.split())
    return sum(len(_LETTER.findall(token)) >= 2 for token in text.split())


def sentences(language: str) -> list[str]:
    return list(BANKS[language]["sentences"])  # type: ignore[call-overload]


def join(language: str, parts: list[str]) -> str:
    return ("" if language in CHARACTER_LANGUAGES else " ").join(parts)


def case(
    case_id: str,
    kind: str,
    text: str,
    target: str,
    low: float | None,
    high: float | None,
    note: str,
) -> dict[str, Any]:
    expect = None if low is None else [round(low, 3), round(high or 0.0, 3)]
    return {
        "id": case_id,
        "kind": kind,
        "text": text,
        "target": target,
        "range": expect,
        "note": note,
    }


def pure(lang: str) -> list[dict[str, Any]]:
    s = sentences(lang)
    bank = BANKS[lang]
    other = "de" if lang == "en" else "en"
    para = join(lang, s[:3])
    five = "\n\n".join(join(lang, [s[i % 6], s[(i + 1) % 6], s[(i + 2) % 6]]) for i in range(5))
    rows = [
        case(f"{lang}-phrase", "pure", str(bank["phrase"]), lang, 0.95, 1.0, "three words"),
        case(
            f"{lang}-interjections",
            "interjection",
            str(bank["interjections"]),
            lang,
            0.95,
            1.0,
            "interjections only",
        ),
        case(f"{lang}-paragraph", "pure", para, lang, 0.95, 1.0, "one paragraph"),
        case(f"{lang}-five-paragraphs", "pure", five, lang, 0.95, 1.0, "five paragraphs"),
        case(f"{lang}-as-{other}", "other", para, other, 0.0, 0.05, f"{lang} text, {other} wanted"),
        case(
            f"{lang}-phrase-as-{other}",
            "other",
            str(bank["phrase"]),
            other,
            0.0,
            0.05,
            f"three {lang} words, {other} wanted",
        ),
        case(
            f"{lang}-think-answer-{other}",
            "answer",
            f"<think>\n{para}\n</think>\n{join(other, sentences(other)[5:])}",
            lang,
            0.95,
            1.0,
            f"{lang} reasoning, {other} answer after it",
        ),
        case(
            f"{lang}-prefilled-answer-{other}",
            "answer",
            f"{para}\n</think>\n\n{join(other, sentences(other)[4:])}",
            lang,
            0.95,
            1.0,
            "template emitted <think>: the text before </think> counts",
        ),
    ]
    near = PARTNERS[lang][1]
    rows.append(
        case(
            f"{lang}-interjections-as-{near}",
            "interjection",
            str(bank["interjections"]),
            near,
            0.0,
            0.05,
            f"interjections in {lang}, {near} wanted",
        )
    )
    rows += [
        case(f"{lang}-sentence-{i}", "pure", sentence, lang, 0.95, 1.0, "one sentence")
        for i, sentence in enumerate(s)
    ]
    return rows


def heavy(lang: str) -> list[dict[str, Any]]:
    s = sentences(lang)
    math = join(
        lang,
        [
            s[0],
            "$x^2 + 2x + 1 = (x+1)^2$",
            s[1],
            "\n$$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$\n",
            s[2],
            "\\[ \\int_0^1 t \\, dt = \\tfrac12 \\]",
            "\\(a \\le b\\)",
            s[3],
            "\n\\begin{align}\ny &= 3x - 4 \\\\\nz &= y^2\n\\end{align}\n",
        ],
    )
    code = (
        f"{s[0]}\n\n```python\ndef solve(items):\n    return sum(items) // len(items)\n```\n\n"
        f"{s[1]} `solve(boxes)`\n\n    for box in boxes:\n        print(box.count)\n\n"
        f"{s[2]} https://example.org/docs/solve?x=1 admin@example.org"
    )
    units = join(lang, [s[3], "5 km, 12 kg, 3 ml, 20 °C, 9.8 m/s, H2O, NaCl, 3.5", s[4]])
    return [
        case(
            f"{lang}-math", "math", math, lang, 0.95, 1.0, "inline, display, \\[\\], \\(\\), align"
        ),
        case(
            f"{lang}-code",
            "code",
            code,
            lang,
            0.95,
            1.0,
            "fenced, inline, indented code, URL, mail",
        ),
        case(f"{lang}-units", "units", units, lang, 0.95, 1.0, "numbers, units, formulas"),
    ]


def mixes(lang: str) -> list[dict[str, Any]]:
    rows = []
    s = sentences(lang)
    for partner, picks in zip(PARTNERS[lang], ((0, 1, 2), (3, 4)), strict=True):
        p = sentences(partner)
        own = [s[i] for i in picks]
        theirs = [p[5]] if len(picks) == 3 else [p[0], p[5]]
        parts = own[:1] + theirs[:1] + own[1:] + theirs[1:]
        text = " ".join(parts)
        n_own = sum(count_words(x, lang) for x in own)
        n_theirs = sum(count_words(x, partner) for x in theirs)
        share = n_own / (n_own + n_theirs)
        note = f"{n_own} {lang} words, {n_theirs} {partner} words"
        for target, value in ((lang, share), (partner, 1 - share)):
            rows.append(
                case(
                    f"mix-{lang}-{partner}-as-{target}",
                    "mix",
                    text,
                    target,
                    max(0.0, value - 0.05),
                    min(1.0, value + 0.05),
                    note,
                )
            )
    rows += _paragraph_mix(lang, PARTNERS[lang][1])
    clause = BANKS["en"].get("clause") if lang != "en" else BANKS["fr"].get("clause")
    if lang not in CHARACTER_LANGUAGES and lang != "ko" and clause:
        other = "fr" if lang == "en" else "en"
        text = f"{s[3].rstrip('.')}, {clause}, {s[5][0].lower()}{s[5][1:]}"
        n_own = count_words(s[3], lang) + count_words(s[5], lang)
        n_theirs = count_words(str(clause), other)
        share = n_own / (n_own + n_theirs)
        rows.append(
            case(
                f"clause-{lang}-{other}",
                "clause",
                text,
                lang,
                share - 0.08,
                share + 0.08,
                f"{n_own} {lang} words around a {n_theirs}-word {other} clause",
            )
        )
    return rows


def _paragraph_mix(lang: str, partner: str) -> list[dict[str, Any]]:
    """Four paragraphs in ``lang`` and, third, one in ``partner``."""
    s, p = sentences(lang), sentences(partner)
    paragraphs = [join(lang, [s[i % 6], s[(i + 2) % 6]]) for i in range(4)]
    paragraphs.insert(2, join(partner, p[1:4]))
    n_own = sum(count_words(x, lang) for i, x in enumerate(paragraphs) if i != 2)
    n_theirs = count_words(paragraphs[2], partner)
    share = n_own / (n_own + n_theirs)
    text = "\n\n".join(paragraphs)
    note = f"{n_own} {lang} words, one paragraph of {n_theirs} {partner} words"
    return [
        case(
            f"paragraphs-{lang}-{partner}-as-{target}",
            "mix",
            text,
            target,
            max(0.0, value - 0.05),
            min(1.0, value + 0.05),
            note,
        )
        for target, value in ((lang, share), (partner, 1 - share))
    ]


NO_WORDS = [
    "",
    "   \n\t",
    "$$x^2 + y^2 = z^2$$",
    "```python\nprint(42)\n```",
    "1 + 2 = 3, 4 * 5 = 20",
    "<think></think>The answer is four.",
    "<think>\n$$\\frac{1}{2} + \\frac{1}{3}$$\n</think>\nSo one half.",
    "<think>...?!</think>",
    "https://example.com/a?b=c",
    "someone@example.org",
    "<think>\n    x = 1\n    y = x + 2\n</think>\nDone.",
    "\\begin{align} a &= b \\\\ c &= d \\end{align}",
    "H2O + NaCl -> 5 km, 3 kg",
    "`x = y` `z`",
    "<answer>42</answer>",
    "<think>\\[ x \\]</think>",
]


def build() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for lang in BANKS:
        rows += pure(lang) + heavy(lang) + mixes(lang)
    targets = ["en", "zh", "fr", "ja"]
    rows += [
        case(f"no-words-{i}", "no-words", text, targets[i % 4], None, None, "no words at all")
        for i, text in enumerate(NO_WORDS)
    ]
    return rows


def main() -> None:
    rows = build()
    OUT.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8")
    print(f"{len(rows)} texts, {len({row['target'] for row in rows})} target languages")


if __name__ == "__main__":
    main()
