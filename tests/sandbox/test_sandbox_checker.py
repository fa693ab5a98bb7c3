"""What the checker keeps of the old same-interpreter semantics: values, objects, exceptions."""

from __future__ import annotations

import pytest

from sandbox import AssertTest, CallTest, Limits, Verdict

LIMITS = Limits(time_s=2, wall_time_s=4, memory_mb=128)

SOLUTION = """
class Stack:
    def __init__(self, *items):
        self.items = list(items)
    def push(self, value):
        self.items.append(value)
        return self
    def pop(self):
        if not self.items:
            raise IndexError("pop from an empty stack")
        return self.items.pop()
    def __len__(self):
        return len(self.items)
    def __iter__(self):
        return iter(self.items)
    def __getitem__(self, index):
        return self.items[index]

class Node:
    def __init__(self, value, next=None):
        self.value, self.next = value, next

def to_list(node):
    out = []
    while node is not None:
        out.append(node.value)
        node = node.next
    return out

class TooSmall(ValueError):
    pass

def check_size(n):
    if n < 0:
        raise TooSmall(f"{n} is negative")
    return n

def values():
    return (1, 2.5, "x", None, True, [1, (2, 3)], {1: "a", "b": [2]}, {1, 2}, frozenset({3}),
            b"\\x00\\xff", 1 + 2j, 10 ** 200, -0.0)

def third():
    return 0.1 + 0.2

def squares(n):
    return (i * i for i in range(n))

def nan():
    return float("nan")
"""

ASSERT_CASES = [
    (
        "stateful object",
        "s = Stack()\ns.push(1)\ns.push((2, 3)).push('x')\nassert len(s) == 3\n"
        "assert s.pop() == 'x' and s.pop() == (2, 3)\nassert s.items == [1]\n"
        "assert list(s) == [1] and s[0] == 1 and bool(s)\ns.items = [7, 8]\nassert s.pop() == 8\n",
    ),
    (
        "two objects of the program",
        "a, b = Stack(1), Stack(2)\nassert a == a and a != b and a in [a] and len({a, b}) == 2\n",
    ),
    (
        "program objects passed back in",
        "head = Node(1, Node(2, Node(3)))\nassert to_list(head) == [1, 2, 3]\n"
        "assert head.next.value == 2\n",
    ),
    (
        "plain values keep their types",
        "v = values()\nassert type(v) is tuple and v[:5] == (1, 2.5, 'x', None, True)\n"
        "assert v[5] == [1, (2, 3)] and type(v[5][1]) is tuple\n"
        "assert v[6] == {1: 'a', 'b': [2]} and v[7] == {1, 2} and v[8] == frozenset({3})\n"
        "assert v[9] == b'\\x00\\xff' and v[10] == 1 + 2j and v[11] == 10 ** 200\n"
        "import math\nassert math.copysign(1, v[12]) == -1\n",
    ),
    ("floats compare as written", "assert third() != 0.3\nassert abs(third() - 0.3) < 1e-9\n"),
    ("nan is nan", "import math\nassert math.isnan(nan()) and nan() != nan()\n"),
    (
        "generators iterate",
        "assert list(squares(4)) == [0, 1, 4, 9]\nassert sum(squares(3)) == 5\n",
    ),
    (
        "exceptions cross with type and message",
        "try:\n    Stack().pop()\n    raise RuntimeError('no exception')\n"
        "except IndexError as e:\n    assert str(e) == 'pop from an empty stack'\n"
        "try:\n    check_size(-1)\nexcept ValueError as e:\n"
        "    assert type(e).__name__ == 'TooSmall' and e.args == ('-1 is negative',)\n"
        "try:\n    check_size('a')\nexcept TypeError:\n    pass\n"
        "assert check_size(3) == 3\n",
    ),
    (
        "pytest.raises-style helper",
        "class raises:\n    def __init__(self, kind):\n        self.kind = kind\n"
        "    def __enter__(self):\n        return self\n"
        "    def __exit__(self, kind, value, tb):\n"
        "        assert kind is not None and issubclass(kind, self.kind), kind\n"
        "        return True\n"
        "with raises(ValueError):\n    check_size(-5)\n"
        "with raises(KeyError):\n    values()[6][2]\n",
    ),
    (
        "keyword arguments",
        "assert Stack(*[1, 2]).pop() == 2\nassert check_size(n=4) == 4\n",
    ),
]


@pytest.mark.parametrize(
    "test_code", [c[1] for c in ASSERT_CASES], ids=[c[0] for c in ASSERT_CASES]
)
def test_checker_assert_semantics(docker, test_code: str) -> None:
    result = docker.run("python", SOLUTION, [AssertTest(test_code)], LIMITS)
    assert result.verdict is Verdict.AC, (result.reason, result.tests[0].stderr)


FAILING = [
    ("wrong value", "assert third() == 0.3\n", Verdict.WA, "AssertionError"),
    ("uncaught program exception", "check_size(-1)\n", Verdict.RE, "TooSmall: -1 is negative"),
    ("missing name", "undefined_thing()\n", Verdict.RE, "NameError"),
    ("object used as a number", "assert Stack() + 1\n", Verdict.RE, "TypeError"),
    (
        "test code passes an unsendable value",
        "check_size(lambda: 1)\n",
        Verdict.RE,
        "cannot be passed to the program",
    ),
]


@pytest.mark.parametrize(
    ("test_code", "verdict", "reason"), [c[1:] for c in FAILING], ids=[c[0] for c in FAILING]
)
def test_checker_failures(docker, test_code: str, verdict: Verdict, reason: str) -> None:
    result = docker.run("python", SOLUTION, [AssertTest(test_code)], LIMITS)
    assert result.verdict is verdict, result.reason
    assert reason in result.reason


def test_checker_memory_error_in_a_call_is_mle(docker) -> None:
    code = "def grow():\n    x = []\n    while True:\n        x.append(bytearray(1 << 20))\n"
    result = docker.run("python", code, [AssertTest("grow()\n")], LIMITS)
    assert result.verdict is Verdict.MLE, result.reason


def test_checker_call_tests_keep_their_verdicts(docker) -> None:
    tests = [
        CallTest("check_size", [3], 3),
        CallTest("values", [], None),
        CallTest("third", [], 0.30000000000000004),
        CallTest("check_size", [-1], 0),
        CallTest("Stack", [], []),
    ]
    result = docker.run("python", SOLUTION, tests, LIMITS)
    verdicts = [t.verdict for t in result.tests]
    assert verdicts == [Verdict.AC, Verdict.WA, Verdict.AC, Verdict.RE, Verdict.WA], result
    assert "not JSON" in result.tests[1].reason and "Stack" in result.tests[4].reason
    assert "TooSmall" in result.tests[3].reason
