"""Responses and tests shared by the adapter tests."""

from __future__ import annotations

RIGHT = "<think>2 and 2 make 4</think> The answer is \\boxed{4}."
WRONG = "<think>2 and 2 make 5</think> The answer is \\boxed{5}."
NO_FORMAT = "The answer is \\boxed{4}."
ADD_PROGRAM = (
    "<think>read two ints</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
)
ADD_TESTS = [
    {"stdin": "1 2\n", "expected_stdout": "3\n"},
    {"stdin": "5 5\n", "expected_stdout": "10\n"},
]
