"""A second math grader for audits: Math-Verify, called the way verl and TRL call it.

The audit needs an opinion that does not share this project's extraction or rules, so it asks
the field's reference grader on the whole response (its own extraction finds the answer). Its
timeouts (``signal.alarm``) are switched off: the call runs in a killable worker process, which
is the only limit that holds for C code inside sympy.
"""

from __future__ import annotations

import logging

# Math-Verify warns on every call that its own timeouts are off; the worker's limit stands in.
logging.getLogger("math_verify").setLevel(logging.ERROR)


def math_verify_accepts(response: str, reference: str) -> bool:
    """Math-Verify's verdict on ``response`` for ``reference`` (boxed, as verl does)."""
    from math_verify import parse, verify  # the [audit] extra: only audits need it

    gold = parse("\\boxed{" + reference + "}", parsing_timeout=None)
    answer = parse(response, parsing_timeout=None)
    return bool(verify(gold, answer, timeout_seconds=None))
