"""Tests of the language-consistency reward: the labelled set, then each stage on its own."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from verifier_service.engine.language import (
    DEFAULT,
    KNOWN_LANGUAGES,
    LanguageOptions,
    LanguageResult,
    Scope,
    Script,
    detect,
    language_consistency,
    normalize_target,
    reasoning_part,
    score,
    split_script_runs,
    strip_non_prose,
)
from verifier_service.errors import InvalidInputError

DATA = Path(__file__).parent / "data"
CASES_FILE = DATA / "language_cases.jsonl"
SET_FILE = DATA / "language_set.jsonl"


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


def test_language_consistency_scope_whole_scores_the_answer_but_never_tags() -> None:
    response = "<think>我们先算一下。</think>The answer is four, as computed."
    whole = language_consistency(response, target="zh", options=LanguageOptions(scope=Scope.WHOLE))
    assert language_consistency(response, target="zh").score == 1.0
    assert whole.counts == {"zh": 6, "en": 6}
    as_text = LanguageOptions(scope="reasoning")  # type: ignore[arg-type]
    assert language_consistency(response, target="zh", options=as_text).counts == {"zh": 6}


@pytest.mark.parametrize(
    ("response", "counts"),
    [
        pytest.param("<think>Let me think.</think>", {"en": 3}, id="tags-are-not-words"),
        pytest.param("我们先算一下。</think>This is the answer.", {"zh": 6}, id="prefilled"),
        pytest.param(
            "<think>我们先算一下。</think>次に答えを書きます。", {"zh": 6}, id="answer-ja"
        ),
        pytest.param("No tags here at all.", {"en": 5}, id="no-tags-whole-text"),
    ],
)
def test_language_consistency_counts_the_reasoning_only(
    response: str, counts: dict[str, int]
) -> None:
    result = language_consistency(response, target="en")
    assert result.counts == counts


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
        pytest.param("<a b" * 250_000, id="unclosed-tags"),
        pytest.param("a.b@c" * 200_000, id="mail-like"),
        pytest.param("\n    x = 1" * 100_000, id="indented-lines"),
        pytest.param("a, b; c. " * 110_000, id="many-clauses"),
        pytest.param("Ok. " * 100_000, id="many-short-sentences"),
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


def test_language_consistency_hangul_is_ko_by_space_separated_words() -> None:
    assert language_consistency("한국어 문장이다", target="ko").counts == {"ko": 2}
    # Hanja in a Korean sentence are Korean.
    assert language_consistency("大韓民國 만세", target="ko").score == 1.0


def test_language_consistency_han_follows_its_sentence_not_the_document() -> None:
    # 27 Chinese characters, then one Japanese sentence of 14 kana: 27/41 are Chinese.
    text = (
        "我们先计算这个和。然后再检查一下结果是否正确。ここで少し確認してみましょう。最后得到答案。"
    )
    result = language_consistency(text, target="zh")
    assert result.counts == {"zh": 27, "ja": 14}


def test_language_consistency_finds_a_clause_in_another_language() -> None:
    text = (
        "Primero calculamos la suma de todos los términos, but then we need to check the "
        "whole result carefully, y luego seguimos con el problema."
    )
    assert language_consistency(text, target="es").counts == {"es": 13, "en": 10}


def test_language_consistency_short_run_follows_its_sentence() -> None:
    # "Wait" alone reads as French to fastText; "Bon," as English.
    assert max(detect.fasttext_scores("Wait").items(), key=lambda kv: kv[1])[0] != "en"
    assert language_consistency("Wait, we need to compute the sum.", target="en").score == 1.0
    assert language_consistency("Bon, on calcule la somme des termes.", target="fr").score == 1.0


@pytest.mark.parametrize(
    ("text", "target"),
    [
        pytest.param("Ok. Wait. Hmm.", "en", id="en"),
        pytest.param("Hum. Attends. D'accord.", "fr", id="fr"),
        pytest.param("Mmm. Espera. Vale.", "es", id="es"),
        pytest.param("嗯。等等。好的。", "zh", id="zh"),
        pytest.param("Хм. Погоди. Ладно.", "ru", id="ru"),
        pytest.param(
            "Подожди, давай проверим ещё раз. Сначала найдём производную.", "ru", id="ru2"
        ),
    ],
)
def test_language_consistency_interjections_in_the_target_are_the_target(
    text: str, target: str
) -> None:
    assert language_consistency(text, target=target).score == 1.0


def test_language_consistency_interjections_in_another_language_are_not_the_target() -> None:
    # Which other language the words are matters less than that they are not the target.
    assert language_consistency("Ok. Wait. Hmm.", target="fr").score == 0.0
    assert language_consistency("OK", target="zh").score == 0.0
    assert language_consistency("嗯。等等。好的。", target="ja").score == 0.0


@pytest.mark.parametrize(
    ("near", "far", "expected"),
    [
        pytest.param([], ["en"], "es", id="plausible-target-beats-the-majority"),
        pytest.param([], ["es"], "es", id="neighbours-first"),
        pytest.param([], [], "es", id="target"),
    ],
)
def test_unsure_run_goes_to_neighbours_then_target_never_the_majority(
    near: list[str], far: list[str], expected: str
) -> None:
    # A Spanish sentence fastText calls Spanish at 0.39, in a mostly English text.
    scores = {"es": 0.39, "pt": 0.2, "gl": 0.15, "en": 0.02}
    assert score._by_neighbours(scores, near, far, "es", DEFAULT) == expected
    assert score._by_neighbours(scores, near, far, "en", DEFAULT) in {"es", None}


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        pytest.param("Write to bob.smith@example.org today.", {"en": 3}, id="email"),
        pytest.param("Mix 5 g of NaCl with 10 ml of water.", {"en": 5}, id="units-formula"),
        pytest.param("It is 20 km away.", {"en": 3}, id="km"),
        pytest.param("So we see.\n\n    x = compute(y)\n    print(x)\n", {"en": 3}, id="indented"),
        pytest.param("我们用公式 $x^2$ 计算。\n```python\nprint(1)\n```", {"zh": 7}, id="zh-code"),
        pytest.param("Here <br/> and <answer>it</answer> ends.", {"en": 4}, id="tags"),
    ],
)
def test_language_consistency_never_counts_non_words(text: str, counts: dict[str, int]) -> None:
    assert language_consistency(text, target="en").counts == counts


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
        pytest.param("<think>...?! -- </think>Answer.", id="punctuation-think"),
        pytest.param("<think>$$x$$ ```\ncode\n```</think>Answer.", id="math-and-code-think"),
        pytest.param("a@b.co https://x.org", id="mail-and-url"),
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
    labels = {entry["lang"] for entry in detect.model().detect("hello", k=400)}
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
        "assert language.detect._detector is None\n"
        "print(language.language_consistency('We need to compute the sum.', target='en').score)\n"
        "print(language.language_consistency('Ok. Wait. Hmm.', target='en').score)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1.0", "1.0"]


def test_language_detector_is_loaded_once() -> None:
    assert detect.model() is detect.model()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"min_run_words": 0}, id="run-words"),
        pytest.param({"min_word_letters": 0}, id="word-letters"),
        pytest.param({"min_confidence": 1.5}, id="confidence"),
        pytest.param({"plausible_ratio": -0.1}, id="ratio"),
        pytest.param({"scope": "all"}, id="scope"),
    ],
)
def test_language_options_reject_bad_values(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        LanguageOptions(**options)


def test_language_options_default_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.min_run_words = 2  # type: ignore[misc]


# --- the labelled set ------------------------------------------------------------------------


def _set_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SET_FILE.read_text(encoding="utf-8").splitlines()]


def test_language_set_is_what_its_builder_writes() -> None:
    builder = DATA / "language_set.py"
    spec = importlib.util.spec_from_file_location("language_set", builder)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == _set_rows()


def test_language_set_covers_the_required_kinds() -> None:
    rows = _set_rows()
    assert len(rows) >= 300
    assert len({row["id"] for row in rows}) == len(rows)
    assert len({row["target"] for row in rows}) >= 12
    kinds = {row["kind"] for row in rows}
    assert kinds >= {"pure", "other", "mix", "clause", "math", "code", "interjection"}
    assert kinds >= {"no-words", "answer", "units"}


def test_language_set_in_range_share_is_at_least_97_percent() -> None:
    misses = []
    rows = _set_rows()
    for row in rows:
        result = language_consistency(row["text"], target=row["target"])
        expected = row["range"]
        if expected is None:
            hit = result.score is None
        else:
            hit = (
                result.score is not None
                and expected[0] - 1e-9 <= result.score <= expected[1] + 1e-9
            )
        if not hit:
            misses.append((row["id"], result.score))
    assert len(misses) <= 0.03 * len(rows), misses
