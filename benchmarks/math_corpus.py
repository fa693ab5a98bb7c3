"""Labelled math responses for benchmarks: a GRPO-shaped batch and a set of pathological inputs.

The batch imitates one step of R1-Zero-style training: P prompts x G samples, each sample a
``<think>`` block of 1-4 KB of reasoning (intermediate numbers, sometimes a draft ``\\boxed{}``
that the model later revises) followed by a short summary with the final ``\\boxed{}`` answer.
Inside a group the samples share a few distinct final answers, most of them right, written in
the different ways models write them (``\\dfrac12``, ``1/2``, ``0.5``).

Labels come from construction, not from any grader: each problem is generated together with
surface forms known to equal the reference and mistakes known to differ from it. The rule is
the one of R1's accuracy reward: a sample is correct iff its final boxed answer, the one after
``</think>``, equals the reference mathematically. A response cut off before it commits to an
answer (``truncated``) is incorrect. Decimal approximations of irrational or non-terminating
values (``0.33`` for ``\\frac{1}{3}``) are incorrect: they are not equal.

Everything is generated from a seed with :class:`random.Random`, so a corpus is reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "KINDS",
    "PathologicalItem",
    "Problem",
    "Sample",
    "generate_batch",
    "pathological_items",
]


@dataclass(frozen=True)
class Problem:
    """A reference answer with surface forms known to be right and mistakes known to be wrong."""

    kind: str
    topic: str
    reference: str
    right: tuple[str, ...]
    wrong: tuple[str, ...]


@dataclass(frozen=True)
class Sample:
    """One labelled response of a GRPO group."""

    prompt_index: int
    kind: str
    reference: str
    response: str
    final_answer: str | None
    correct: bool
    shape: str  # "clean", "draft_box" (an earlier \boxed{} in the reasoning) or "truncated"


@dataclass(frozen=True)
class PathologicalItem:
    """An input built to make a grader hang, explode in memory or read it wrongly.

    correct: the mathematical truth, or None where the item is about survival only.
    """

    name: str
    response: str
    reference: str
    correct: bool | None


# --- problems, one generator per kind of answer --------------------------------------------


def _integer(rng: random.Random) -> Problem:
    size = rng.choice(["small", "small", "medium", "large", "negative"])
    n = {
        "small": rng.randint(2, 99),
        "medium": rng.randint(100, 999),
        "large": rng.randint(1000, 999_999),
        "negative": -rng.randint(2, 60),
    }[size]
    right = [str(n), str(n)]
    if abs(n) >= 1000:
        right += [f"{n:,}", f"{n:,}".replace(",", "{,}")]
    right.append(f"n = {n}")
    wrong = [str(n + 1), str(n - 1), str(2 * n), str(-n), str(n + 10)]
    return Problem("integer", "count", str(n), tuple(right), tuple(wrong))


def _fraction(rng: random.Random) -> Problem:
    q = rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 15, 16, 20, 25])
    p = rng.choice([k for k in range(1, 3 * q) if math.gcd(k, q) == 1 and k != q])
    value = Fraction(p, q)
    right = [f"\\frac{{{p}}}{{{q}}}", f"\\dfrac{{{p}}}{{{q}}}", f"{p}/{q}"]
    right.append(f"\\frac{{{2 * p}}}{{{2 * q}}}")  # unreduced but equal
    if p < 10 and q < 10:
        right.append(f"\\frac{p}{q}")
    if _terminates(q):
        right.append(_decimal(value))
    wrong = [f"\\frac{{{p}}}{{{q + 1}}}", f"\\frac{{{p + 1}}}{{{q}}}"]
    if p != 1:
        wrong.append(f"\\frac{{{q}}}{{{p}}}")
    if not _terminates(q):
        wrong.append(f"{float(value):.2f}")  # an approximation is not the value
    wrong.append(str(p * q))
    return Problem("fraction", "probability", f"\\frac{{{p}}}{{{q}}}", tuple(right), tuple(wrong))


def _radical(rng: random.Random) -> Problem:
    b = rng.choice([2, 3, 5, 6, 7, 10, 11])
    if rng.random() < 0.35:
        # sqrt(b)/b, the rationalised form of 1/sqrt(b)
        ref = f"\\frac{{\\sqrt{{{b}}}}}{{{b}}}"
        right = (ref, f"\\frac{{1}}{{\\sqrt{{{b}}}}}", f"\\frac{{1}}{{{b}}}\\sqrt{{{b}}}", ref)
        wrong = (
            f"\\sqrt{{{b}}}",
            f"\\frac{{\\sqrt{{{b}}}}}{{{b + 1}}}",
            f"{math.sqrt(b) / b:.3f}",
            f"\\frac{{{b}}}{{2}}",
        )
        return Problem("radical", "length", ref, right, wrong)
    a = rng.randint(2, 9)
    ref = f"{a}\\sqrt{{{b}}}"
    right_list = [ref, ref, f"\\sqrt{{{a * a * b}}}", f"{a} \\cdot \\sqrt{{{b}}}"]
    if b < 10:
        right_list.append(f"{a}\\sqrt {b}")
    wrong_list = [
        f"\\sqrt{{{a * b}}}",
        f"{a + 1}\\sqrt{{{b}}}",
        f"{a}\\sqrt{{{b + 1}}}" if b + 1 not in (4, 9) else f"{a}\\sqrt{{{b + 2}}}",
        f"{a * math.sqrt(b):.2f}",
    ]
    if a != b:
        wrong_list.append(f"{b}\\sqrt{{{a}}}")
    return Problem("radical", "length", ref, tuple(right_list), tuple(wrong_list))


def _expression(rng: random.Random) -> Problem:
    if rng.random() < 0.4:
        k, m = rng.choice([(1, 3), (2, 3), (1, 4), (3, 4), (1, 6), (5, 6), (1, 2), (3, 2)])
        num = "\\pi" if k == 1 else f"{k}\\pi"
        ref = f"\\frac{{{num}}}{{{m}}}"
        right = (ref, f"{num}/{m}", f"\\frac{{{k}}}{{{m}}}\\pi", ref)
        wrong = (
            f"\\frac{{{num}}}{{{m + 1}}}",
            f"\\frac{{{k}}}{{{m}}}",
            f"{k * math.pi / m:.3f}",
            f"\\frac{{{m}\\pi}}{{{k}}}" if k != m else "2\\pi",
        )
        return Problem("expression", "angle", ref, right, wrong)
    a = rng.choice([v for v in range(-7, 8) if v != 0])
    b = rng.choice([v for v in range(-7, 8) if v not in (0, a, -a)])
    ref = _poly(a + b, a * b)
    right = (ref, f"(x {_signed(a)})(x {_signed(b)})", _poly_reversed(a + b, a * b), ref)
    wrong = (
        _poly(a - b, -a * b),
        _poly(a + b, -a * b),
        _poly(a * b, a + b) if a * b != a + b else _poly(a + b + 1, a * b),
        f"(x {_signed(-a)})(x {_signed(-b)})",
    )
    return Problem("expression", "polynomial", ref, right, wrong)


def _set(rng: random.Random) -> Problem:
    roots = sorted(rng.sample([v for v in range(-9, 10) if v != 0], rng.choice([2, 2, 3])))
    listed = ", ".join(map(str, roots))
    ref = listed if rng.random() < 0.6 else f"\\{{{listed}\\}}"
    rev = ", ".join(map(str, reversed(roots)))
    right = (
        ref,
        rev,
        f"\\{{{rev}\\}}",
        " \\text{ or } ".join(f"x = {r}" for r in roots),
        listed,
    )
    flipped = ", ".join(str(-r) for r in roots)
    extra = next(v for v in range(1, 20) if v not in roots)
    wrong = (
        ", ".join(map(str, roots[:-1])),
        flipped if sorted(-r for r in roots) != roots else ", ".join(str(r + 1) for r in roots),
        f"{listed}, {extra}",
        f"\\{{{', '.join(map(str, roots[1:]))}\\}}",
    )
    return Problem("set", "roots", ref, right, wrong)


def _interval(rng: random.Random) -> Problem:
    a = rng.randint(-9, 5)
    b = a + rng.randint(1, 8)
    shape = rng.choice(["ray", "bounded", "union"])
    if shape == "ray":
        ref = f"(-\\infty, {a}]"
        right: tuple[str, ...] = (
            ref,
            f"(-\\infty,{a}]",
            f"\\left(-\\infty, {a}\\right]",
            f"x \\le {a}",
            ref,
        )
        wrong: tuple[str, ...] = (
            f"(-\\infty, {a})",
            f"[{a}, \\infty)",
            f"(-\\infty, {a + 1}]",
            f"x \\ge {a}",
        )
    elif shape == "bounded":
        ref = f"[{a}, {b})"
        right = (ref, f"[{a},{b})", f"\\left[{a}, {b}\\right)", f"{a} \\le x < {b}", ref)
        wrong = (f"({a}, {b})", f"[{a}, {b}]", f"[{a}, {b + 1})", f"({a}, {b}]")
    else:
        ref = f"(-\\infty, {a}) \\cup ({b}, \\infty)"
        right = (
            ref,
            f"(-\\infty,{a})\\cup({b},\\infty)",
            f"\\left(-\\infty, {a}\\right) \\cup \\left({b}, \\infty\\right)",
            ref,
        )
        wrong = (
            f"({a}, {b})",
            f"(-\\infty, {a}] \\cup [{b}, \\infty)",
            f"(-\\infty, {b}) \\cup ({a}, \\infty)",
            f"(-\\infty, {a}) \\cup ({b + 1}, \\infty)",
        )
    return Problem("interval", "inequality", ref, right, wrong)


def _tuple(rng: random.Random) -> Problem:
    x = rng.randint(-9, 9)
    y = rng.choice([v for v in range(-9, 10) if v not in (0, x)])
    if rng.random() < 0.3:
        # a coordinate with a half: (x/2, y)
        x = 2 * rng.randint(1, 6) + 1
        fx, dx = f"\\frac{{{x}}}{{2}}", f"{x / 2}"
        ref = f"\\left({fx}, {y}\\right)"
        right = (ref, f"({fx}, {y})", f"({dx}, {y})", f"({x}/2,{y})")
        wrong = (f"({y}, {fx})", f"({fx}, {-y})", f"({x}, {y})", f"(\\frac{{{x}}}{{3}}, {y})")
        return Problem("tuple", "point", ref, right, wrong)
    ref = f"({x}, {y})"
    right = (ref, f"({x},{y})", f"\\left( {x}, {y} \\right)", ref)
    wrong = (f"({y}, {x})", f"({x}, {-y})", f"({x + 1}, {y})", f"({-x}, {-y})" if x else "(1, 1)")
    return Problem("tuple", "point", ref, right, wrong)


def _matrix(rng: random.Random) -> Problem:
    if rng.random() < 0.4:
        entries = [rng.choice([v for v in range(-9, 10) if v != 0]) for _ in range(3)]
        ref = _pmatrix([[e] for e in entries])
        right: tuple[str, ...] = (
            ref,
            _pmatrix([[e] for e in entries], env="bmatrix", tight=True),
            ref,
        )
        changed = [*entries[:2], entries[2] + 1]
        swapped = [entries[1], entries[0] + (entries[0] == entries[1]), entries[2]]
        wrong = (
            _pmatrix([[e] for e in changed]),
            _pmatrix([[-e] for e in entries]),
            _pmatrix([[e] for e in swapped]),
        )
        return Problem("matrix", "vector", ref, right, wrong)
    m = [[rng.randint(-9, 9) for _ in range(2)] for _ in range(2)]
    if m[0][1] == m[1][0]:
        m[0][1] += 1
    ref = _pmatrix(m)
    right = (
        ref,
        _pmatrix(m, env="bmatrix", tight=True),
        ref,
        "\\left(\\begin{array}{cc} "
        + " \\\\ ".join(" & ".join(map(str, row)) for row in m)
        + " \\end{array}\\right)",
    )
    wrong = (
        _pmatrix([[m[0][0], m[1][0]], [m[0][1], m[1][1]]]),  # transposed
        _pmatrix([[m[0][0] + 1, m[0][1]], m[1]]),
        _pmatrix([[-v for v in row] for row in m]),
    )
    return Problem("matrix", "matrix", ref, right, wrong)


_WORD_CHOICES = (
    ("odd", "even", "neither"),
    ("Tuesday", "Wednesday", "Monday"),
    ("ellipse", "parabola", "hyperbola"),
)


def _text(rng: random.Random) -> Problem:
    if rng.random() < 0.5:
        letters = "ABCDE"
        letter = rng.choice(letters)
        ref = f"\\text{{({letter})}}"
        right: tuple[str, ...] = (
            ref,
            letter,
            f"({letter})",
            f"\\textbf{{({letter})}}",
            f"\\text{{{letter}}}",
        )
        wrong = tuple(f"\\text{{({c})}}" for c in letters if c != letter)
        return Problem("text", "choice", ref, right, wrong)
    word, *others = rng.choice(_WORD_CHOICES)
    ref = f"\\text{{{word}}}"
    right = (ref, f"\\text{{{word.capitalize()}}}", f"\\mathrm{{{word}}}", ref)
    wrong = tuple(f"\\text{{{o}}}" for o in others)
    return Problem("text", "classification", ref, right, wrong)


_GENERATORS: dict[str, Callable[[random.Random], Problem]] = {
    "integer": _integer,
    "fraction": _fraction,
    "radical": _radical,
    "expression": _expression,
    "set": _set,
    "interval": _interval,
    "tuple": _tuple,
    "matrix": _matrix,
    "text": _text,
}
KINDS = tuple(_GENERATORS)
# Competition sets are mostly integers and fractions; every other kind still shows up.
_KIND_CYCLE = ("integer", "integer", "integer", "fraction", "fraction", *KINDS[2:])


# --- responses ------------------------------------------------------------------------------


def generate_batch(*, seed: int = 0, prompts: int = 32, samples: int = 16) -> list[Sample]:
    """Return ``prompts`` x ``samples`` labelled responses, the same for the same arguments."""
    rng = random.Random(seed)
    cycle = list(_KIND_CYCLE)
    rng.shuffle(cycle)
    batch: list[Sample] = []
    for index in range(prompts):
        problem = _GENERATORS[cycle[index % len(cycle)]](rng)
        _check_problem(problem)
        batch.extend(_generate_group(rng, index, problem, samples))
    return batch


def _generate_group(rng: random.Random, index: int, problem: Problem, samples: int) -> list[Sample]:
    distinct = rng.randint(3, 6)
    right_forms = _distinct(rng, problem.right, rng.randint(1, min(3, distinct - 1)))
    n_right = max(1, min(samples - 1, round(samples * rng.uniform(0.55, 0.8))))
    wrong_forms = _distinct(rng, problem.wrong, min(distinct - len(right_forms), samples - n_right))
    answers: list[tuple[str | None, bool]] = [
        (right_forms[i % len(right_forms)], True) for i in range(n_right)
    ]
    # The first form is the one the model writes most: skew towards it.
    answers[: n_right // 2] = [(right_forms[0], True)] * (n_right // 2)
    answers += [(wrong_forms[i % len(wrong_forms)], False) for i in range(samples - n_right)]
    if samples - n_right > len(wrong_forms) and rng.random() < 0.4:
        answers[-1] = (None, False)  # one sample hits the length limit mid-thought
    rng.shuffle(answers)
    group = []
    for answer, correct in answers:
        response, shape = _generate_response(rng, problem, answer)
        group.append(
            Sample(index, problem.kind, problem.reference, response, answer, correct, shape)
        )
    return group


def _generate_response(rng: random.Random, problem: Problem, answer: str | None) -> tuple[str, str]:
    target = rng.randint(1000, 4000)
    parts: list[str] = [rng.choice(_OPENINGS).format(topic=problem.topic)]
    draft_at = rng.randint(2, 6) if rng.random() < 0.3 else -1
    shape = "clean"
    while sum(map(len, parts)) < target:
        if len(parts) == draft_at:
            draft = rng.choice(problem.wrong)
            parts.append(rng.choice(_DRAFTS).format(draft=draft))
            shape = "draft_box"
        else:
            parts.append(_reasoning_step(rng))
    if answer is None:
        # Cut off by the generation limit: the longest responses, ending mid-sentence.
        while sum(map(len, parts)) < _TRUNCATION_CHARS + 200:
            parts.append(_reasoning_step(rng))
        return "<think>\n" + "\n\n".join(parts)[:_TRUNCATION_CHARS], "truncated"
    parts.append(rng.choice(_CONCLUSIONS).format(answer=answer))
    summary = rng.choice(_SUMMARIES).format(
        answer=answer, a=rng.randint(2, 40), b=rng.randint(2, 40), topic=problem.topic
    )
    return "<think>\n" + "\n\n".join(parts) + "\n</think>\n\n" + summary, shape


_TRUNCATION_CHARS = 4096

_OPENINGS = (
    "Okay, so I need to solve this {topic} problem. Let me read it carefully and figure out "
    "what is being asked.",
    "Alright, let's see. The question asks for a {topic}, so I should set up the quantities "
    "first and be careful with the arithmetic.",
    "Hmm, this looks like a standard {topic} problem. Let me think about it step by step.",
)

_STEPS = (
    "First, compute ${a} \\times {b} = {ab}$. That gives the total for the first part.",
    "So we have ${a} + {b} = {apb}$, which means the remaining part is ${c}$.",
    "Wait, let me re-check that. If $x = {a}$, then $x^2 = {a2}$ and $2x = {a_2}$, so "
    "$x^2 + 2x = {a2p}$.",
    "Using the formula $\\frac{{n(n+1)}}{{2}}$ with $n = {a}$, the sum is ${tri}$.",
    "\\[\n{a}x + {b} = {rhs} \\implies x = \\frac{{{rhs} - {b}}}{{{a}}} = {c}\n\\]",
    "That doesn't look right. Let me try a different approach and go back to the definition.",
    "Let's verify with a specific case: plugging in $k = {c}$ gives $k^2 + 1 = {c2p1}$.",
    "So far the partial sum is ${s}$, and there are ${b}$ terms left to add.",
    "Okay, so the key insight is that the expression factors, which simplifies everything. "
    "The common factor is ${g}$, since $\\gcd({ab}, {bc}) = {g}$.",
    "Let me denote the unknown by $y$. Then $y = {a} - {b} = {amb}$, and doubling it gives "
    "${amb2}$.",
    "Hmm, but I should double-check the case where the denominator is zero: that happens at "
    "$x = {c}$, which is excluded.",
    "The area of the rectangle is ${a} \\cdot {b} = {ab}$ and the triangle has half of that, "
    "$\\frac{{{ab}}}{{2}}$.",
)

_DRAFTS = (
    "So the answer would be $\\boxed{{{draft}}}$. Hmm, wait. Let me double-check that, "
    "because I may have dropped a term.",
    "That suggests \\boxed{{{draft}}}, but I'm not sure the boundary case is handled. Let me "
    "redo this more carefully.",
)

_CONCLUSIONS = (
    "Putting it all together, the answer is ${answer}$. Let me just make sure everything is "
    "consistent... yes.",
    "So the final answer should be ${answer}$.",
    "Therefore the result is ${answer}$, which matches the check above.",
)

_SUMMARIES = (
    "The answer is $\\boxed{{{answer}}}$.",
    "**Final Answer**\n\\[\n\\boxed{{{answer}}}\n\\]",
    "To find the {topic}, we combine the two parts: ${a}$ and ${b}$ contribute to the count as "
    "computed above, and checking the edge cases confirms the result.\n\n"
    "Therefore, the final answer is $\\boxed{{{answer}}}$.",
    "### Solution\n1. Set up the equation from the given data.\n2. Simplify using the "
    "substitution found above ($y = {a}$).\n3. Solve and check.\n\nThus $\\boxed{{{answer}}}$.",
)


def _reasoning_step(rng: random.Random) -> str:
    a, b, c = rng.randint(2, 60), rng.randint(2, 60), rng.randint(2, 30)
    return rng.choice(_STEPS).format(
        a=a,
        b=b,
        c=c,
        ab=a * b,
        apb=a + b,
        a2=a * a,
        a_2=2 * a,
        a2p=a * a + 2 * a,
        tri=a * (a + 1) // 2,
        rhs=a * c + b,
        c2p1=c * c + 1,
        s=rng.randint(10, 999),
        g=math.gcd(a * b, b * c),
        bc=b * c,
        amb=a - b,
        amb2=2 * (a - b),
    )


# --- pathological inputs -------------------------------------------------------------------


def pathological_items() -> list[PathologicalItem]:
    """Inputs that make graders hang, blow up in memory or mis-read; a truth label where known."""

    def boxed(answer: str) -> str:
        return f"<think>\nLet me compute this.\n</think>\n\nThe answer is $\\boxed{{{answer}}}$."

    nested_frac = "1"
    for _ in range(200):
        nested_frac = f"\\frac{{1}}{{{nested_frac}}}"  # 200 reciprocals: equals 1
    big_matrix = _pmatrix([[(i * 31 + j * 17) % 100 for j in range(100)] for i in range(100)])
    big_matrix_other = big_matrix.replace(" 0 &", " 1 &", 1)
    return [
        PathologicalItem("tower 5^5^5^5^5", boxed("5^{5^{5^{5^5}}}"), "5^{3125}", False),
        PathologicalItem("tower 10^10^10^10", boxed("10^{10^{10^{10}}}"), "10^{10^{10}}", False),
        PathologicalItem("tower 9^9^9 = 9^387420489", boxed("9^{9^9}"), "9^{387420489}", True),
        PathologicalItem("1000000!", boxed("1000000!"), "1000000", False),
        PathologicalItem(
            "1/2004! vs 1/2006!", boxed("\\frac{1}{2004!}"), "\\frac{1}{2006!}", False
        ),
        PathologicalItem("(x+1)^100000", boxed("(x+1)^{100000}"), "x^{100000}+1", False),
        PathologicalItem(
            "10^10^10/(10^10^10-1)", boxed("\\frac{10^{10^{10}}}{10^{10^{10}}-1}"), "1", False
        ),
        PathologicalItem("sin(10^100)", boxed("\\sin(10^{100})"), "0", False),
        PathologicalItem("100 KB of digits", boxed("9" * 100_000), "9" * 99_999 + "8", False),
        PathologicalItem("5000 nested braces", boxed("{" * 5000 + "7" + "}" * 5000), "7", True),
        PathologicalItem("200 nested fractions", boxed(nested_frac), "1", True),
        PathologicalItem(
            "500 nested square roots", boxed("\\sqrt{" * 500 + "1" + "}" * 500), "1", True
        ),
        PathologicalItem("100x100 matrix", boxed(big_matrix_other), big_matrix, False),
        PathologicalItem("tower x^x^x^x^x", boxed("x^{x^{x^{x^{x}}}}"), "x^{x^{x^{x}}}", False),
        PathologicalItem("tower e^e^e^e^e", boxed("e^{e^{e^{e^{e}}}}"), "e^{e^{e^{e}}}", False),
        PathologicalItem(
            "binom(10^10, 5*10^9)", boxed("\\binom{10^{10}}{5 \\cdot 10^{9}}"), "1", False
        ),
        PathologicalItem("sum of 20000 ones", boxed("+".join(["1"] * 20_000)), "20000", True),
        PathologicalItem(
            "20000 boxed answers", "<think>x</think>" + "\\boxed{1} " * 20_000, "1", None
        ),
        PathologicalItem("unclosed braces", boxed("\\frac{" * 20_000), "1", False),
    ]


# --- helpers --------------------------------------------------------------------------------


def _check_problem(problem: Problem) -> None:
    """Catch a generator bug that would label a string both right and wrong."""
    clash = set(problem.right) & set(problem.wrong)
    if problem.reference not in problem.right or clash:
        raise ValueError(f"inconsistent labels for {problem.reference!r}: {sorted(clash)}")


def _distinct(rng: random.Random, forms: tuple[str, ...], count: int) -> list[str]:
    unique = list(dict.fromkeys(forms))
    first, rest = unique[0], unique[1:]
    rng.shuffle(rest)
    return [first, *rest][: max(1, count)]


def _terminates(q: int) -> bool:
    while q % 2 == 0:
        q //= 2
    while q % 5 == 0:
        q //= 5
    return q == 1


def _decimal(value: Fraction) -> str:
    text = f"{float(value):.6f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _signed(v: int) -> str:
    return f"+ {v}" if v >= 0 else f"- {-v}"


def _poly(linear: int, constant: int) -> str:
    terms = ["x^2"]
    if linear:
        terms.append(f"{_signed(linear)}x".replace(" 1x", " x"))
    if constant:
        terms.append(_signed(constant))
    return " ".join(terms)


def _poly_reversed(linear: int, constant: int) -> str:
    terms = [str(constant)] if constant else []
    if linear:
        terms.append(f"{_signed(linear)}x".replace(" 1x", " x") if terms else f"{linear}x")
    terms.append("+ x^2")
    return " ".join(terms)


def _pmatrix(rows: list[list[int]], *, env: str = "pmatrix", tight: bool = False) -> str:
    sep, newline = ("&", "\\\\") if tight else (" & ", " \\\\ ")
    body = newline.join(sep.join(map(str, row)) for row in rows)
    return (
        f"\\begin{{{env}}}{body}\\end{{{env}}}"
        if tight
        else (f"\\begin{{{env}}} {body} \\end{{{env}}}")
    )
