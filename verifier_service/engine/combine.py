"""Combining reward components (accuracy, format, language, …) into one scalar reward.

The reward is the weighted sum of the components that are present:

- a component with no entry in ``weights`` gets weight 1.0, because the DeepSeek-R1 paper sums
  its rewards (accuracy plus language consistency) without scaling them;
- a weight for a component that is absent is ignored: components are present only when they
  apply to the item (no accuracy for ``task="none"``), and a missing component contributes
  nothing rather than a zero that would drag the reward down.

Non-finite values are errors, not rewards: a NaN would silently poison a whole GRPO group.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from verifier_service.errors import InvalidInputError

__all__ = ["DEFAULT_WEIGHTS", "combine_components"]

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"accuracy": 1.0, "format": 1.0, "language": 1.0}
)
"""The weights used when a request names none (read-only; copy it with ``dict()`` to edit)."""

_ABSENT_WEIGHT = 1.0


def combine_components(components: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Return the weighted sum of ``components``; unnamed components weigh 1.0.

    Raises InvalidInputError when a component or a weight is NaN or infinite.
    """
    for name, weight in weights.items():
        if not math.isfinite(weight):
            raise InvalidInputError(f"weight {name!r} must be a finite number, got {weight!r}")
    total = 0.0
    for name, value in components.items():
        if not math.isfinite(value):
            raise InvalidInputError(f"component {name!r} must be a finite number, got {value!r}")
        total += weights.get(name, _ABSENT_WEIGHT) * value
    return total
