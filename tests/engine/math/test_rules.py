"""The grading rules of 2.0.0, each with answers it must accept and answers it must refuse.

Every row goes through the whole pipeline (``verify``: extraction, parsing, comparison) and names
the rule that must decide, so a change of reason shows up as well as a change of verdict.
"""

from __future__ import annotations

import pytest

from verifier_service.engine.math import verify

# (id, response, reference, rule)
ACCEPT = [
    ("percent-is-fraction", r"\boxed{10\%}", "0.1", "percent_equal"),
    ("percent-is-number", r"\boxed{10\%}", "10", "percent_equal"),
    ("fraction-for-percent", r"\boxed{0.1}", r"10\%", "percent_equal"),
    ("float-repr-of-root", r"\boxed{1.4142135623730951}", r"\sqrt{2}", "decimal_approximation"),
    ("float-repr-of-third", r"\boxed{0.3333333333333333}", r"\frac{1}{3}", "decimal_approximation"),
    ("six-digits-truncated", r"\boxed{0.333333}", r"\frac{1}{3}", "decimal_approximation"),
    ("six-digits-rounded", r"\boxed{3.141593}", r"\pi", "decimal_approximation"),
    ("six-digits-pi-truncated", r"\boxed{3.141592}", r"\pi", "decimal_approximation"),
    (
        "long-decimal-reference",
        r"\boxed{\frac{1}{432}}",
        r"2.314814814815 \times 10^{-3}",
        "decimal_approximation",
    ),
    ("log-is-natural", r"\boxed{\ln 2}", r"\log 2", "identical"),
    ("inequality-for-interval", r"\boxed{1 \le x < 4}", "[1, 4)", "interval_equal"),
    ("interval-for-inequality", r"\boxed{[1, 4)}", r"1 \le x < 4", "interval_equal"),
    ("choice-with-text", r"\boxed{C. x = 42}", "C", "choice_equal"),
    ("choice-parenthesised", r"\boxed{(C)}", "C", "identical"),
    ("choice-in-text", r"\boxed{\text{(C)}}", "C", "identical"),
    ("choice-bold", r"\boxed{\textbf{C}}", "C", "identical"),
    ("choice-calligraphic", r"\boxed{\mathcal{B}}", "B", "identical"),
    ("choice-roman", r"\boxed{\mathrm{E}}", "E", "identical"),
    ("square-units-in-reference", r"\boxed{10}", "10 square units", "identical"),
    ("words-in-reference", r"\boxed{17}", r"17\text{ any text}", "identical"),
    ("markdown-bold", "The answer is **73**.", "73", "identical"),
    ("noun-after-number", r"\boxed{12 apples}", "12", "identical"),
    ("choice-letters-listed", r"\boxed{B, D}", "BD", "choices_equal"),
    ("choice-letters-and", r"\boxed{B \text{ and } D}", "BD", "choices_equal"),
    ("final-sentence-math", "We get $x = 5$.", "5", "numeric_equal"),
    ("final-sentence-number", "The minimum is $-3$.", "-3", "identical"),
    ("final-sentence-math-then-words", r"Thus $x = 5$ is the solution.", "5", "numeric_equal"),
    ("end-of-turn-cuts", "It is $(7, 6)$. <|im_start|>user Try $(1, 1)$.", "(7,6)", "tuple_equal"),
    ("time-seconds", r"\boxed{20:34}", "20:34:00", "time_equal"),
    ("time-pm", r"\boxed{8:34 PM}", "20:34", "time_equal"),
    ("base-subscript-braces", r"\boxed{4210_7}", "4210_{7}", "identical"),
    ("mixed-number-space", r"\boxed{1 1/2}", "1.5", "numeric_equal"),
    ("trig-of-degrees", r"\boxed{\frac{\sqrt3}2}", r"\sin 60^\circ", "symbolic_equal"),
    ("set-union-reference", r"\boxed{\{1,2,3,4\}}", r"\{1,3\} \cup \{2,4\}", "set_equal"),
    ("complex-square", r"\boxed{2i}", "(1+i)^2", "complex_equal"),
    ("complex-square-reverse", r"\boxed{(1+i)^2}", "2i", "complex_equal"),
    ("doubled-backslashes", r"\boxed{\frac{1}{2}}", r"\\frac{1}{2}", "identical"),
    ("true-chain", r"\boxed{7 = 7}", "7", "numeric_equal"),
    ("true-identity-chain", r"\boxed{x^2+2x+1 = (x+1)^2}", "x^2+2x+1", "symbolic_equal"),
    ("derivation-chain", r"\boxed{x = 5 + 2 = 7}", "7", "numeric_equal"),
    ("or-lists-solutions", r"\boxed{x = -4 \text{ or } x = 5}", r"\{-4, 5\}", "or_list_set_equal"),
    ("or-boxes-list-solutions", r"\boxed{-4} or \boxed{5}", "-4, 5", "or_list_set_equal"),
    ("same-value-twice", r"\boxed{3} or \boxed{3}", "3", "identical"),
    (
        "correction-after-draft",
        r"First \boxed{2}. Checking again, so the final answer is \boxed{3}.",
        "3",
        "identical",
    ),
    ("zero-width-is-invisible", "\\boxed{4\u200b2}", "42", "identical"),
    ("negated-less-is-geq", r"\boxed{x \not< 42}", r"x \ge 42", "relation_equal"),
    ("exact-before-approx", r"\boxed{x = \frac13 \approx 0.33}", r"\frac13", "numeric_equal"),
]

REJECT = [
    ("percent-other-value", r"\boxed{11\%}", "0.1", "percent_unequal"),
    ("three-digits-for-third", r"\boxed{0.333}", r"\frac{1}{3}", "numeric_unequal"),
    ("short-pi", r"\boxed{3.14}", r"\pi", "symbolic_unequal"),
    ("short-root", r"\boxed{1.41}", r"\sqrt2", "symbolic_unequal"),
    ("six-digits-wrong-last", r"\boxed{3.141594}", r"\pi", "symbolic_unequal"),
    ("decimal-reference-exact", r"\boxed{5.11}", "5.1", "numeric_unequal"),
    ("decimal-reference-exact-half", r"\boxed{0.54}", "0.5", "numeric_unequal"),
    ("short-decimal-reference", r"\boxed{\frac13}", "0.3", "numeric_unequal"),
    ("integers-stay-exact", r"\boxed{1000001}", "1000000", "numeric_unequal"),
    ("log-base-two", r"\boxed{\log_2 8}", r"\ln 8", "symbolic_unequal"),
    ("choice-other", r"\boxed{D. x = 42}", "C", "choice_unequal"),
    ("unit-mismatch", r"\boxed{5 km}", "5 m", "unit_mismatch"),
    ("choice-letters-missing", r"\boxed{B}", "BD", "choices_unequal"),
    ("final-sentence-other", "We get $x = 6$.", "5", "numeric_unequal"),
    ("time-other", r"\boxed{8:34 AM}", "20:34", "time_unequal"),
    ("base-other", r"\boxed{4210_8}", "4210_{7}", "text_unequal"),
    ("improper-mixed", r"\boxed{1 3/2}", "2.5", "unparsable"),
    ("hedge-boxes", r"\boxed{2} or \boxed{3}", "3", "alternatives"),
    ("hedge-either", r"either \boxed{2} or \boxed{3}", "3", "alternatives"),
    ("hedge-vee", r"\boxed{2} \vee \boxed{3}", "3", "alternatives"),
    ("hedge-or-maybe", r"\boxed{2}, or maybe \boxed{3}", "3", "alternatives"),
    ("hedge-inside-box", r"\boxed{2 \text{ or } 3}", "3", "alternatives"),
    ("hedge-in-tag", "<answer>2 or 3</answer>", "3", "alternatives"),
    ("hedge-final-sentence", "It is $2$ or $3$.", "3", "alternatives"),
    ("negated-final-sentence", "So it is clearly not $3$", "3", "no_answer"),
    ("negated-contraction", "It isn't $3$.", "3", "no_answer"),
    (
        "or-list-incomplete",
        r"\boxed{x = -4 \text{ or } x = 6}",
        r"\{-4, 5\}",
        "or_list_set_unequal",
    ),
    ("phantom-digit", r"\boxed{\phantom{4}2}", "42", "numeric_unequal"),
    ("hphantom-digit", r"\boxed{\hphantom{4}2}", "42", "numeric_unequal"),
    ("white-digit", r"\boxed{{\color{white}4}2}", "42", "unparsable"),
    ("textcolor-white", r"\boxed{\textcolor{white}{4}2}", "42", "numeric_unequal"),
    ("negated-equality", r"\boxed{x \not= 42}", "42", "kind_mismatch"),
    ("neq", r"\boxed{x \neq 42}", "42", "kind_mismatch"),
    ("juxtaposed", r"\boxed{40 \quad 2}", "42", "unparsable"),
    ("juxtaposed-space", r"\boxed{40 2}", "42", "unparsable"),
    ("false-chain", r"\boxed{x = 7 = 42}", "42", "false_chain"),
    ("false-identity", r"\boxed{x^2 = (x+1)^2}", "x^2", "false_chain"),
    ("or-more", r"\boxed{42 \text{ or more}}", "42", "qualified"),
    ("or-less", r"\boxed{42 \text{ or less}}", "42", "qualified"),
    ("or-so", r"\boxed{42 \text{ or so}}", "42", "qualified"),
    ("at-least", r"\boxed{\text{at least } 42}", "42", "qualified"),
    ("approx", r"\boxed{\approx 42}", "42", "qualified"),
    ("sim", r"\boxed{\sim 42}", "42", "qualified"),
    ("name-approx", r"\boxed{x \approx 42}", "42", "qualified"),
    ("about", r"\boxed{\text{about } 42}", "42", "qualified"),
]


@pytest.mark.parametrize(
    ("response", "reference", "rule"), [c[1:] for c in ACCEPT], ids=[c[0] for c in ACCEPT]
)
def test_rule_accepts(response: str, reference: str, rule: str) -> None:
    result = verify(response, reference)
    assert (result.correct, result.rule) == (True, rule), result.reason


@pytest.mark.parametrize(
    ("response", "reference", "rule"), [c[1:] for c in REJECT], ids=[c[0] for c in REJECT]
)
def test_rule_rejects(response: str, reference: str, rule: str) -> None:
    result = verify(response, reference)
    assert (result.correct, result.rule) == (False, rule), result.reason


def test_thousands_of_or_boxes_stay_bounded() -> None:
    response = " or ".join(f"\\boxed{{{n}}}" for n in range(5000))
    result = verify(response, "42")
    assert (result.correct, result.rule) == (False, "refused")
