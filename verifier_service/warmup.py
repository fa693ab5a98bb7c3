"""Warms the graders' lazily built state before grading workers are forked.

The LaTeX parser (ANTLR) builds its prediction tables on first use of each construct, and sympy
fills its caches the same way: the first ``\\frac``, ``\\sqrt`` or polynomial a process sees
costs 10-100 times the later ones. The worker pool's fork server imports this module once, so
every worker (and every replacement of a killed one) is forked already warm.
"""

from __future__ import annotations

from verifier_service.engine.language import language_consistency
from verifier_service.engine.math import verify

# One of each construct answers commonly use; the answers differ from the references so the
# comparison rules run too, not only the "identical text" shortcut.
_SAMPLES = (
    ("\\boxed{\\frac{1}{2}}", "0.5"),
    ("\\boxed{\\dfrac{3}{4}}", "\\frac{3}{5}"),
    ("\\boxed{2\\sqrt{3}}", "\\sqrt{12}"),
    ("\\boxed{\\frac{\\sqrt{10}}{10}}", "\\frac{1}{\\sqrt{10}}"),
    ("\\boxed{x^2 - 30x + 1}", "x^2 + x - 30"),
    ("\\boxed{(x + 5)(x - 6)}", "x^2 - x - 30"),
    ("\\boxed{\\{1, -2\\}}", "-2, 1"),
    ("\\boxed{[1, 4)}", "1 \\le x < 4"),
    ("\\boxed{(1, \\infty)}", "(1, \\infty)"),
    ("\\boxed{(3, -2)}", "(3, -1)"),
    (
        "\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}",
        "\\begin{bmatrix}1&2\\\\3&5\\end{bmatrix}",
    ),
    ("\\boxed{x = 4}", "4"),
    ("\\boxed{\\pi}", "\\frac{\\pi}{2}"),
    ("\\boxed{e^{2}}", "\\ln 2"),
    ("\\boxed{\\sin x}", "\\cos x"),
    ("\\boxed{\\text{(C)}}", "C"),
    ("\\boxed{45^\\circ}", "45"),
    ("\\boxed{12\\%}", "12"),
    ("\\boxed{3.14}", "3.1416"),
    ("\\boxed{\\binom{5}{2}}", "10"),
)


def warm_up() -> None:
    """Grade one sample of each construct (results are discarded)."""
    for response, reference in _SAMPLES:
        verify(response, reference)
    # Loads the language-ID model once, here, instead of once per worker.
    language_consistency("<think>Let me check this step by step.</think>", target="en")


warm_up()
