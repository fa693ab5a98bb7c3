"""Tests of the language-consistency reward: the labelled set, then each stage on its own."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from verifier_service.engine import language
from verifier_service.engine.language import (
    DEFAULT,
    KNOWN_LANGUAGES,
    LanguageOptions,
    LanguageResult,
    Script,
    language_consistency,
    normalize_target,
    reasoning_part,
    split_script_runs,
    strip_non_prose,
)
from verifier_service.errors import InvalidInputError

CASES_FILE = Path(__file__).parent / "data" / "language_cases.jsonl"


def _load_cases() -> list[Any]:
    rows = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines()]
    return [pytest.param(row, id=row["id"]) for row in rows if row]


CASES = _load_cases()


def test_language_cases_cover_the_required_kinds() -> None:
    ids = [case.values[0]["id"] for case in CASES]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)
    for prefix in ("en-", "zh-", "mix-", "ja-", "ko-", "ru-", "fr-", "de-", "es-", "code-"):
        assert any(case_id.startswith(prefix) for case_id in ids), prefix
    for prefix in ("latex-", "short-", "r1-"):
        assert sum(case_id.startswith(prefix) for case_id in ids) >= 5, prefix


@pytest.mark.parametrize("case", CASES)
def test_language_consistency_labelled_case(case: dict[str, Any]) -> None:
    result = language_consistency(case["text"], target=case["target"])
    expected = case["expected_score"]
    if expected is None:
        assert result.score is None, result
        assert result.total_words == 0
    else:
        assert result.score is not None, result
        assert abs(result.score - expected) <= case["tolerance"] + 1e-9, (result, case["note"])


# --- the reasoning part ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        pytest.param("<think>a</think>b", "a", id="closed"),
        pytest.param("intro <think> a </think> b", " a ", id="text-before"),
        pytest.param("<think>a and more", "a and more", id="unclosed"),
        pytest.param("a</think>b", "a", id="close-only"),
        pytest.param("no tags at all", "no tags at all", id="no-tags"),
        pytest.param("<think></think>b", "", id="empty"),
        pytest.param("<think>a</think>b<think>c</think>", "a", id="first-of-two"),
    ],
)
def test_reasoning_part_cases(response: str, expected: str) -> None:
    assert reasoning_part(response) == expected


def test_language_consistency_scores_whole_text_when_reasoning_only_is_off() -> None:
    response = "<think>我们先算一下。</think>The answer is four, as computed."
    whole = language_consistency(
        response, target="zh", options=LanguageOptions(reasoning_only=False)
    )
    assert language_consistency(response, target="zh").score == 1.0
    assert whole.counts["zh"] == 6
    assert whole.score is not None and whole.score < 1.0


# --- stripping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        pytest.param("a ```python\nx = 1\n``` b", ["a", "b"], ["python", "x = 1"], id="fence"),
        pytest.param("a ```\nrest of it", ["a"], ["rest"], id="fence-unclosed"),
        pytest.param("a ~~~\ncode\n~~~ b", ["a", "b"], ["code"], id="tilde-fence"),
        pytest.param("call `foo()` now", ["call", "now"], ["foo"], id="inline-code"),
        pytest.param("it`s one\nand `two` here", ["it`s", "one", "here"], ["two"], id="stray"),
        pytest.param("so $x + y$ is", ["so", "is"], ["x + y"], id="inline-math"),
        pytest.param("so $$x$$ is", ["so", "is"], ["x"], id="display-math"),
        pytest.param("so \\(x\\) and \\[y\\] end", ["so", "and", "end"], ["x", "y"], id="parens"),
        pytest.param("a \\begin{align}x\\end{align} b", ["a", "b"], ["x", "align"], id="env"),
        pytest.param("costs $5 and $10 total", ["$5 and $10 total"], [], id="prices"),
        pytest.param("escaped \\$x$ stays", ["x$ stays"], [], id="escaped-dollar"),
        pytest.param("open $x\nnext line$ here", ["open", "next line"], [], id="math-one-line"),
        pytest.param("see https://example.com/a_b?q=1 now", ["see", "now"], ["example"], id="url"),
        pytest.param("see www.example.org now", ["see", "now"], ["example"], id="www"),
        pytest.param("so \\frac{1}{2} is", ["so", "{1}{2}", "is"], ["frac"], id="command"),
        pytest.param("a \\begin{x} b", ["a", "b"], [], id="env-unclosed"),
    ],
)
def test_strip_non_prose_cases(text: str, kept: list[str], gone: list[str]) -> None:
    stripped = strip_non_prose(text)
    for piece in kept:
        assert piece in stripped, (piece, stripped)
    for piece in gone:
        assert piece not in stripped, (piece, stripped)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param("\\(" * 500_000, id="unclosed-parens"),
        pytest.param("$a " * 350_000, id="unclosed-dollars"),
        pytest.param("`a\n" * 350_000, id="backticks-across-lines"),
        pytest.param("".join(f"\\begin{{e{i}}}" for i in range(60_000)), id="distinct-envs"),
        pytest.param("\\end{x}" * 150_000 + "\\begin{x}" * 100, id="ends-before-begins"),
        pytest.param("a" * 1_000_000, id="one-long-word"),
        pytest.param("x" + "-x" * 500_000, id="hyphen-chain"),
        pytest.param("1" * 1_000_000, id="digits"),
        pytest.param(". " * 500_000, id="sentence-marks"),
        pytest.param("we add the terms. " * 55_000, id="many-long-runs"),
        pytest.param("我" * 1_000_000, id="han"),
        pytest.param("```" * 333_333, id="fences"),
        pytest.param("<think>" * 150_000, id="think-tags"),
    ],
)
def test_language_consistency_hostile_megabyte_is_linear(hostile: str) -> None:
    started = time.perf_counter()
    result = language_consistency(hostile, target="en")
    assert isinstance(result, LanguageResult)
    assert time.perf_counter() - started < 15


# --- script runs -----------------------------------------------------------------------------


def test_split_script_runs_by_script_and_sentence() -> None:
    runs = split_script_runs("我们先看 this part first. Then more words here\n好")
    assert [(run.script, run.words) for run in runs] == [
        (Script.HAN, ("我", "们", "先", "看")),
        (Script.LATIN, ("this", "part", "first")),
        (Script.LATIN, ("Then", "more", "words", "here")),
        (Script.HAN, ("好",)),
    ]
    assert runs[1].text == "this part first."


def test_split_script_runs_separates_kana_hangul_cyrillic_other() -> None:
    runs = split_script_runs("漢字かなカナ 한국어 слово λέξη")
    assert [run.script for run in runs] == [
        Script.HAN,
        Script.KANA,
        Script.HANGUL,
        Script.CYRILLIC,
        Script.OTHER,
    ]
    assert runs[1].words == ("か", "な", "カ", "ナ")


def test_split_script_runs_skips_numbers_identifiers_and_short_words() -> None:
    runs = split_script_runs("let x be 3rd of my_var and H2O don't well-known")
    assert runs[0].words == ("let", "be", "of", "and", "don't", "well-known")


def test_split_script_runs_min_word_letters_is_configurable() -> None:
    runs = split_script_runs("a b cd", options=LanguageOptions(min_word_letters=1))
    assert runs[0].words == ("a", "b", "cd")


def test_split_script_runs_folds_full_width_letters() -> None:
    runs = split_script_runs("ＡＢＣ ｄｅｆ")
    assert [(run.script, run.words) for run in runs] == [(Script.LATIN, ("ABC", "def"))]


def test_split_script_runs_keeps_indic_vowel_signs_in_words() -> None:
    runs = split_script_runs("उत्तर सही")
    assert runs[0].words == ("उत्तर", "सही")


# --- labelling and inheritance ---------------------------------------------------------------


def test_language_consistency_han_is_zh_without_kana_and_ja_with_it() -> None:
    assert language_consistency("汉字", target="zh").counts == {"zh": 2}
    assert language_consistency("漢字です", target="ja").counts == {"ja": 4}


def test_language_consistency_hangul_is_ko() -> None:
    assert language_consistency("한국어", target="ko").counts == {"ko": 3}


def test_language_consistency_short_run_inherits_majority_of_long_runs() -> None:
    # "Wait." alone reads as French to fastText; in an English document it is English.
    assert language._detect("Wait")[0] != "en"
    text = "Wait. We need to compute the sum of all the terms first."
    result = language_consistency(text, target="en")
    assert result.counts == {"en": 12}


def test_language_consistency_short_runs_alone_use_joined_text() -> None:
    text = "Das ist gut. Und jetzt? Wir rechnen."
    result = language_consistency(text, target="de")
    assert result.counts == {"de": 7}


def test_language_consistency_min_run_words_one_labels_each_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def fake_detect(text: str) -> tuple[str, float]:
        seen.append(text)
        return ("fr" if text.startswith("Wait") else "en", 0.9)

    monkeypatch.setattr(language, "_detect", fake_detect)
    text = "Wait. We need to compute the sum."
    alone = language_consistency(text, target="en", options=LanguageOptions(min_run_words=1))
    inherited = language_consistency(text, target="en")
    assert alone.counts == {"fr": 1, "en": 6}
    assert inherited.counts == {"en": 7}
    assert "Wait." in seen and "We need to compute the sum." in seen


def test_language_consistency_low_confidence_run_inherits(monkeypatch: pytest.MonkeyPatch) -> None:
    labels = {
        "We need to compute the sum.": ("en", 0.95),
        "Now compute the big total.": ("de", 0.2),
    }
    monkeypatch.setattr(language, "_detect", lambda text: labels[text])
    result = language_consistency(
        "We need to compute the sum. Now compute the big total.", target="en"
    )
    assert result.counts == {"en": 11}


def test_language_consistency_majority_is_weighted_by_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    labels = {
        "one two three four": ("fr", 0.9),
        "five six seven eight nine ten eleven twelve thirteen": ("en", 0.9),
        "uno dos tres four": ("fr", 0.9),
        "tiny": ("es", 0.9),
    }
    monkeypatch.setattr(language, "_detect", lambda text: labels[text])
    text = (
        "one two three four\nfive six seven eight nine ten eleven twelve thirteen\n"
        "uno dos tres four\ntiny"
    )
    # Two French runs of 4 words lose to one English run of 9 words.
    result = language_consistency(text, target="en")
    assert result.counts == {"fr": 8, "en": 10}


# --- neutrality, results, targets ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("$$x^2$$ \\(y\\)", id="only-math"),
        pytest.param("```\ncode\n```", id="only-code"),
        pytest.param("1 + 2 = 3", id="only-numbers"),
        pytest.param("https://example.com", id="only-url"),
        pytest.param("<think></think>Answer.", id="empty-think"),
    ],
)
def test_language_consistency_no_words_is_neutral(text: str) -> None:
    result = language_consistency(text, target="en")
    assert result == LanguageResult(None, {}, 0, result.reason)
    assert "no words" in result.reason


def test_language_consistency_result_counts_and_reason() -> None:
    result = language_consistency("好的 OK", target="zh")
    assert result.total_words == sum(result.counts.values()) == 3
    assert result.counts["zh"] == 2
    assert result.reason == "2 of 3 words are zh"
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("target", "code"),
    [
        pytest.param("zh", "zh", id="zh"),
        pytest.param("zh-cn", "zh", id="zh-cn"),
        pytest.param("zh-Hans", "zh", id="zh-Hans"),
        pytest.param("zh_TW", "zh", id="zh_TW"),
        pytest.param("EN", "en", id="upper"),
        pytest.param(" en-GB ", "en", id="spaces-region"),
        pytest.param("iw", "he", id="alias-iw"),
        pytest.param("yue", "yue", id="three-letter"),
    ],
)
def test_normalize_target_cases(target: str, code: str) -> None:
    assert normalize_target(target) == code


@pytest.mark.parametrize("target", ["", "xx", "english", "zz-ZZ", "-en"])
def test_language_consistency_unknown_target_raises(target: str) -> None:
    with pytest.raises(InvalidInputError, match="unknown target language"):
        language_consistency("hello there", target=target)


def test_known_languages_are_the_model_labels() -> None:
    labels = {entry["lang"] for entry in language._language_detector().detect("hello", k=400)}
    assert len(KNOWN_LANGUAGES) == 176
    assert labels <= KNOWN_LANGUAGES


def test_language_detector_loads_lazily_and_offline() -> None:
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from verifier_service.engine import language\n"
        "assert language._detector is None\n"
        "print(language.language_consistency('We need to compute the sum.', target='en').score)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1.0"


def test_language_detector_is_loaded_once() -> None:
    assert language._language_detector() is language._language_detector()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"min_run_words": 0}, id="run-words"),
        pytest.param({"min_word_letters": 0}, id="word-letters"),
        pytest.param({"min_confidence": 1.5}, id="confidence"),
    ],
)
def test_language_options_reject_bad_values(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        LanguageOptions(**options)


def test_language_options_default_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.min_run_words = 2  # type: ignore[misc]
