"""Language-consistency reward: the share of target-language words in a response's reasoning.

DeepSeek-R1 added this reward to stop its reasoning from mixing languages: the score is the
proportion of words of the reasoning that are in the target language, in [0, 1]. The
reasoning is the ``<think>`` part when there is one (a response whose template already
emitted ``<think>`` counts the text before ``</think>``), else the whole text; scope
``whole`` scores all of it. How words are found and labelled:

1. **Strip what is not prose** (:mod:`.prose`): tags, URLs, e-mail addresses, code, math.
2. **Split into runs** (:mod:`.runs`) of one script within one clause; numbers, units,
   chemical formulas and identifiers are not words. Han and kana count one word a character.
3. **Script first**: kana is ``ja``, Hangul ``ko``; Han follows kana or Hangul in its clause or
   sentence, so one Japanese sentence does not turn a Chinese text Japanese.
4. **The model per run**: fastText ``lid.176`` labels every alphabetic run; a run of
   ``min_run_words`` words or more whose top label is at least ``min_confidence`` is decided.
5. **Unsure runs by neighbours and target, never the majority**: a run of a word or two
   follows the other clauses of its sentence when they agree; a longer run the model is
   unsure of takes the language of its neighbouring runs if the model finds it plausible,
   else the target language if plausible.
6. **What is still undecided** (a lone "Ok. Wait. Hmm.", "D'accord, voyons."): consecutive
   runs are joined and lingua, built for short text, chooses among the target, English, the
   neighbours' language and fastText's top three; neighbours, then the target, win if
   plausible.

A text with no words left is neutral: score ``None`` with a reason, never 0.
"""

from verifier_service.engine.language.prose import reasoning_part, strip_non_prose
from verifier_service.engine.language.runs import Script, ScriptRun
from verifier_service.engine.language.score import (
    DEFAULT,
    KNOWN_LANGUAGES,
    LanguageOptions,
    LanguageResult,
    Scope,
    language_consistency,
    normalize_target,
    split_script_runs,
)

__all__ = [
    "DEFAULT",
    "KNOWN_LANGUAGES",
    "LanguageOptions",
    "LanguageResult",
    "Scope",
    "Script",
    "ScriptRun",
    "language_consistency",
    "normalize_target",
    "reasoning_part",
    "split_script_runs",
    "strip_non_prose",
]
