"""The demo's task: a two-digit number plus or minus one digit, with no carry and no borrow.

``34+5=`` is answered ``<think>4+5=9</think>\\boxed{39}``: the reasoning works the units
column, the answer writes the tens digit and that result. Every units fact (``4+5=9``) occurs
under every tens digit, so prompts held out of training ask for facts the model can learn from
the others. 990 problems in all.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """``tens·10 + units  op  digit``, with ``units op digit`` in 0..9."""

    left: int
    op: str
    digit: int

    @property
    def prompt(self) -> str:
        return f"{self.left}{self.op}{self.digit}="

    @property
    def answer(self) -> int:
        return self.left + self.digit if self.op == "+" else self.left - self.digit

    def solution(self, *, answer: int | None = None, think: bool = True) -> str:
        """The completion that reaches ``answer`` (default: the right one)."""
        answer = self.answer if answer is None else answer
        units = self.left % 10
        boxed = f"\\boxed{{{answer}}}"
        return (
            f"<think>{units}{self.op}{self.digit}={answer % 10}</think>{boxed}" if think else boxed
        )


def all_problems() -> list[Problem]:
    problems = []
    for left in range(10, 100):
        for digit in range(10):
            if left % 10 + digit <= 9:
                problems.append(Problem(left, "+", digit))
            if left % 10 >= digit:
                problems.append(Problem(left, "-", digit))
    return problems


@dataclass(frozen=True)
class Split:
    """Disjoint prompt sets: cold-start SFT ⊂ RL training; held-out shares none with either."""

    sft: list[Problem]
    train: list[Problem]
    held_out: list[Problem]


def split_problems(*, seed: int, held_out: int, sft: int) -> Split:
    problems = all_problems()
    random.Random(seed).shuffle(problems)
    train = problems[held_out:]
    return Split(sft=train[:sft], train=train, held_out=problems[:held_out])


def cold_start_texts(
    problems: Sequence[Problem], *, seed: int, slip_rate: float, plain_rate: float
) -> list[tuple[str, str]]:
    """(prompt, completion) pairs of a careless annotator.

    With probability ``slip_rate`` the units result is one too many (the reasoning and the
    answer agree on the slip; a units result of 9 is left right, the tens cannot change).
    With probability ``plain_rate`` the reasoning is left out (just the boxed answer), so the
    format reward has something to teach too.
    """
    rng = random.Random(seed)
    pairs = []
    for problem in problems:
        answer = problem.answer
        if rng.random() < slip_rate and answer % 10 != 9:
            answer += 1
        think = rng.random() >= plain_rate
        pairs.append((problem.prompt, problem.solution(answer=answer, think=think)))
    return pairs


def write_prompts(problems: Sequence[Problem], path: Path) -> Path:
    """The trainer's JSONL: one math example per problem, graded against its answer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for problem in problems:
            row = {"prompt": problem.prompt, "task": "math", "reference": str(problem.answer)}
            out.write(json.dumps(row) + "\n")
    return path
