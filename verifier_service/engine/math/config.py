"""Options of the math grader: one frozen, hashable object so results can be cached by it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MathConfig:
    """How a response is read and compared.

    last_number_fallback: when no answer tag, box or "final answer" phrase is found, take the last
        number in the response. Off by default: for boxed-format tasks it rewards answers the
        model never committed to.
    """

    last_number_fallback: bool = False


DEFAULT_MATH_CONFIG = MathConfig()
