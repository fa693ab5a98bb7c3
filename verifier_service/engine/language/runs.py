"""Words of prose, split by script, sentence and clause.

Han and kana characters are one word each (Chinese and Japanese are not written with spaces);
everything else, Hangul included, is split into words at spaces. Runs of one script end at
another script, a clause mark (comma, colon, bracket, quote, dash), a sentence end or a line
break, so a language switch inside a sentence is a run of its own. Numbers, identifiers
(``x2``, ``my_var``), unit symbols after a number (``5 km``), chemical formulas (``NaCl``) and
alphabetic words shorter than ``min_letters`` (variables like ``x``) are not words.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple

__all__ = ["CHARACTER_SCRIPTS", "Script", "ScriptRun", "split_runs"]


class Script(StrEnum):
    """The writing systems text is split by."""

    HAN = "han"
    KANA = "kana"
    HANGUL = "hangul"
    LATIN = "latin"
    CYRILLIC = "cyrillic"
    OTHER = "other"


# Scripts whose language the script itself decides (with its neighbours, for Han).
CHARACTER_SCRIPTS = frozenset({Script.HAN, Script.KANA, Script.HANGUL})


class ScriptRun(NamedTuple):
    """A stretch of one clause in one script.

    words: one per character for Han and kana, else the counted words.
    text: the stretch as written, its sentence mark included (the model reads it better so).
    sentence, clause: indexes of the sentence and clause (counted over the text) it lies in.
    """

    script: Script
    words: tuple[str, ...]
    text: str
    sentence: int = 0
    clause: int = 0


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
# A sentence ends at a mark followed by a space (3.5 and e.g. stay inside) or a line break; a
# clause at a comma, colon, bracket, quote or dash. Everything else between words of one
# script is glue that keeps them in one run.
_SENTENCE_END = "[.!?;](?=\\s|\\Z)|[\n\u3002\uff01\uff1f\uff1b\u061f\u06d4]"
_CLAUSE_MARKS = (
    ',:()\\[\\]"\u201c\u201d\u00ab\u00bb\uff0c\u3001\uff1a\uff08\uff09\u060c\u061b\u2014'
)
_GLUE = f"(?:[^\\w\\n.!?;{_CLAUSE_MARKS}\u3002\uff01\uff1f\uff1b\u061f\u06d4]|[.!?;](?!\\s|\\Z))"
_TOKEN = re.compile(
    f"(?P<end>{_SENTENCE_END})|(?P<mark>[{_CLAUSE_MARKS}])"
    f"|(?P<han>[{_HAN}]+)|(?P<kana>[{_KANA}]+)|(?P<hangul>[{_HANGUL}]+(?:[ \\t]+[{_HANGUL}]+)*)"
    f"|(?P<latin>[{_LATIN}](?:[{_LATIN}0-9_]|{_GLUE})*)"
    f"|(?P<cyrillic>[{_CYRILLIC}](?:[{_CYRILLIC}0-9_]|{_GLUE})*)"
    f"|(?P<other>{_OTHER_LETTER}(?:{_OTHER_LETTER}|[0-9_]|{_GLUE})*)"
)
# A word is a letter run not touching a digit or underscore (so not x2, 3rd, my_var).
_WORDS = {
    Script.HANGUL: re.compile(f"[{_HANGUL}]+"),
    Script.LATIN: re.compile(f"(?<![{_LATIN}0-9_])[{_LATIN}]+(?:[{_JOIN}][{_LATIN}]+)*(?![0-9_])"),
    Script.CYRILLIC: re.compile(
        f"(?<![{_CYRILLIC}0-9_])[{_CYRILLIC}]+(?:[{_JOIN}][{_CYRILLIC}]+)*(?![0-9_])"
    ),
    Script.OTHER: re.compile(f"(?:{_OTHER_LETTER}|(?!\\d)[{_MARKS}])+"),
}
_SCRIPT_OF = {script.value: script for script in Script}
# Unit symbols are not words after a number: 5 km, 3 kg, 20 ms, 9.8 m/s.
_UNIT_NAMES = (
    "mm cm dm km mg kg ms ns min ml mL dl kHz MHz GHz Hz kJ kW kWh MW mA mV kV Pa kPa MPa "
    "hPa mol cd eV keV MeV dB lb lbs oz ft yd mi mph kph rpm km/h"
)
_UNITS = frozenset(_UNIT_NAMES.split())
_NUMBER_BEFORE = re.compile(r"\d[\s\u00b0]*\Z")
_ELEMENT_NAMES = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As "
    "Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pt Au Hg Tl Pb "
    "Bi Po At Rn Fr Ra U Pu"
)
_ELEMENTS = frozenset(_ELEMENT_NAMES.split())
_ELEMENT_SYMBOL = re.compile(r"[A-Z][a-z]?")


def split_runs(text: str, min_letters: int) -> tuple[ScriptRun, ...]:
    """Split prose (code and math already blanked) into runs of one script and clause each."""
    runs: list[ScriptRun] = []
    sentence = clause = 0
    for token in _TOKEN.finditer(text):
        kind = token.lastgroup
        if kind == "end" or kind == "mark":
            last = runs[-1] if runs else None
            if (
                kind == "end"
                and last is not None
                and last.sentence == sentence
                and last.script not in CHARACTER_SCRIPTS
                and token.group() != "\n"
            ):
                # The run keeps its sentence mark: the model reads "Wait, let me check." better.
                runs[-1] = last._replace(text=last.text + token.group())
            sentence += kind == "end"
            clause += 1
            continue
        script = _SCRIPT_OF[kind or "other"]
        if script is Script.HAN or script is Script.KANA:
            chars = token.group()
            runs.append(ScriptRun(script, tuple(chars), chars, sentence, clause))
            continue
        start, end = token.span()
        words = _words(text, start, end, min_letters, script)
        if words:
            runs.append(ScriptRun(script, words, text[start:end].strip(), sentence, clause))
    return tuple(runs)


_SHORT_UNITS = frozenset("mgsLNJWVAKh")


def _words(text: str, start: int, end: int, min_letters: int, script: Script) -> tuple[str, ...]:
    found = _WORDS[script].findall(text, start, end)
    if script is Script.HANGUL:
        return tuple(found)
    if any(word in _UNITS or word in _SHORT_UNITS for word in found):
        # Rare: find where each unit-like word stands, to see whether a number precedes it.
        return tuple(
            match.group()
            for match in _WORDS[script].finditer(text, start, end)
            if _is_word(match.group(), min_letters) and not _after_number(match, text)
        )
    return tuple(word for word in found if _is_word(word, min_letters))


def _is_word(word: str, min_letters: int) -> bool:
    return len(word) >= min_letters and not (word[0].isupper() and _is_formula(word))


def _after_number(match: re.Match[str], text: str) -> bool:
    word = match.group()
    if word not in _UNITS and word not in _SHORT_UNITS:
        return False
    return _NUMBER_BEFORE.search(text, max(0, match.start() - 8), match.start()) is not None


def _is_formula(word: str) -> bool:
    """NaCl, HCl, NaOH: two or more element symbols, not an all-capital word (OK, CO)."""
    if word.isupper() or word[:1].islower() or word[1:].islower():
        return False  # a formula has two capitals or more, and lower case too
    symbols = _ELEMENT_SYMBOL.findall(word)
    return len(symbols) >= 2 and "".join(symbols) == word and all(s in _ELEMENTS for s in symbols)
