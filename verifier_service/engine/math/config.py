"""Options of the math grader: one frozen, hashable object so results can be cached by it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MathConfig:
    """How a response is read and compared.

    last_number_fallback: when no answer tag, box, "final answer" phrase, math block or number
        is found in the final sentence, take the last number anywhere. Off by default: for
        boxed-format tasks it rewards answers the model never committed to.
    allow_set_relation_comp: kept for compatibility; since 2.0.0 an inequality and the interval
        it defines are equal either way round whatever its value.
    rounded_decimal_places: when set, a predicted decimal written with at least this many places
        matches an exact reference it correctly rounds (``0.3333`` for ``\\frac13`` when 4 or
        fewer). None (the default): only a decimal of 6+ significant digits may stand for an
        exact value.
    max_answer_chars: answers longer than this are refused before parsing.
    max_power_depth: towers of powers deeper than this (``5^{5^{5}}`` is 3) are refused.
    max_exponent: a numeric exponent larger than this in absolute value is refused.
    max_factorial: ``n!`` or ``\\binom{n}{k}`` with a literal n above this is refused.
    """

    last_number_fallback: bool = False
    allow_set_relation_comp: bool = False
    rounded_decimal_places: int | None = None
    max_answer_chars: int = 1000
    max_power_depth: int = 2
    max_exponent: int = 10_000
    max_factorial: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_answer_chars", "max_power_depth", "max_exponent", "max_factorial"):
            if getattr(self, name) < 1:
                raise ValueError(f"MathConfig.{name} must be at least 1")
        if self.rounded_decimal_places is not None and self.rounded_decimal_places < 1:
            raise ValueError("MathConfig.rounded_decimal_places must be None or at least 1")


DEFAULT_MATH_CONFIG = MathConfig()
