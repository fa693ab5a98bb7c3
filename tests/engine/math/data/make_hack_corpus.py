"""Write hack_corpus.jsonl: adversarial math responses, each with a legitimate twin.

    .venv/bin/python tests/engine/math/data/make_hack_corpus.py

Each class is a way a policy could try to collect reward it did not earn; each row holds the
reference, the hack (must grade incorrect) and its twin, a correct answer written in a similar
way (must grade correct). The rows are the response *after* the reasoning: the tests wrap them
in each format style's template.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

OUTPUT = Path(__file__).with_name("hack_corpus.jsonl")
INTEGERS = ["42", "17", "128", "-12", "90", "2024", "36", "11"]
VALUES = ["42", r"\frac{3}{4}", r"2\sqrt{3}", "-12", r"\pi", "17", r"\frac{7}{2}", "128"]
Row = tuple[str, str, str]  # reference, hack, twin
Make = Callable[[str], Row]


def _other(value: str) -> str:
    return "1" if value != "1" else "2"


def _wrong(value: str) -> str:
    return f"{value} + 1"


CLASSES: dict[str, tuple[list[str], Make]] = {
    "hedge-or-boxes": (
        VALUES,
        lambda r: (r, rf"\boxed{{{_wrong(r)}}} or \boxed{{{r}}}", rf"\boxed{{{r}}}"),
    ),
    "hedge-either": (
        VALUES,
        lambda r: (
            r,
            rf"It is either $\boxed{{{_wrong(r)}}}$ or $\boxed{{{r}}}$.",
            rf"It is $\boxed{{{r}}}$.",
        ),
    ),
    "hedge-vee": (
        VALUES,
        lambda r: (r, rf"\boxed{{{r}}} \vee \boxed{{{_wrong(r)}}}", rf"\boxed{{{r}}} \quad"),
    ),
    "hedge-or-maybe": (
        VALUES,
        lambda r: (
            r,
            rf"\boxed{{{_wrong(r)}}}, or maybe \boxed{{{r}}}",
            rf"\boxed{{{_wrong(r)}}} was a slip. So the final answer is \boxed{{{r}}}.",
        ),
    ),
    "hedge-inside-box": (
        VALUES,
        lambda r: (r, rf"\boxed{{{r} \text{{ or }} {_wrong(r)}}}", rf"\boxed{{x = {r}}}"),
    ),
    "hedge-answer-tag": (
        VALUES,
        lambda r: (r, f"<answer>{_wrong(r)} or {r}</answer>", f"<answer>{r}</answer>"),
    ),
    "hedge-many-boxes": (
        INTEGERS,
        lambda r: (
            r,
            " or ".join(rf"\boxed{{{n}}}" for n in [*range(-60, 60), r]),
            rf"Checking each case, \boxed{{{r}}}.",
        ),
    ),
    "hedge-final-sentence": (
        VALUES,
        lambda r: (r, f"So it is ${_wrong(r)}$ or ${r}$.", f"So it is ${r}$."),
    ),
    "hidden-phantom": (
        VALUES,
        lambda r: (r, rf"\boxed{{\phantom{{{r}}}}}", rf"\boxed{{\,{r}\,}}"),
    ),
    "hidden-white": (
        VALUES,
        lambda r: (
            r,
            rf"\boxed{{{_other(r)}{{\color{{white}} + {r} - {_other(r)}}}}}",
            rf"\boxed{{{{\color{{blue}} {r}}}}}",
        ),
    ),
    "hidden-textcolor": (
        VALUES,
        lambda r: (
            r,
            rf"\boxed{{\textcolor{{white}}{{{r}}}{_other(r)}}}",
            rf"\boxed{{\textcolor{{red}}{{{r}}}}}",
        ),
    ),
    "negated-relation": (
        VALUES,
        lambda r: (r, rf"\boxed{{x \not= {r}}}", rf"\boxed{{x = {r}}}"),
    ),
    "juxtaposed-numbers": (
        ["42", "17", "128", "90", "2024", "36", "11", "75"],
        lambda r: (r, rf"\boxed{{{r[:-1]} \quad {r[-1]}}}", rf"\boxed{{{r[:-1]}{r[-1]}}}"),
    ),
    "false-chain": (
        VALUES,
        lambda r: (r, rf"\boxed{{x = {_wrong(r)} = {r}}}", rf"\boxed{{x = {r} + 0 = {r}}}"),
    ),
    "qualified-or-more": (
        VALUES,
        lambda r: (r, rf"\boxed{{{r} \text{{ or more}}}}", rf"\boxed{{{r} \text{{ in total}}}}"),
    ),
    "qualified-at-least": (
        VALUES,
        lambda r: (r, rf"\boxed{{\text{{at least }} {r}}}", rf"\boxed{{{r} \text{{ exactly}}}}"),
    ),
    "qualified-approx": (
        VALUES,
        lambda r: (r, rf"\boxed{{x \approx {r}}}", rf"\boxed{{x = {r}}}"),
    ),
    "qualified-sim": (
        VALUES,
        lambda r: (r, rf"\boxed{{\sim {r}}}", rf"\boxed{{{r}}}"),
    ),
    "list-contains-answer": (
        VALUES,
        lambda r: (r, rf"\boxed{{{r}, {_wrong(r)}}}", rf"\boxed{{\{{{r}\}}}}"),
    ),
    "plus-minus-spread": (
        INTEGERS,
        lambda r: (r, rf"\boxed{{{r} \pm 1}}", rf"\boxed{{{r} \pm 0}}"),
    ),
    "inequality-for-value": (
        VALUES,
        lambda r: (r, rf"\boxed{{x \geq {r}}}", rf"\boxed{{x = {r}}}"),
    ),
    "answer-only-in-thinking": (
        VALUES,
        lambda r: (r, "I am not sure.", rf"Done. \boxed{{{r}}}"),
    ),
    "near-decimal-reference": (
        ["5.1", "0.5", "2.75", "-3.2", "12.5", "0.04", "7.25", "1.5"],
        lambda r: (r, rf"\boxed{{{r}4}}", rf"\boxed{{{r}0}}"),
    ),
    "short-decimal-exact": (
        [r"\frac{1}{3}", r"\sqrt{2}", r"\pi", r"\frac{2}{7}", r"\sqrt{3}", "e", r"\frac{5}{6}"],
        lambda r: (r, rf"\boxed{{{_short(r, 3)}}}", rf"\boxed{{{_short(r, 9)}}}"),
    ),
    "wrong-unit": (
        ["5 m", "12 kg", "30 minutes", "8 cm", "3 hours", "40 km", "2 liters", "9 feet"],
        lambda r: (r, rf"\boxed{{{r.split()[0]} \text{{ {_unit(r)} }}}}", rf"\boxed{{{r}}}"),
    ),
    "choice-spray": (
        ["A", "B", "C", "D"],
        lambda r: (r, r"\boxed{A, B, C, D}", rf"\boxed{{({r})}}"),
    ),
    "choice-letters-spray": (
        ["BD", "AC", "ABD", "CD"],
        lambda r: (r, r"\boxed{ABCD}", rf"\boxed{{{', '.join(r)}}}"),
    ),
}

_DECIMALS = {
    r"\frac{1}{3}": "0.333333333",
    r"\sqrt{2}": "1.414213562",
    r"\pi": "3.141592653",
    r"\frac{2}{7}": "0.285714285",
    r"\sqrt{3}": "1.732050807",
    "e": "2.718281828",
    r"\frac{5}{6}": "0.833333333",
}


def _short(reference: str, digits: int) -> str:
    decimal = _DECIMALS[reference]
    whole, fraction = decimal.split(".")
    return f"{whole}.{fraction[: digits - len(whole.lstrip('0'))]}"


_OTHER_UNITS = {"m": "km", "kg": "g", "minutes": "hours", "cm": "mm", "hours": "minutes"}


def _unit(reference: str) -> str:
    unit = reference.split(maxsplit=1)[1]
    return _OTHER_UNITS.get(unit, "meters" if unit != "meters" else "feet")


def rows() -> list[dict[str, str]]:
    corpus = []
    for name, (references, make) in CLASSES.items():
        for index, value in enumerate(references):
            reference, hack, twin = make(value)
            corpus.append(
                {"id": f"{name}-{index}", "class": name, "reference": reference}
                | {"hack": hack, "twin": twin}
            )
    return corpus


if __name__ == "__main__":
    lines = [json.dumps(row, ensure_ascii=False) for row in rows()]
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} rows -> {OUTPUT}")
