"""Tests of answer normalisation and parsing: the text forms people write, the tree they become,
and what is refused before any parser runs."""

from __future__ import annotations

import re

import pytest
import sympy
from latex2sympy2_extended import latex2sympy

from verifier_service.engine.math.config import MathConfig
from verifier_service.engine.math.latex_subset import OutsideSubset, parse_latex_subset
from verifier_service.engine.math.normalize import canonical_unit, normalize_answer
from verifier_service.engine.math.parse import (
    _CONVERSION,
    _DECIMAL_IN_TEXT_RE,
    AnswerParseError,
    _evaluate,
    parse_answer,
)


def _exact_decimal(match: re.Match[str]) -> str:
    digits = (match.group(1) or "0") + match.group(2)
    return "{\\frac{" + str(int(digits)) + "}{1" + "0" * len(match.group(2)) + "}}"


NORMALIZATION_CASES = [
    ("dfrac", r"\dfrac{1}{2}", r"\frac{1}{2}", None),
    ("tfrac", r"\tfrac{1}{2}", r"\frac{1}{2}", None),
    ("cfrac", r"\cfrac{1}{2}", r"\frac{1}{2}", None),
    ("bare-frac", r"\frac12", r"\frac{1}{2}", None),
    ("half-bare-frac", r"\frac1{2}", r"\frac{1}{2}", None),
    ("left-right", r"\left( 1, 2 \right)", "( 1, 2 )", None),
    ("left-brace", r"\left\{ 1 \right\}", r"\{ 1 \}", None),
    ("dollars-around", "$x+1$", "x+1", None),
    ("display-math", r"\[ 9 \]", "9", None),
    ("inline-math", r"\( 9 \)", "9", None),
    ("boxed", r"\boxed{42}", "42", None),
    ("trailing-period", "42.", "42", None),
    ("thousands-commas", "7,425,000", "7425000", None),
    ("thousands-thin-space", r"11,\!111,\!111,\!100", "11111111100", None),
    ("thousands-braced-comma", "14{,}916", "14916", None),
    ("thousands-space", "1 000", "1000", None),
    ("list-is-not-thousands", "32, 349", "32, 349", None),
    ("leading-zero-is-not-thousands", "0,111", "0,111", None),
    ("interval-is-not-thousands", "(2,100)", "(2,100)", None),
    ("text-command", r"\text{Evelyn}", "Evelyn", None),
    ("mathrm-command", r"\mathrm{odd}", "odd", None),
    ("textbf-choice", r"\textbf{C}", "C", None),
    ("mbox-unit", r"15\mbox{ cm}^2", "15", "cm^2"),
    ("text-unit", r"\frac{1}{3} \text{meters}", r"\frac{1}{3}", "m"),
    ("textnormal-unit", r"125\textnormal{ miles}", "125", "mile"),
    ("bare-unit-spaced", "5 km", "5", "km"),
    ("bare-single-letter-unit-spaced", "5 m", "5", "m"),
    ("single-letter-glued-is-variable", "5m", "5m", None),
    ("unit-superscript-char", "3m²", "3", "m^2"),
    ("degree-circ", r"90^\circ", "90", "degree"),
    ("degree-braced", r"90^{\circ}", "90", "degree"),
    ("degree-sign", "90°", "90", "degree"),
    ("percent-escaped", r"28\%", "28", "percent"),
    ("percent-bare", "28 %", "28", "percent"),
    ("percent-word", "28 percent", "28", "percent"),
    ("percent-pct", "28 pct", "28", "percent"),
    ("dollar-escaped", r"\$16386.17", "16386.17", "dollar"),
    ("euro-sign", "1,000.99€", "1000.99", "euro"),
    ("varnothing", r"\varnothing", r"\emptyset", None),
    ("empty-braces", r"\{\}", r"\emptyset", None),
    ("sqrt-parentheses", r"4\sqrt(2)", r"4\sqrt{2}", None),
    ("sqrt-bare", r"\sqrt3", r"\sqrt{3}", None),
    ("mathrm-e", r"1-1/\mathrm{e}", "1-1/e", None),
    ("spacing-commands", r"1\,000\;x \quad y", "1000 x y", None),
    ("form-feed-frac", "\x0crac{1}{2}", r"\frac{1}{2}", None),
    ("doubled-backslash-command", r"\\frac{1}{2}", r"\frac{1}{2}", None),
    (
        "matrix-row-break-kept",
        r"\begin{pmatrix}1\\2\end{pmatrix}",
        r"\begin{pmatrix}1\\2\end{pmatrix}",
        None,
    ),
    ("geq-ascii", "x >= 5", r"x \geq 5", None),
    ("lt-command", r"x \lt 3", "x < 3", None),
]


@pytest.mark.parametrize(
    ("text", "expected_text", "expected_unit"),
    [case[1:] for case in NORMALIZATION_CASES],
    ids=[case[0] for case in NORMALIZATION_CASES],
)
def test_normalize_answer_rewrites(
    text: str, expected_text: str, expected_unit: str | None
) -> None:
    normalized = normalize_answer(text)
    assert (normalized.text, normalized.unit) == (expected_text, expected_unit)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [("Meters", "m"), ("cm^{2}", "cm^2"), ("square units", "unit^2"), ("widgets", "widget")],
    ids=["alias", "power", "square", "unknown-plural"],
)
def test_canonical_unit_names(written: str, canonical: str) -> None:
    assert canonical_unit(written) == canonical


PARSE_CASES = [
    ("integer", "-5", "number", "-5"),
    ("decimal", "3.14", "number", "157/50"),
    ("leading-dot-decimal", ".4", "number", "2/5"),
    ("fraction", r"-\frac{10}{9}", "number", "-10/9"),
    ("slash-fraction", "10/9", "number", "10/9"),
    ("radical-sqrt-paren", r"4\sqrt(2)", "expression", "4*sqrt(2)"),
    ("decimal-inside-expression-is-exact", "0.1+0.2", "number", "3/10"),
    ("pi", r"\frac{9}{4}\pi", "expression", "9*pi/4"),
    ("binomial", r"\binom{5}{2}", "number", "10"),
    ("factorial", "5!", "number", "120"),
    ("factorial-symbolic", "n!", "expression", "factorial(n)"),
    ("natural-log", r"\ln 2", "expression", "log(2)"),
    ("set-braces", r"\{1,2\}", "set", "{1, 2}"),
    ("bare-list", "1, 2", "set", "{1, 2}"),
    ("semicolon-list", "-12;-11", "set", "{-12, -11}"),
    ("and-list", r"6 \text{ and } 8", "set", "{6, 8}"),
    ("plus-minus", r"1 \pm \sqrt{19}", "set", "{1 - sqrt(19), 1 + sqrt(19)}"),
    ("plus-minus-in-set", r"\{1\pm\sqrt{5},-2\}", "set", "{1 - sqrt(5), 1 + sqrt(5), -2}"),
    ("tuple", "(6,31,-1)", "tuple", "(6, 31, -1)"),
    ("pair-is-tuple", "(1,2)", "tuple", "(1, 2)"),
    ("half-open-interval", "[0,1)", "interval", "[0, 1)"),
    ("union", r"(-\infty, 0) \cup (1, \infty)", "union", "(-oo, 0) ∪ (1, oo)"),
    ("union-with-set", r"\{-1\} \cup [0,7)", "union", "{-1} ∪ [0, 7)"),
    ("empty-set", r"\emptyset", "empty_set", "∅"),
    ("matrix", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", "matrix", "Matrix(1, 2; 3, 4)"),
    ("assignment", "x=4", "assignment", "x = 4"),
    ("assignment-function", "f(x)=1", "assignment", "f(x) = 1"),
    ("assignment-absolute", "|AB|=1", "assignment", "|AB| = 1"),
    ("assignment-list", "n=1, 2, 3", "assignment", "n = {1, 2, 3}"),
    ("membership", r"x \in [-2,7]", "assignment", "x = [-2, 7]"),
    ("derivation-is-a-chain", "x = 5+5+1 = 11", "assignment", "x = 11 = 11"),
    ("approx-keeps-exact", r"x = \frac{1}{3} \approx 0.33", "assignment", "x = 1/3"),
    ("approx-of-name-is-qualified", r"x \approx 11", "qualified", "\\approx 11"),
    ("equation", "2x+4y-3=0", "relation", "2*x + 4*y - 3 = 0"),
    ("inequality-chain", r"-2 \le x \le 7", "relation", "-2 <= x <= 7"),
    ("choice-parenthesised", "(C)", "choice", "'C'"),
    ("choice-text", r"\text{(C)}", "choice", "'C'"),
    (
        "words",
        r"\text{The midpoints form a regular hexagon}",
        "text",
        "'the midpoints form a regular hexagon'",
    ),
    ("time", "12:00", "time", "12:00"),
    ("base-numeral-is-text", "204_5", "text", "'204_5'"),
    ("or-in-prediction", "1 or 2", "alternatives", "1 or 2"),
]


@pytest.mark.parametrize(
    ("text", "kind", "described"),
    [case[1:] for case in PARSE_CASES],
    ids=[case[0] for case in PARSE_CASES],
)
def test_parse_answer_builds(text: str, kind: str, described: str) -> None:
    parsed = parse_answer(text)
    assert (parsed.kind, parsed.describe()) == (kind, described)


def test_parse_answer_reference_or_is_a_set() -> None:
    parsed = parse_answer(r"21,16 \text{ or } 11", role="reference")
    assert (parsed.kind, parsed.describe()) == ("set", "{21, 16, 11}")


def test_parse_answer_keeps_the_unit() -> None:
    assert parse_answer("5 km").unit == "km"


def test_parse_answer_decimal_records_its_places() -> None:
    assert parse_answer("3.140").places == 3


REFUSED_CASES = [
    ("tower", r"5^{5^{5^{5^5}}}"),
    ("tower-without-braces", "2^2^2^2"),
    ("huge-factorial", "1000000!"),
    ("huge-binomial", r"\binom{1000000}{500000}"),
    ("huge-exponent", "2^{100000000}"),
    ("double-exponent", r"10^{10^{10}}"),
    ("too-long", "1+" * 600 + "1"),
    ("huge-literal-exponent-in-sum", r"x + 3^{99999999999999}"),
]


@pytest.mark.parametrize(
    "text", [case[1] for case in REFUSED_CASES], ids=[case[0] for case in REFUSED_CASES]
)
def test_parse_answer_refuses_before_parsing(text: str) -> None:
    with pytest.raises(AnswerParseError) as caught:
        parse_answer(text)
    assert caught.value.refused


def test_parse_answer_limits_follow_the_config() -> None:
    parse_answer("2^{3000}")  # within the default limit
    with pytest.raises(AnswerParseError):
        parse_answer("2^{3000}", config=MathConfig(max_exponent=1000))


UNPARSABLE_CASES = [
    ("dangling-operator", "3+"),
    ("partial-parse", r"\frac{1}{2} }"),
    ("unbalanced", "2 3)"),
    ("empty", "  "),
    ("python-code", "__import__('os').system('true')"),
]


@pytest.mark.parametrize(
    "text", [case[1] for case in UNPARSABLE_CASES], ids=[case[0] for case in UNPARSABLE_CASES]
)
def test_parse_answer_rejects_what_does_not_parse(text: str) -> None:
    with pytest.raises(AnswerParseError) as caught:
        parse_answer(text)
    assert not caught.value.refused


SUBSET_CASES = [
    r"2x^2+3x-1",
    r"\frac{\sqrt{3}}{2}",
    r"1/2x",
    r"x/3\sqrt{2}",
    r"-\frac{1}{2}^x(x+1)",
    r"\sqrt[3]{x}\cdot y",
    r"2\pi r",
    r"e^{2}",
    r"(a+b)(a-b)",
    r"3 \times 4 - 0.5",
]


@pytest.mark.parametrize("text", SUBSET_CASES, ids=SUBSET_CASES)
def test_parse_latex_subset_agrees_with_the_full_parser(text: str) -> None:
    full = _evaluate(
        latex2sympy(
            _DECIMAL_IN_TEXT_RE.sub(_exact_decimal, text),
            normalization_config=None,
            conversion_config=_CONVERSION,
        )
    )
    assert sympy.simplify(parse_latex_subset(text) - full) == 0


OUTSIDE_SUBSET_CASES = [
    ("mixed-number", r"2\frac{1}{2}"),
    ("braced-mixed-number", r"{2}\frac{1}{2}"),
    ("unbraced-long-exponent", "x^23"),
    ("function", "f(x)"),
    ("factorial", "3!"),
    ("subscript", "a_1"),
    ("other-command", r"\sin x"),
    ("huge-power", "10^{100000}"),
]


@pytest.mark.parametrize(
    "text",
    [case[1] for case in OUTSIDE_SUBSET_CASES],
    ids=[case[0] for case in OUTSIDE_SUBSET_CASES],
)
def test_parse_latex_subset_leaves_the_rest_to_the_full_parser(text: str) -> None:
    with pytest.raises(OutsideSubset):
        parse_latex_subset(text)
