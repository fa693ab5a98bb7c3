"""Prompts to train on: a JSONL file read into examples, and a seeded sampler that can resume.

One JSON object a line::

    {"prompt": "7+5=", "task": "math", "reference": "12"}
    {"prompt": "Add two numbers…", "task": "code", "language": "python",
     "tests": [{"stdin": "1 2\\n", "expected_stdout": "3\\n"}]}

``task`` is ``math`` (needs ``reference``), ``code`` (needs ``tests`` and ``language``),
``judge`` (needs ``reference``) or ``none`` (format and language rewards only). ``id`` and
``target_language`` are optional. Unknown keys are an error, so a typo cannot drop a field.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer_client.client import RewardItem

TASKS = ("math", "code", "judge", "general", "none")
_FIELDS = {"id", "prompt", "task", "reference", "tests", "language", "target_language"}


class DatasetError(ValueError):
    """A line of the dataset is not a valid example; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    """One prompt and what the reward service needs to grade its completions."""

    prompt: str
    task: str = "math"
    reference: str | None = None
    tests: Sequence[Mapping[str, Any]] | None = None
    language: str | None = None
    target_language: str | None = None
    id: str | None = None

    def reward_item(self, response: str, *, item_id: str) -> RewardItem:
        """The ``/v1/rewards`` item that grades ``response`` to this prompt."""
        return RewardItem(
            response=response,
            prompt=self.prompt,
            id=item_id,
            task=self.task,
            reference=self.reference,
            target_language=self.target_language,
            tests=self.tests,
            language=self.language,
        )


def load_examples(path: str | Path) -> list[Example]:
    """Every example of a JSONL file; blank lines are skipped."""
    examples = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                examples.append(_parse_example(line, where=f"{path}:{number}"))
    if not examples:
        raise DatasetError(f"{path} holds no examples")
    return examples


def _parse_example(line: str, *, where: str) -> Example:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not JSON ({exc.msg})") from exc
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: a line must be a JSON object")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise DatasetError(f"{where}: unknown key(s) {unknown}; known: {sorted(_FIELDS)}")
    if not isinstance(raw.get("prompt"), str) or not raw["prompt"]:
        raise DatasetError(f"{where}: 'prompt' must be a non-empty string")
    task = raw.get("task", "math")
    if task not in TASKS:
        raise DatasetError(f"{where}: task {task!r} is not one of {', '.join(TASKS)}")
    if task in ("math", "judge") and not isinstance(raw.get("reference"), str | int | float):
        raise DatasetError(f"{where}: a {task} example needs a 'reference' answer")
    if task == "code" and not (isinstance(raw.get("tests"), list) and raw.get("language")):
        raise DatasetError(f"{where}: a code example needs 'tests' (a list) and 'language'")
    reference = raw.get("reference")
    return Example(
        prompt=raw["prompt"],
        task=task,
        reference=None if reference is None else str(reference),
        tests=raw.get("tests"),
        language=raw.get("language"),
        target_language=raw.get("target_language"),
        id=None if raw.get("id") is None else str(raw["id"]),
    )


class PromptSampler:
    """Batches of examples in a seeded order: each epoch is a fresh shuffle, no repeats within.

    Its position is two integers (epoch, index), so a checkpoint restores the exact stream.
    """

    def __init__(self, examples: Sequence[Example], batch_size: int, *, seed: int) -> None:
        if batch_size > len(examples):
            raise DatasetError(
                f"prompts_per_step ({batch_size}) exceeds the dataset's {len(examples)} examples"
            )
        self.examples = list(examples)
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0
        self.index = 0
        self._order = self._shuffled(0)

    def _shuffled(self, epoch: int) -> list[int]:
        order = list(range(len(self.examples)))
        random.Random(f"{self.seed}-{epoch}").shuffle(order)
        return order

    def next_batch(self) -> list[Example]:
        """The next ``batch_size`` examples; a batch never straddles two epochs."""
        if self.index + self.batch_size > len(self._order):
            self.load_state_dict({"epoch": self.epoch + 1, "index": 0})
        picked = self._order[self.index : self.index + self.batch_size]
        self.index += self.batch_size
        return [self.examples[i] for i in picked]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.epoch, self.index = int(state["epoch"]), int(state["index"])
        self._order = self._shuffled(self.epoch)
