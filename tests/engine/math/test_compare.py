"""Tests of the equivalence rules, one table per kind: answers that must match and (at least as
many) answers that must not."""

from __future__ import annotations

import pytest
import sympy

from verifier_service.engine.math.compare import Verdict, compare_answers, exprs_equal
from verifier_service.engine.math.config import MathConfig
from verifier_service.engine.math.parse import parse_answer


def _grade(prediction: str, reference: str, config: MathConfig | None = None) -> Verdict:
    config = config or MathConfig()
    return compare_answers(
        parse_answer(prediction, config=config),
        parse_answer(reference, role="reference", config=config),
        config=config,
    )


# (id, prediction, reference, rule)
MATCHING = [
    ("identical-text", r"\frac{1}{3}", r"\dfrac{1}{3}", "identical"),
    ("integer-vs-decimal-zero", "1000.0", "1000", "numeric_equal"),
    ("fraction-vs-decimal", r"\frac{1}{2}", "0.5", "numeric_equal"),
    ("decimal-vs-fraction-exact", "0.25", r"\frac14", "numeric_equal"),
    ("reduced-fraction", r"\frac{3}{3}", "1", "numeric_equal"),
    ("negative-fraction", r"-\frac{10}{9}", "-10/9", "numeric_equal"),
    ("thousands", "7,425,000", "7425000", "identical"),
    ("radical-rounds-to-long-decimal", r"\sqrt{17}", "4.123105625617661", "decimal_approximation"),
    (
        "long-decimal-for-exact-fraction",
        "0.0833333333333333",
        r"\frac{1}{12}",
        "decimal_approximation",
    ),
    ("percent-as-fraction", "0.28", r"28\%", "percent_equal"),
    ("log-is-ln", r"\log 8", r"\ln 8", "identical"),
    ("or-lists-a-solution-set", "1 or 2", "1, 2", "or_list_set_equal"),
    ("or-lists-named-solutions", r"x=1 \text{ or } x=2", "1, 2", "or_list_set_equal"),
    ("inequality-for-interval", r"-2 \le x \le 7", r"x \in [-2,7]", "interval_equal"),
    ("radical-forms", r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", "symbolic_equal"),
    ("sqrt-paren", r"4\sqrt(2)", r"4\sqrt{2}", "identical"),
    ("sqrt-bare", r"\sqrt 2+\sqrt 5", r"\sqrt{2}+\sqrt{5}", "identical"),
    ("polynomial-order", r"\frac{x}{7}+\frac{2}{7}", r"\frac{x+2}{7}", "symbolic_equal"),
    ("trig-identity", r"\sec^2(y)", r"\tan^2(y)+1", "symbolic_equal"),
    ("log-rules", r"3\ln 2", r"\ln 8", "symbolic_equal"),
    ("log-base", r"\log_2 8", "3", "numeric_equal"),
    ("binomial", r"\binom{5}{2}", "10", "numeric_equal"),
    ("factorial", "5!", "120", "numeric_equal"),
    ("e-constant", r"1-\frac{1}{e}", r"1-\frac{1}{\mathrm{e}}", "identical"),
    ("percent-on-reference-only", "28", r"28\%", "percent_equal"),
    ("degrees-on-reference-only", "90", r"90^\circ", "identical"),
    ("same-unit-spelled-differently", "5 meters", r"5\text{ m}", "identical"),
    ("unit-on-prediction-only", r"\frac{1}{3} \textbf{meters}", "1/3", "numeric_equal"),
    ("dollar-sign", r"\$16386.17", "16386.17", "identical"),
    ("assignment-prediction", "k=1", "1", "numeric_equal"),
    ("assignment-reference", "1", "k=1", "numeric_equal"),
    ("assignment-both", "y=1+2x", "y=2x+1", "symbolic_equal"),
    ("assignment-name-function", "1", "f(x)=1", "numeric_equal"),
    ("assignment-name-ratio", "11:21", "V_{1}:V_{2}=11:21", "time_equal"),
    ("assignment-derivation", "x = 5+5+1 = 11", "x = 11", "numeric_equal"),
    ("equation-scaled", r"x^2/16 + y^2/12 = 1/4", r"x^2/4 + y^2/3 = 1", "relation_equal"),
    ("equation-negated", "-34x-45y+20z-100=0", "34x+45y-20z+100=0", "relation_equal"),
    ("equation-solved-for-y", r"y=-\frac{1}{2}x+\frac{3}{4}", "2x+4y-3=0", "relation_equal"),
    ("inequality-flipped", r"5 \geq x", r"x \leq 5", "relation_equal"),
    ("inequality-negated", "-x > -1", "x < 1", "relation_equal"),
    ("set-any-order", r"\{2, 1\}", "1, 2", "set_equal"),
    ("set-reference-with-or", "1, 2", r"1 \text{ or } 2", "set_equal"),
    ("set-reference-with-and", "6, 8", r"6 \text{ and } 8", "set_equal"),
    ("set-duplicates-count-once", "1, 1, 2", "1, 2", "set_equal"),
    ("plus-minus-is-a-set", r"1+\sqrt{2}, 1-\sqrt{2}", r"1 \pm \sqrt{2}", "set_equal"),
    ("set-of-tuples", "(8, 5), (5, 8)", "(5, 8), (8, 5)", "set_equal"),
    ("set-of-assignments", r"a_{37} = 19, a_3 = 2", "a_3 = 2, a_{37} = 19", "set_equal"),
    ("assignments-for-values", "4, 5", "AB=4,CD=5", "set_equal"),
    ("tuple", r"(1, \frac{9}{2})", "(1,4.5)", "tuple_equal"),
    ("tuple-assignment", "(3,2)", "(p,q)=(3,2)", "tuple_equal"),
    ("list-read-as-tuple", "1,3", "(1,3)", "tuple_equal"),
    ("interval", r"[-1, -\tfrac12)", r"[-1, -\frac{1}{2})", "identical"),
    ("interval-forms", r"(0, \frac{1}{2}]", "(0, 0.5]", "interval_equal"),
    ("union-any-order", r"(3,4) \cup (1,2)", r"(1,2) \cup (3,4)", "interval_equal"),
    ("interval-for-inequality", "[-2,7]", r"-2 \le x \le 7", "interval_equal"),
    ("interval-for-one-sided", r"(5, \infty)", "x > 5", "interval_equal"),
    ("interval-for-function-bounds", "(0,1)", "0<f(x)<1", "interval_equal"),
    ("membership-for-interval", r"x \in [-2,7]", "[-2,7]", "tuple_equal"),
    (
        "matrix",
        r"\begin{pmatrix}1&2\\3&4\end{pmatrix}",
        r"\begin{bmatrix}1&2\\3&4\end{bmatrix}",
        "matrix_equal",
    ),
    (
        "matrix-entries-equal",
        r"\begin{pmatrix}0.5&1\end{pmatrix}",
        r"\begin{pmatrix}\frac12&1\end{pmatrix}",
        "matrix_equal",
    ),
    ("vector-as-tuple", r"\begin{pmatrix}3\\2\end{pmatrix}", "(3,2)", "tuple_equal"),
    ("choice-letter", "C", r"\text{(C)}", "identical"),
    ("choice-bold", r"\textbf{C}", "(C)", "identical"),
    ("choice-lowercase", "c", "(C)", "choice_equal"),
    ("text-case", "evelyn", r"\text{Evelyn}", "text_equal"),
    (
        "text-sentence",
        r"\text{The midpoints form a regular hexagon}",
        "the midpoints form a regular hexagon.",
        "text_equal",
    ),
    ("empty-set", r"\varnothing", r"\emptyset", "identical"),
]

NOT_MATCHING = [
    ("factorial-peer-false-positive", r"\frac{1}{2006!}", r"\frac{1}{2004!}", "numeric_unequal"),
    (
        "sign-peer-false-positive",
        r"1+\frac{1}{\mathrm{e}}",
        r"1-\frac{1}{\mathrm{e}}",
        "symbolic_unequal",
    ),
    ("decimal-for-exact-pi", "3.14", r"\pi", "symbolic_unequal"),
    ("more-places-than-reference", "3.1416", "3.14", "numeric_unequal"),
    ("pi-is-not-a-short-decimal", r"\pi", "3.14", "symbolic_unequal"),
    ("decimal-for-exact-third", "0.333", r"\frac13", "numeric_unequal"),
    ("no-percent-divided-by-100", "28", "0.28", "numeric_unequal"),
    ("fewer-places-than-reference", "3.1", "3.14", "numeric_unequal"),
    ("decimal-reference-is-exact", "3.146", "3.14", "numeric_unequal"),
    ("no-flat-relative-tolerance", "100001", "100000", "numeric_unequal"),
    ("no-flat-absolute-tolerance", "1.0001", "1", "numeric_unequal"),
    ("integer-off-by-one", "41", "42", "numeric_unequal"),
    ("sqrt-paren-is-not-4", "4", r"4\sqrt(2)", "symbolic_unequal"),
    ("missing-factor", "4", r"4\sqrt{2}", "symbolic_unequal"),
    ("radical-close-but-not-equal", r"\sqrt{2}", "1.41421357", "symbolic_unequal"),
    ("symbol-case", "a+b", "A+B", "symbolic_unequal"),
    ("different-variable", "x+1", "x+2n+1", "symbolic_unequal"),
    ("unit-mismatch", "5 km", "5 m", "unit_mismatch"),
    ("unit-mismatch-text", r"5\text{ km}", r"5\text{ m}", "unit_mismatch"),
    ("unit-power-mismatch", r"15\text{ cm}", r"15\mbox{ cm}^2", "unit_mismatch"),
    ("percent-vs-degree", r"28\%", r"28^\circ", "unit_mismatch"),
    ("degrees-vs-radians", r"\frac{\pi}{2}", r"90^\circ", "symbolic_unequal"),
    ("alternatives-or", "1 or 2", "2", "alternatives"),
    ("alternatives-text-or", r"x=1 \text{ or } x=2", "2", "alternatives"),
    ("alternatives-even-if-one-right", r"2 \text{ or } 3", "2", "alternatives"),
    ("alternatives-vee", r"1 \vee 2", "1", "alternatives"),
    ("set-missing-element", "1", "1, 2", "set_size_mismatch"),
    ("set-extra-element", "1, 2, 3", "1, 2", "set_size_mismatch"),
    ("set-wrong-element", "1, 3", "1, 2", "set_unequal"),
    ("list-is-not-thousands", "32, 349", "32349", "set_size_mismatch"),
    ("plus-minus-is-not-one-value", "2021", r"\pm 2021", "set_size_mismatch"),
    ("tuple-order", "(2,1)", "(1,2)", "tuple_unequal"),
    ("tuple-length", "(1,2,3)", "(1,2)", "tuple_size_mismatch"),
    ("list-read-as-tuple-in-order", "3,1", "(1,3)", "tuple_unequal"),
    ("interval-closed-vs-open", "[0,9)", "(0,9)", "interval_unequal"),
    ("interval-end", "[0,1)", "[0,9)", "interval_unequal"),
    ("pair-brackets-differ", "[1,2]", "(1,2)", "tuple_unequal"),
    ("union-missing-piece", "(1,2)", r"(1,2) \cup (3,4)", "interval_unequal"),
    ("interval-open-for-closed-inequality", "(-2,7)", r"-2 \le x \le 7", "interval_unequal"),
    ("inequality-direction", "x < 5", "x > 5", "relation_unequal"),
    ("inequality-strictness", r"x \leq 5", r"x < 5", "relation_unequal"),
    ("inequality-opposite", r"x > -1", "x < 1", "relation_unequal"),
    ("equation-not-scaled", "2x+4y=3", "2x+4y=6", "relation_unequal"),
    ("equation-for-number", "0", "a+3z=0", "kind_mismatch"),
    ("number-for-equation", "1", "2x+z=1", "kind_mismatch"),
    ("expression-for-equation", "11a+c", "7 = 11a+c", "kind_mismatch"),
    ("assignment-wrong-value", "x=3", "x=4", "numeric_unequal"),
    ("assignment-other-name", "y=4", "x=4", "relation_unequal"),
    ("assignment-list-wrong", "n=1, 2, 3", "n=2, 3, 4", "set_unequal"),
    (
        "matrix-entry",
        r"\begin{pmatrix}1&2\\3&5\end{pmatrix}",
        r"\begin{pmatrix}1&2\\3&4\end{pmatrix}",
        "matrix_unequal",
    ),
    (
        "matrix-shape",
        r"\begin{pmatrix}1&2\end{pmatrix}",
        r"\begin{pmatrix}1\\2\end{pmatrix}",
        "matrix_shape_mismatch",
    ),
    ("choice-letter", "(B)", "C", "choice_unequal"),
    ("choice-vs-letter-d", r"\text{E}", "d", "choice_unequal"),
    ("text", "briana", r"\text{Evelyn}", "text_unequal"),
    ("text-vs-number", "odd", "3", "text_unequal"),
    ("time-differs", "1:00", "12:00", "time_unequal"),
    ("empty-set-vs-zero", "0", r"\emptyset", "set_size_mismatch"),
    ("number-for-interval", "1", "[0,1)", "kind_mismatch"),
    ("symbolic-function-arguments", "f(y)", "f(x)", "symbolic_unequal"),
    ("matrix-for-number", r"\begin{pmatrix}1\end{pmatrix}", "2", "kind_mismatch"),
    ("empty-vs-text", "no", "yes", "text_unequal"),
    ("hedge-two-values", r"2 \vee 3", "3", "alternatives"),
    ("qualified-or-more", r"42 \text{ or more}", "42", "qualified"),
    ("qualified-at-least", r"\text{at least } 42", "42", "qualified"),
    ("qualified-approx", r"\approx 42", "42", "qualified"),
    ("qualified-approx-of-name", r"x \approx 42", "42", "qualified"),
    ("qualified-sim", r"\sim 42", "42", "qualified"),
    ("false-chain", "x = 7 = 42", "42", "false_chain"),
    ("false-chain-without-name", "7 = 42", "42", "false_chain"),
    ("negated-equality", r"x \not= 42", "42", "kind_mismatch"),
    ("percent-other-value", r"11\%", "0.1", "percent_unequal"),
    ("choices-missing-one", "B", "BD", "choices_unequal"),
    ("choices-extra-one", "B, C, D", "BD", "choices_unequal"),
    ("unit-on-both-sides-differs", "5 km", "5 m", "unit_mismatch"),
    ("noun-on-both-sides-differs", "12 apples", "12 oranges", "unit_mismatch"),
    ("time-differs-by-half-day", "8:34 AM", "20:34", "time_unequal"),
    ("complex-wrong-value", "2i", "(1-i)^2", "symbolic_unequal"),
    ("short-decimal-for-pi", "3.1416", r"\pi", "symbolic_unequal"),
]


@pytest.mark.parametrize(
    ("prediction", "reference", "rule"),
    [case[1:] for case in MATCHING],
    ids=[case[0] for case in MATCHING],
)
def test_compare_answers_matches(prediction: str, reference: str, rule: str) -> None:
    verdict = _grade(prediction, reference)
    assert (verdict.correct, verdict.rule) == (True, rule), verdict.reason


@pytest.mark.parametrize(
    ("prediction", "reference", "rule"),
    [case[1:] for case in NOT_MATCHING],
    ids=[case[0] for case in NOT_MATCHING],
)
def test_compare_answers_rejects(prediction: str, reference: str, rule: str) -> None:
    verdict = _grade(prediction, reference)
    assert (verdict.correct, verdict.rule) == (False, rule), verdict.reason


def test_compare_tables_hold_more_false_cases_than_true() -> None:
    assert len(NOT_MATCHING) >= len(MATCHING)


def test_compare_answers_every_verdict_has_a_reason() -> None:
    for _, prediction, reference, _ in MATCHING + NOT_MATCHING:
        assert _grade(prediction, reference).reason


def test_compare_relation_to_interval_either_way() -> None:
    assert _grade(r"-2 \le x \le 7", "[-2,7]").correct
    assert _grade("[-2,7]", r"-2 \le x \le 7").correct


def test_compare_rounded_decimals_need_the_option() -> None:
    relaxed = MathConfig(rounded_decimal_places=4)
    assert not _grade("0.3333", r"\frac13").correct
    assert _grade("0.3333", r"\frac13", relaxed).correct
    assert not _grade("0.333", r"\frac13", relaxed).correct  # fewer places than asked
    assert not _grade("0.3334", r"\frac13", relaxed).correct  # not the correct rounding


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (sympy.sqrt(8), 2 * sympy.sqrt(2), True),
        (
            sympy.sin(sympy.Symbol("x")) ** 2 + sympy.cos(sympy.Symbol("x")) ** 2,
            sympy.Integer(1),
            True,
        ),
        (
            1 / sympy.factorial(2004, evaluate=False),
            1 / sympy.factorial(2006, evaluate=False),
            False,
        ),
        (sympy.pi, sympy.Rational(314159265358979, 10**14), False),
        (sympy.oo, sympy.oo, True),
        (sympy.oo, -sympy.oo, False),
    ],
    ids=[
        "radical",
        "pythagoras",
        "tiny-difference",
        "pi-approximation",
        "infinity",
        "signed-infinity",
    ],
)
def test_exprs_equal_is_exact(a: sympy.Expr, b: sympy.Expr, equal: bool) -> None:
    assert exprs_equal(a, b) is equal
