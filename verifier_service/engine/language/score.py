"""Attribution of words to languages, and the reward: the share of target-language words."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from verifier_service.engine.language import detect
from verifier_service.engine.language.prose import reasoning_part, strip_non_prose
from verifier_service.engine.language.runs import CHARACTER_SCRIPTS, Script, ScriptRun, split_runs
from verifier_service.errors import InvalidInputError

__all__ = [
    "DEFAULT",
    "KNOWN_LANGUAGES",
    "LanguageOptions",
    "LanguageResult",
    "Scope",
    "language_consistency",
    "normalize_target",
    "split_script_runs",
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


class Scope(StrEnum):
    """Which part of a response is scored."""

    REASONING = "reasoning"  # the <think> part when there is one, else the whole text (R1)
    WHOLE = "whole"


@dataclass(frozen=True)
class LanguageOptions:
    """How words are counted and labelled.

    min_run_words: a run with fewer words is unsure whatever the model says ("Wait" reads as
        French to fastText); its neighbours and the target language decide it.
    min_word_letters: alphabetic words shorter than this are skipped (variables such as x).
    min_confidence: a run whose top fastText probability is below this is unsure too.
    plausible_ratio: an unsure run may take a language whose probability is at least this
        share of the top one (and at least ``plausible_floor``).
    scope: the part of the response scored.
    """

    min_run_words: int = 3
    min_word_letters: int = 2
    min_confidence: float = 0.5
    plausible_ratio: float = 0.5
    plausible_floor: float = 0.05
    scope: Scope = Scope.REASONING

    def __post_init__(self) -> None:
        if self.min_run_words < 1:
            raise InvalidInputError("min_run_words must be at least 1")
        if self.min_word_letters < 1:
            raise InvalidInputError("min_word_letters must be at least 1")
        for name in ("min_confidence", "plausible_ratio", "plausible_floor"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInputError(f"{name} must lie in [0, 1]")
        if self.scope not in tuple(Scope):
            raise InvalidInputError(f"scope must be one of: {', '.join(Scope)}")
        object.__setattr__(self, "scope", Scope(self.scope))  # "whole" works like Scope.WHOLE


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


def split_script_runs(text: str, *, options: LanguageOptions = DEFAULT) -> tuple[ScriptRun, ...]:
    """Split prose into runs of one script and clause each (strip code and math first)."""
    return split_runs(unicodedata.normalize("NFKC", text), options.min_word_letters)


def language_consistency(
    text: str, *, target: str, options: LanguageOptions = DEFAULT
) -> LanguageResult:
    """Score the share of target-language words in ``text`` (its reasoning part by default).

    Raises InvalidInputError for an unknown target code.
    """
    code = normalize_target(target)
    if options.scope is Scope.REASONING:
        text = reasoning_part(text)
    # Full-width letters and dollar signs, ligatures and compatibility ideographs fold first.
    runs = split_runs(
        strip_non_prose(unicodedata.normalize("NFKC", text)), options.min_word_letters
    )
    counts = Counter[str]()
    for run, label in zip(runs, _labels(runs, code, options), strict=True):
        counts[label] += len(run.words)
    total = sum(counts.values())
    if total == 0:
        return LanguageResult(
            None, {}, 0, "no words left after removing tags, code, math and numbers"
        )
    hits = counts.get(code, 0)
    return LanguageResult(hits / total, dict(counts), total, f"{hits} of {total} words are {code}")


# --- labelling -------------------------------------------------------------------------------


def _labels(runs: tuple[ScriptRun, ...], target: str, options: LanguageOptions) -> list[str]:
    """One language per run: script first, then the model, then neighbours and target."""
    labels: list[str | None] = [None] * len(runs)
    scores: dict[int, dict[str, float]] = {}
    context = _CharacterContext(runs)
    for index, run in enumerate(runs):
        if run.script in CHARACTER_SCRIPTS:
            labels[index] = context.label(run)
        elif len(run.words) >= options.min_run_words:
            # Runs of a word or two are not asked: their sentence or their group decides.
            scores[index] = detect.fasttext_scores(run.text)
            top, probability = max(scores[index].items(), key=lambda item: item[1])
            if probability >= options.min_confidence:
                labels[index] = top
    if all(label is not None for label in labels):
        return labels  # type: ignore[return-value]
    near = _neighbour_labels(runs, labels, within_sentence=True)
    far = _neighbour_labels(runs, labels, within_sentence=False)
    decided_scripts = {run.script for run, label in zip(runs, labels, strict=True) if label}
    for index, run in enumerate(runs):
        if labels[index] is not None or run.script not in decided_scripts:
            continue
        if index not in scores:
            if len(set(near[index])) == 1:
                labels[index] = near[index][0]
            continue
        labels[index] = _by_neighbours(scores[index], near[index], far[index], target, options)
    _decide_groups(runs, labels, scores, target, options)
    return [label or target for label in labels]


class _CharacterContext:
    """Which scripts each clause and sentence holds, to label Han by its neighbourhood."""

    def __init__(self, runs: tuple[ScriptRun, ...]) -> None:
        present = {run.script for run in runs}
        self.has_kana = Script.KANA in present
        # Without kana or Hangul anywhere, every Han character is Chinese.
        self.all_chinese = not self.has_kana and Script.HANGUL not in present
        self.clauses: dict[int, set[Script]] = {}
        self.sentences: dict[int, set[Script]] = {}
        self.han: dict[int, list[str]] = {}
        self.sentence_labels: dict[int, str] = {}
        if self.all_chinese:
            return
        for run in runs:
            self.clauses.setdefault(run.clause, set()).add(run.script)
            self.sentences.setdefault(run.sentence, set()).add(run.script)
            if run.script is Script.HAN:
                self.han.setdefault(run.sentence, []).append(run.text)

    def label(self, run: ScriptRun) -> str:
        """Kana is ja, Hangul ko; Han follows kana or Hangul in its clause or sentence."""
        if run.script is Script.KANA:
            return "ja"
        if run.script is Script.HANGUL:
            return "ko"
        if self.all_chinese:
            return "zh"
        sentence = self.sentences[run.sentence]
        if Script.KANA in self.clauses[run.clause] or Script.KANA in sentence:
            return "ja"
        if Script.HANGUL in sentence:
            return "ko"
        if not self.has_kana:
            return "zh"
        # A kana-less sentence in a text with Japanese: the model tells kanji from hanzi.
        if run.sentence not in self.sentence_labels:
            scores = detect.fasttext_scores("".join(self.han[run.sentence]), k=10)
            self.sentence_labels[run.sentence] = (
                "ja" if scores.get("ja", 0.0) > scores.get("zh", 0.0) else "zh"
            )
        return self.sentence_labels[run.sentence]


def _neighbour_labels(
    runs: tuple[ScriptRun, ...], labels: list[str | None], *, within_sentence: bool
) -> list[list[str]]:
    """For each run, the labels of the nearest labelled runs of its script before and after."""
    found: list[list[str]] = [[] for _ in runs]
    for order in (range(len(runs)), range(len(runs) - 1, -1, -1)):
        last: dict[tuple[Script, int], str] = {}
        for index in order:
            run = runs[index]
            key = (run.script, run.sentence if within_sentence else 0)
            if key in last:
                found[index].append(last[key])
            label = labels[index]
            if label is not None and run.script not in CHARACTER_SCRIPTS:
                last[key] = label
    return found


def _plausible(scores: dict[str, float], language: str, options: LanguageOptions) -> bool:
    probability = scores.get(language, 0.0)
    top = max(scores.values(), default=0.0)
    return probability >= options.plausible_floor and probability >= options.plausible_ratio * top


def _by_neighbours(
    scores: dict[str, float],
    near: list[str],
    far: list[str],
    target: str,
    options: LanguageOptions,
) -> str | None:
    """An unsure run takes its neighbours' language, else the target's, if plausible.

    (A run of a word or two, "Bon," "Moment,", belongs to the clauses of its sentence when they
    agree, without asking the model, which cannot judge it alone.) A run no plausible language
    decides waits for :func:`_decide_groups`.
    """
    for neighbours in (near, far):
        if len(set(neighbours)) == 1 and _plausible(scores, neighbours[0], options):
            return neighbours[0]
    if _plausible(scores, target, options):
        return target
    return next((label for label in near + far if _plausible(scores, label, options)), None)


_GROUP_SAMPLE_RUNS = 50


def _decide_groups(
    runs: tuple[ScriptRun, ...],
    labels: list[str | None],
    scores: dict[int, dict[str, float]],
    target: str,
    options: LanguageOptions,
) -> None:
    """Label each stretch of undecided runs of one script as a whole.

    Such a stretch is a sentence of a few short clauses ("D'accord, voyons.") or a text of
    them ("Ok. Wait. Hmm."). lingua judges the joined stretch among the target, English, the
    neighbouring runs' languages and fastText's top three: the neighbours' language wins if
    plausible, then the target. A stretch with no neighbours is also the target when fastText
    finds the target plausible for most of its words run by run: neither model separates
    related languages on two or three words, so a plausible target gets the benefit.
    """
    far = _neighbour_labels(runs, labels, within_sentence=False)
    index = 0
    while index < len(runs):
        if labels[index] is not None:
            index += 1
            continue
        end = index + 1
        while end < len(runs) and labels[end] is None and runs[end].script is runs[index].script:
            end += 1
        labels[index:end] = [
            _group_label(runs, range(index, end), far, scores, target, options)
        ] * (end - index)
        index = end


def _group_label(
    runs: tuple[ScriptRun, ...],
    group: range,
    far: list[list[str]],
    scores: dict[int, dict[str, float]],
    target: str,
    options: LanguageOptions,
) -> str:
    neighbours = set(far[group.start][:1] + far[group.stop - 1][-1:])
    # A long stretch is judged on its start: a few sentences say as much as a megabyte.
    text = " ".join(runs[i].text for i in group[:_GROUP_SAMPLE_RUNS])
    fasttext = detect.fasttext_scores(text)
    top3 = sorted(fasttext, key=fasttext.__getitem__)[-3:]
    joined = detect.lingua_scores(text, frozenset({target, "en", *neighbours, *top3})) or fasttext
    if len(neighbours) == 1 and _plausible(joined, next(iter(neighbours)), options):
        return next(iter(neighbours))
    if _plausible(joined, target, options):
        return target
    sample = group[:_GROUP_SAMPLE_RUNS]
    words = sum(len(runs[i].words) for i in sample)
    backing = sum(
        len(runs[i].words)
        for i in sample
        if _plausible(scores.get(i) or detect.fasttext_scores(runs[i].text), target, options)
    )
    if not neighbours and 2 * backing > words:
        return target
    return max(joined, key=joined.__getitem__)
