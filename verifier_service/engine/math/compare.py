"""Equivalence rules between a parsed prediction and a parsed reference, one function per kind.

Exact answers are compared exactly: rationals as rationals, expressions by proving their
difference is zero (numeric evaluation may only *reject*, never accept). A decimal reference is
exact as written (``5.1`` is not ``5.11``). The one approximation accepted is a decimal of at
least six significant digits against an exact value it correctly rounds or truncates at its last
written digit (``0.333333`` for 1/3, a float repr such as ``1.4142135623730951`` for √2), in
either direction; never between two integers or two exact forms. A percent answers for its
value either way (``10\\%`` is 10 and 0.1). There is no π ≈ 3.14 and no "any element matches".
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

import sympy

from verifier_service.engine.math.config import DEFAULT_MATH_CONFIG, MathConfig
from verifier_service.engine.math.parse import (
    AnswerParseError,
    ParsedAnswer,
    parse_value,
    show,
    solution_set,
)

__all__ = [
    "Verdict",
    "compare_alternatives",
    "compare_answers",
    "compare_chain",
    "compare_choice_lists",
    "compare_choices",
    "compare_expressions",
    "compare_intervals",
    "compare_matrices",
    "compare_numbers",
    "compare_percent",
    "compare_relations",
    "compare_sets",
    "compare_text",
    "compare_times",
    "compare_tuples",
    "values_equal",
]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one comparison: whether it matched, the rule that decided, and why."""

    correct: bool
    rule: str
    reason: str


_SET_KINDS = frozenset({"set", "empty_set"})
_INTERVAL_KINDS = frozenset({"interval", "union", "empty_set"})
_SCALAR_KINDS = frozenset({"number", "expression"})
# Random-looking positive points at which symbolic differences are evaluated to reject fast.
_SAMPLE_POINTS = (sympy.Rational(7013, 5119), sympy.Rational(3191, 7727))


def compare_answers(
    prediction: ParsedAnswer, reference: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """Decide whether ``prediction`` is an equivalent answer to ``reference``."""
    if prediction.kind == "qualified":
        return Verdict(False, "qualified", f"{prediction.value!s} does not commit to a value")
    if reference.kind == "qualified" and reference.items:
        reference = replace(reference.items[0], unit=reference.unit)
    if prediction.kind == "alternatives":
        verdict = compare_alternatives(prediction, reference, config=config)
        if verdict is not None:
            return verdict
        prediction = _single_alternative(prediction)
    if prediction.unit != reference.unit and "percent" in (prediction.unit, reference.unit):
        return compare_percent(prediction, reference, config=config)
    if prediction.unit and reference.unit and prediction.unit != reference.unit:
        return Verdict(
            False,
            "unit_mismatch",
            f"unit {prediction.unit!r} is not the reference's {reference.unit!r}",
        )
    if prediction.text == reference.text and prediction.kind not in ("chain", "relation"):
        return Verdict(True, "identical", "the normalised answers are identical")
    return _compare_nodes(prediction, reference, config)


def compare_alternatives(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict | None:
    """Options offered with "or". Against a set of solutions they are that set; against one
    value, two different options are a hedge (wrong). None: all options are one value, which
    is then compared as the answer."""
    solutions = solution_set(pred.text, pred.items)
    if _is_solution_set(ref):
        verdict = _compare_nodes(replace(solutions, unit=pred.unit), ref, config)
        return replace(verdict, rule=f"or_list_{verdict.rule}")
    if len(_distinct(_members(_unassigned(solutions)), config)) > 1:
        return Verdict(
            False, "alternatives", "the prediction offers different values instead of one answer"
        )
    return None


def _is_solution_set(node: ParsedAnswer) -> bool:
    node = _unassigned(node)
    return node.kind in _SET_KINDS or (node.kind == "tuple" and node.brackets == "")


def _unassigned(node: ParsedAnswer) -> ParsedAnswer:
    return node.items[0] if node.kind == "assignment" else node


def _single_alternative(pred: ParsedAnswer) -> ParsedAnswer:
    return replace(pred.items[-1], unit=pred.unit)


def compare_percent(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """A percent on one side only: ``10\\%`` answers for 10 and for 0.1 (both conventions)."""
    if (pred.unit or ref.unit) not in (None, "percent") or (pred.unit and ref.unit):
        return Verdict(False, "unit_mismatch", f"unit {pred.unit!r} is not {ref.unit!r}")
    plain_pred, plain_ref = replace(pred, unit=None), replace(ref, unit=None)
    as_written = _compare_nodes(plain_pred, plain_ref, config)
    if as_written.correct:
        return replace(as_written, rule="percent_equal", reason=f"as a number: {as_written.reason}")
    scaled = (
        _compare_nodes(_hundredth(plain_pred), plain_ref, config)
        if pred.unit == "percent"
        else _compare_nodes(plain_pred, _hundredth(plain_ref), config)
    )
    if scaled.correct:
        return replace(scaled, rule="percent_equal", reason=f"as a fraction: {scaled.reason}")
    return replace(scaled, rule="percent_unequal")


def _hundredth(node: ParsedAnswer) -> ParsedAnswer:
    if node.kind not in _SCALAR_KINDS or not isinstance(node.value, sympy.Expr):
        return node
    places = node.places + 2 if node.places is not None else None
    return replace(node, text=f"{node.text}/100", value=node.value / 100, places=places)


def _compare_nodes(pred: ParsedAnswer, ref: ParsedAnswer, config: MathConfig) -> Verdict:
    """Dispatch on the kinds of the two nodes (the prediction is on the left)."""
    if pred.kind in ("chain", "relation") and ref.kind in _SCALAR_KINDS | {"chain"}:
        chain = compare_chain(pred, ref, config=config)
        if chain is not None:
            return chain
    if ref.kind == "chain":
        return _compare_nodes(pred, ref.items[-1], config)
    letters = compare_choice_lists(pred, ref)
    if letters is not None:
        return letters
    if pred.kind == "assignment" or ref.kind == "assignment":
        return _compare_assignments(pred, ref, config)
    if pred.kind == "time" or ref.kind == "time":
        return compare_times(pred, ref)
    if ref.kind == "choice" or pred.kind == "choice":
        return compare_choices(pred, ref)
    if ref.kind == "text" or pred.kind == "text":
        return compare_text(pred, ref)
    if ref.kind in _SCALAR_KINDS and pred.kind in _SCALAR_KINDS:
        if ref.kind == "number" and pred.kind == "number":
            return compare_numbers(pred, ref, config=config)
        return compare_expressions(pred, ref, config=config)
    if ref.kind == "relation":
        if pred.kind == "relation":
            return compare_relations(pred, ref, config=config)
        if pred.kind in _INTERVAL_KINDS or _is_pair(pred):
            return compare_intervals(pred, ref, config=config)
    if pred.kind == "relation" and (ref.kind in _INTERVAL_KINDS or _is_pair(ref)):
        return compare_intervals(pred, ref, config=config)
    if ref.kind in ("interval", "union") or pred.kind in ("interval", "union"):
        return compare_intervals(pred, ref, config=config)
    if ref.kind == "matrix" or pred.kind == "matrix":
        return compare_matrices(pred, ref, config=config)
    if ref.kind == "tuple" or pred.kind == "tuple":
        return compare_tuples(pred, ref, config=config)
    if ref.kind in _SET_KINDS or pred.kind in _SET_KINDS:
        return compare_sets(pred, ref, config=config)
    return Verdict(False, "kind_mismatch", f"a {pred.kind} does not answer for a {ref.kind}")


def compare_chain(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict | None:
    """``7 = 7`` or ``x = 5 + 2 = 7``: every link must hold, then the last value is the answer.
    None when the prediction is an equation that is not a chain of values."""
    if pred.kind == "relation" and any(op != "=" for op in pred.ops):
        return None
    values = pred.items
    for left, right in itertools.pairwise(values):
        if left.kind not in _SCALAR_KINDS or right.kind not in _SCALAR_KINDS:
            return None if pred.kind == "relation" else _chain_broken(left, right)
        if not values_equal(left, right, config):
            return _chain_broken(left, right)
    verdict = _compare_nodes(values[-1], ref, config)
    return replace(verdict, reason=f"every link holds; {verdict.reason}")


def _chain_broken(left: ParsedAnswer, right: ParsedAnswer) -> Verdict:
    return Verdict(False, "false_chain", f"{left.describe()} = {right.describe()} does not hold")


def compare_times(pred: ParsedAnswer, ref: ParsedAnswer) -> Verdict:
    """Times of day (``20:34`` is ``20:34:00`` and ``8:34 PM``)."""
    if pred.kind != ref.kind:
        return Verdict(False, "kind_mismatch", f"a {pred.kind} does not answer for a {ref.kind}")
    if pred.value == ref.value:
        return Verdict(True, "time_equal", f"{pred.text} is {ref.text}")
    return Verdict(False, "time_unequal", f"{pred.text} is not {ref.text}")


_CHOICE_LETTERS = frozenset("ABCDEFGHIJ")
_LETTERS_RE = re.compile(r"^(?:[A-J](?:\s*(?:,|;|/|&|and|\\text\{and\})?\s*)){2,10}$")


def compare_choice_lists(pred: ParsedAnswer, ref: ParsedAnswer) -> Verdict | None:
    """Several choice letters (``BD``, ``B, D``, ``B and D``) as one unordered answer; None
    unless the reference is such a list."""
    ref_letters = _choice_letters(ref)
    if ref_letters is None or len(ref_letters) < 2:
        return None
    pred_letters = _choice_letters(pred)
    if pred_letters is None:
        return None
    if pred_letters == ref_letters:
        return Verdict(True, "choices_equal", f"choices {''.join(sorted(ref_letters))}")
    return Verdict(
        False,
        "choices_unequal",
        f"choices {''.join(sorted(pred_letters))} are not {''.join(sorted(ref_letters))}",
    )


def _choice_letters(node: ParsedAnswer) -> frozenset[str] | None:
    if node.kind == "choice":
        return frozenset(str(node.value))
    if node.kind in ("set", "tuple"):
        letters = [_letter(item) for item in node.items]
        if all(letter is not None for letter in letters):
            return frozenset(letter for letter in letters if letter is not None)
        return None
    if _LETTERS_RE.match(node.text):
        return frozenset(re.sub(r"and|\\text\{and\}", "", node.text)) & _CHOICE_LETTERS or None
    return None


def values_equal(pred: ParsedAnswer, ref: ParsedAnswer, config: MathConfig) -> bool:
    """Whether two nodes are equivalent (the element-level test used inside structures)."""
    if pred.text == ref.text and pred.kind == ref.kind:
        return True
    return _compare_nodes(pred, ref, config).correct


# --- scalars ----------------------------------------------------------------------------------


def compare_numbers(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """Two numbers: exact rational equality, or a long decimal against an exact fraction."""
    assert isinstance(pred.value, sympy.Rational) and isinstance(ref.value, sympy.Rational)
    if pred.value == ref.value:
        return Verdict(
            True, "numeric_equal", f"{show(pred.value)} equals {show(ref.value)} exactly"
        )
    return _compare_inexact(pred, ref, config) or Verdict(
        False, "numeric_unequal", f"{show(pred.value)} is not {show(ref.value)}"
    )


def compare_expressions(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """Two expressions (or an expression and a number): proven symbolic equality."""
    assert isinstance(pred.value, sympy.Expr) and isinstance(ref.value, sympy.Expr)
    inexact = _compare_inexact(pred, ref, config)
    if inexact is not None and inexact.correct:
        return inexact
    if exprs_equal(pred.value, ref.value):
        return Verdict(
            True, "symbolic_equal", f"{show(pred.value)} - ({show(ref.value)}) simplifies to 0"
        )
    if _imaginary_unit(pred.value, ref.value) and exprs_equal(
        pred.value.xreplace({_I: sympy.I}), ref.value.xreplace({_I: sympy.I})
    ):
        return Verdict(
            True, "complex_equal", f"{show(pred.value)} equals {show(ref.value)} with i² = -1"
        )
    return inexact or Verdict(
        False, "symbolic_unequal", f"{show(pred.value)} - ({show(ref.value)}) is not proven to be 0"
    )


_MIN_SIGNIFICANT_DIGITS = 6
_FLOAT_REPR_DIGITS = 15


def _compare_inexact(pred: ParsedAnswer, ref: ParsedAnswer, config: MathConfig) -> Verdict | None:
    """A decimal of six or more significant digits against an exact value (either side), or
    (if enabled) a rounded decimal prediction. None when no such rule applies or matches."""
    assert isinstance(pred.value, sympy.Expr) and isinstance(ref.value, sympy.Expr)
    for decimal, exact in ((pred, ref), (ref, pred)):
        exact_value = exact.value
        assert isinstance(exact_value, sympy.Expr)
        if (
            _is_long_decimal(decimal)
            and exact.places is None
            and not exact_value.is_Integer
            and _decimal_agrees(decimal, exact_value)
        ):
            return Verdict(
                True,
                "decimal_approximation",
                f"{decimal.text} is {show(exact_value)} to its last written digit",
            )
    limit = config.rounded_decimal_places
    if (
        limit is not None
        and pred.kind == "number"
        and pred.places is not None
        and pred.places >= limit
    ):
        tolerance = sympy.Rational(1, 2 * 10**pred.places)
        difference = _numeric_distance(pred.value, ref.value, pred.places + 20)
        if difference is not None and difference <= tolerance:
            return Verdict(True, "rounded_decimal", f"{pred.text} is {show(ref.value)} rounded")
    return None


def _is_long_decimal(node: ParsedAnswer) -> bool:
    if node.kind != "number" or node.places is None or not isinstance(node.value, sympy.Rational):
        return False
    return len(str(abs(int(node.value * 10**node.places)))) >= _MIN_SIGNIFICANT_DIGITS


def _decimal_agrees(decimal: ParsedAnswer, exact: sympy.Expr) -> bool:
    """Whether ``decimal`` is ``exact`` correctly rounded or truncated at its last written digit
    (or, for 15+ digits, the same double: a float's shortest repr)."""
    assert decimal.places is not None and isinstance(decimal.value, sympy.Rational)
    if exact.free_symbols or decimal.places > 400:
        return False
    written = int(decimal.value * 10**decimal.places)
    digits = len(str(abs(written)))
    try:
        scaled = sympy.N(exact * 10**decimal.places, digits + 20)
    except (TypeError, ValueError):
        return False
    if not scaled.is_real or not scaled.is_finite:
        return False
    exact_scaled = sympy.Rational(scaled)
    magnitude = abs(exact_scaled)
    sign = -1 if exact_scaled < 0 else 1
    truncated = sign * int(sympy.floor(magnitude))
    rounded = sign * int(sympy.floor(magnitude + sympy.Rational(1, 2)))
    if written in (truncated, rounded):
        return True
    if digits < _FLOAT_REPR_DIGITS:
        return False
    return float(decimal.value) == float(sympy.N(exact, 30))


def _numeric_distance(a: sympy.Expr, b: sympy.Expr, digits: int) -> sympy.Rational | None:
    """|a - b| as a rational (evaluated to ``digits`` digits), None if not a real constant."""
    if a.free_symbols or b.free_symbols:
        return None
    difference = sympy.N(a - b, digits)
    if not difference.is_real or not difference.is_finite:
        return None
    return abs(sympy.Rational(difference))


def exprs_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """True only when a - b is proven to be zero (numeric evaluation can only say no)."""
    if a == b:
        return True
    if a.is_Rational and b.is_Rational:
        return False
    if a.has(sympy.oo, -sympy.oo, sympy.zoo) or b.has(sympy.oo, -sympy.oo, sympy.zoo):
        return False
    difference = a - b
    if difference == 0:
        return True
    if difference.has(*_UNEVALUATED):
        # Sums, integrals and limits are not carried out: only an expansion may prove them equal
        # (numeric evaluation and simplify of symbolic ones can take seconds).
        return bool(sympy.expand(difference) == 0)
    if _numerically_nonzero(difference, a, b):
        return False
    if sympy.expand(difference) == 0:
        return True
    if sympy.count_ops(difference) <= 400 and sympy.simplify(difference) == 0:
        return True
    return bool(difference.equals(0))


_I = sympy.Symbol("i")
_UNEVALUATED = (sympy.Sum, sympy.Product, sympy.Integral, sympy.Limit, sympy.Derivative)


def _imaginary_unit(pred: sympy.Expr, ref: sympy.Expr) -> bool:
    """Whether ``i`` may be read as the imaginary unit: the reference uses it and no other
    symbol appears on either side."""
    return _I in ref.free_symbols and (pred.free_symbols | ref.free_symbols) <= {_I}


def _numerically_nonzero(difference: sympy.Expr, a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether ``difference`` is clearly not zero at a few points (relative to |a| + |b|)."""
    symbols = sorted(difference.free_symbols, key=str)
    points = [dict.fromkeys(symbols, p) for p in _SAMPLE_POINTS] if symbols else [{}]
    for point in points:
        # Different symbols get different values so that x - y is not zero by accident.
        point = {s: v + sympy.Rational(i, 7) for i, (s, v) in enumerate(point.items())}
        try:
            # xreplace, not subs: a plain substitution, many times faster on big expressions.
            value = complex(sympy.N(difference.xreplace(point), 30))
            scale = abs(complex(sympy.N(a.xreplace(point), 30))) + abs(
                complex(sympy.N(b.xreplace(point), 30))
            )
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if abs(value) == abs(value) and abs(value) > 1e-12 * max(scale, 1e-300):
            return True
    return False


# --- text and choices -------------------------------------------------------------------------


def compare_choices(pred: ParsedAnswer, ref: ParsedAnswer) -> Verdict:
    """Multiple-choice letters, compared without case or decoration."""
    pred_letter, ref_letter = _letter(pred), _letter(ref)
    if pred_letter is None or ref_letter is None:
        return Verdict(False, "kind_mismatch", f"a {pred.kind} does not answer for a {ref.kind}")
    if pred_letter == ref_letter:
        return Verdict(True, "choice_equal", f"choice {pred_letter}")
    return Verdict(False, "choice_unequal", f"choice {pred_letter} is not {ref_letter}")


def _letter(node: ParsedAnswer) -> str | None:
    if node.kind == "choice":
        return str(node.value)
    if node.kind in ("expression", "text") and len(node.text) == 1 and node.text.isalpha():
        return node.text.upper()
    return None


def compare_text(pred: ParsedAnswer, ref: ParsedAnswer) -> Verdict:
    """Words, compared without case, spacing or a final full stop."""
    pred_text, ref_text = _plain_text(pred), _plain_text(ref)
    if pred_text == ref_text:
        return Verdict(True, "text_equal", f"the text {ref_text!r} matches")
    return Verdict(False, "text_unequal", f"{pred_text!r} is not {ref_text!r}")


def _plain_text(node: ParsedAnswer) -> str:
    return " ".join(node.text.lower().replace("\\", " ").rstrip(".!").split())


# --- assignments and relations ----------------------------------------------------------------


def _compare_assignments(pred: ParsedAnswer, ref: ParsedAnswer, config: MathConfig) -> Verdict:
    """``x = 4`` answers for ``4`` and the other way round; two names must agree."""
    if pred.kind == "assignment" and ref.kind == "assignment":
        if pred.name == ref.name:
            return _compare_nodes(pred.items[0], ref.items[0], config)
        as_equations = _as_equation(pred), _as_equation(ref)
        if as_equations[0] is not None and as_equations[1] is not None:
            return compare_relations(as_equations[0], as_equations[1], config=config)
        return Verdict(False, "name_mismatch", f"{pred.name} is not {ref.name}")
    if ref.kind == "relation":
        equation = _as_equation(pred)
        if equation is not None:
            return compare_relations(equation, ref, config=config)
    if pred.kind == "relation":
        equation = _as_equation(ref)
        if equation is not None:
            return compare_relations(pred, equation, config=config)
    verdict = _compare_nodes(
        pred.items[0] if pred.kind == "assignment" else pred,
        ref.items[0] if ref.kind == "assignment" else ref,
        config,
    )
    return verdict


def _as_equation(node: ParsedAnswer) -> ParsedAnswer | None:
    """``y = 2x + 1`` as a relation between expressions, when its name is an expression."""
    if node.kind != "assignment" or node.items[0].kind not in _SCALAR_KINDS or node.name is None:
        return None
    try:
        name = parse_value(node.text.split("=")[0])
    except AnswerParseError:
        return None
    if name.kind not in _SCALAR_KINDS:
        return None
    return ParsedAnswer("relation", node.text, items=(name, node.items[0]), ops=("=",))


_FLIPPED = {">": "<", ">=": "<="}


def compare_relations(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """Equations and inequalities: the same relation after moving everything to one side.

    ``a = b`` matches ``c = d`` when a - b is a non-zero constant multiple of c - d; an
    inequality needs a positive multiple (so ``-x > -1`` is ``x < 1``); chains member by member.
    """
    if len(pred.ops) != len(ref.ops):
        return Verdict(False, "relation_unequal", "the relations have different lengths")
    pred_forms, ref_forms = _relation_forms(pred), _relation_forms(ref)
    if pred_forms is None or ref_forms is None:
        return Verdict(False, "relation_unequal", "a relation side is not an expression")
    if _same_forms(pred_forms, ref_forms) or _same_forms(pred_forms, ref_forms[::-1]):
        return Verdict(True, "relation_equal", "the relations are equivalent")
    return Verdict(False, "relation_unequal", f"{pred.describe()} is not {ref.describe()}")


def _relation_forms(node: ParsedAnswer) -> list[tuple[str, sympy.Expr]] | None:
    """Each link ``a op b`` of a chain as (op, a - b) with op in =, !=, <, <=."""
    forms = []
    for left, op, right in zip(node.items, node.ops, node.items[1:], strict=False):
        if not isinstance(left.value, sympy.Expr) or not isinstance(right.value, sympy.Expr):
            return None
        difference = left.value - right.value
        if op in _FLIPPED:
            op, difference = _FLIPPED[op], -difference
        forms.append((op, difference))
    return forms


def _same_forms(a: list[tuple[str, sympy.Expr]], b: list[tuple[str, sympy.Expr]]) -> bool:
    return all(
        op_a == op_b and _proportional(d_a, d_b, positive=op_a in ("<", "<="))
        for (op_a, d_a), (op_b, d_b) in zip(a, b, strict=True)
    )


def _proportional(a: sympy.Expr, b: sympy.Expr, *, positive: bool) -> bool:
    if exprs_equal(a, b):
        return True
    if b == 0 or a == 0:
        return False
    ratio = sympy.cancel(sympy.together(a / b))
    if ratio.free_symbols or ratio == 0 or not ratio.is_finite:
        return False
    return bool(ratio.is_positive) if positive else True


# --- collections ------------------------------------------------------------------------------


def compare_sets(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """Unordered collections: every element of each side equals an element of the other.

    Written twice or not, an element counts once (``{1, 1, 2}`` is ``{1, 2}``), but a missing or
    an extra distinct element makes the answer wrong: no "any element matches".
    """
    pred_items, ref_items = _distinct(_members(pred), config), _distinct(_members(ref), config)
    if len(pred_items) != len(ref_items):
        return Verdict(
            False,
            "set_size_mismatch",
            f"{len(pred_items)} distinct elements for the reference's {len(ref_items)}",
        )
    remaining = list(ref_items)
    for item in pred_items:
        match = next((i for i, r in enumerate(remaining) if values_equal(item, r, config)), None)
        if match is None:
            return Verdict(False, "set_unequal", f"{item.describe()} matches no reference element")
        remaining.pop(match)
    return Verdict(True, "set_equal", f"all {len(ref_items)} elements match one to one")


def _distinct(items: tuple[ParsedAnswer, ...], config: MathConfig) -> list[ParsedAnswer]:
    kept: list[ParsedAnswer] = []
    for item in items:
        if not any(values_equal(item, other, config) for other in kept):
            kept.append(item)
    return kept


def _members(node: ParsedAnswer) -> tuple[ParsedAnswer, ...]:
    if node.kind == "set":
        return node.items
    if node.kind == "empty_set":
        return ()
    return (node,)


def compare_tuples(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """Ordered tuples and points; a bare list against a tuple is read in order too."""
    pred_items, ref_items = _ordered(pred), _ordered(ref)
    if pred_items is None or ref_items is None:
        return Verdict(False, "kind_mismatch", f"a {pred.kind} does not answer for a {ref.kind}")
    if len(pred_items) != len(ref_items):
        return Verdict(
            False,
            "tuple_size_mismatch",
            f"{len(pred_items)} components for the reference's {len(ref_items)}",
        )
    if pred.kind == ref.kind == "tuple" and len(ref_items) == 2 and pred.brackets != ref.brackets:
        # (a, b) and [a, b] may be intervals: different brackets are different answers.
        return Verdict(False, "tuple_unequal", f"brackets {pred.brackets} are not {ref.brackets}")
    for index, (p, r) in enumerate(zip(pred_items, ref_items, strict=True)):
        if not values_equal(p, r, config):
            return Verdict(
                False,
                "tuple_unequal",
                f"component {index + 1}: {p.describe()} is not {r.describe()}",
            )
    return Verdict(True, "tuple_equal", f"all {len(ref_items)} components match in order")


def _ordered(node: ParsedAnswer) -> tuple[ParsedAnswer, ...] | None:
    if node.kind in ("tuple", "set"):
        return node.items
    if node.kind == "matrix" and 1 in node.shape:
        return node.items
    return None


def compare_matrices(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """Matrices entry by entry; a vector may be written as a tuple."""
    if pred.kind == "matrix" and ref.kind == "matrix" and pred.shape != ref.shape:
        return Verdict(False, "matrix_shape_mismatch", f"shape {pred.shape} is not {ref.shape}")
    if pred.kind != "matrix" or ref.kind != "matrix":
        return compare_tuples(pred, ref, config=config)
    for index, (p, r) in enumerate(zip(pred.items, ref.items, strict=True)):
        if not values_equal(p, r, config):
            row, col = divmod(index, ref.shape[1])
            return Verdict(
                False,
                "matrix_unequal",
                f"entry ({row + 1}, {col + 1}): {p.describe()} is not {r.describe()}",
            )
    return Verdict(True, "matrix_equal", f"all {len(ref.items)} entries match")


# --- intervals --------------------------------------------------------------------------------


def compare_intervals(
    pred: ParsedAnswer, ref: ParsedAnswer, *, config: MathConfig = DEFAULT_MATH_CONFIG
) -> Verdict:
    """Intervals and unions piece by piece, ends open or closed; a reference inequality in one
    variable stands for its solution set."""
    pred_pieces, ref_pieces = _interval_pieces(pred), _interval_pieces(ref)
    if pred_pieces is None or ref_pieces is None:
        return Verdict(False, "kind_mismatch", f"a {pred.kind} does not answer for a {ref.kind}")
    if len(pred_pieces) != len(ref_pieces):
        return Verdict(
            False,
            "interval_unequal",
            f"{len(pred_pieces)} pieces for the reference's {len(ref_pieces)}",
        )
    remaining = list(ref_pieces)
    for piece in pred_pieces:
        match = next((i for i, r in enumerate(remaining) if _same_piece(piece, r, config)), None)
        if match is None:
            return Verdict(False, "interval_unequal", f"{piece.describe()} is not in the reference")
        remaining.pop(match)
    return Verdict(True, "interval_equal", "the same intervals with the same ends")


def _same_piece(a: ParsedAnswer, b: ParsedAnswer, config: MathConfig) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "interval":
        return a.closed == b.closed and all(
            values_equal(x, y, config) for x, y in zip(a.items, b.items, strict=True)
        )
    return compare_sets(a, b, config=config).correct


def _interval_pieces(node: ParsedAnswer) -> list[ParsedAnswer] | None:
    if node.kind == "interval":
        return [node]
    if node.kind == "empty_set":
        return []
    if node.kind == "set":
        return [node]
    if _is_pair(node):
        closed = node.brackets == "[]"
        return [ParsedAnswer("interval", node.text, items=node.items, closed=(closed, closed))]
    if node.kind == "union":
        pieces: list[ParsedAnswer] = []
        for item in node.items:
            sub = _interval_pieces(item)
            if sub is None:
                return None
            pieces.extend(sub)
        return pieces
    if node.kind == "relation":
        return _relation_pieces(node)
    return None


def _is_pair(node: ParsedAnswer) -> bool:
    return node.kind == "tuple" and len(node.items) == 2 and node.brackets in ("()", "[]")


_INFINITY = ParsedAnswer("expression", "\\infty", value=sympy.oo)
_MINUS_INFINITY = ParsedAnswer("expression", "-\\infty", value=-sympy.oo)


def _relation_pieces(node: ParsedAnswer) -> list[ParsedAnswer] | None:
    """``a < x <= b``, ``x > a``, ``x \\ne a`` as intervals (one symbol, constant bounds)."""
    sides = list(node.items)
    ops = list(node.ops)
    if any(not isinstance(s.value, sympy.Expr) for s in sides):
        return None
    # The one member with symbols is the variable (x, or f(x) in 0 < f(x) < 1).
    variables = [
        i for i, s in enumerate(sides) if isinstance(s.value, sympy.Expr) and s.value.free_symbols
    ]
    if len(variables) != 1:
        return None
    if any(op in (">", ">=") for op in ops):
        sides, ops = sides[::-1], [_FLIPPED.get(op, op) for op in ops[::-1]]
    where = len(sides) - 1 - variables[0] if sides[0] is not node.items[0] else variables[0]
    if ops == ["!="]:
        bound = sides[1 - where]
        return [
            ParsedAnswer("interval", node.text, items=(_MINUS_INFINITY, bound)),
            ParsedAnswer("interval", node.text, items=(bound, _INFINITY)),
        ]
    if any(op not in ("<", "<=") for op in ops) or len(ops) > 2:
        return None
    low, low_closed = (
        (sides[where - 1], ops[where - 1] == "<=") if where > 0 else (_MINUS_INFINITY, False)
    )
    high, high_closed = (
        (sides[where + 1], ops[where] == "<=") if where < len(ops) else (_INFINITY, False)
    )
    return [
        ParsedAnswer("interval", node.text, items=(low, high), closed=(low_closed, high_closed))
    ]
