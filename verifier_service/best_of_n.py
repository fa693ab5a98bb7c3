"""Best-of-n selection for rejection sampling on general data: one answer kept per prompt.

The input is JSONL, one sample a line: ``{"prompt", "response"}`` (``prompt_id`` groups the
samples of one prompt when given, else the prompt text does). The answers of a prompt play a
knockout: the current best meets each next answer through ``/v1/preference``; the challenger
takes over when it is preferred for harmlessness, or when harmlessness is a tie (or not
configured) and it is preferred for helpfulness. A tie on both, or an error, keeps the current
best: a sample is never chosen on a scorer's failure. Each round is one batched call for all
prompts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from verifier_service.evaluation import InputLine, read_lines

__all__ = ["BestOfNReport", "ComparePairs", "best_of_n_file", "challenger_wins"]

# (prompt, answer A, answer B) per pair → /v1/preference results, in order.
ComparePairs = Callable[[list[tuple[str, str, str]]], Awaitable[list[dict[str, Any]]]]

_ORDER = ("harmlessness", "helpfulness")


@dataclass(frozen=True)
class BestOfNReport:
    """What a best-of-n run read, kept and why it dropped the rest."""

    lines: int
    prompts: int
    kept: int
    invalid: tuple[tuple[int, str], ...]
    comparisons: int


def challenger_wins(result: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether answer B (the challenger) beats A, and the component that decided."""
    components = result.get("components") or {}
    for name in _ORDER:
        verdict = components.get(name)
        if not verdict or verdict.get("error") or verdict.get("preferred") in (None, "tie"):
            continue
        return verdict["preferred"] == "B", name
    return False, "tie"


async def best_of_n_file(
    source: Path, kept: IO[str], dropped: IO[str] | None, compare: ComparePairs
) -> BestOfNReport:
    """Keep the best line of each prompt verbatim in ``kept``; the others go to ``dropped``."""
    groups: dict[str, list[InputLine]] = {}
    invalid: list[tuple[int, str]] = []
    total = 0
    for line in read_lines(source, required=("prompt", "response")):
        total += 1
        if line.problem is not None or line.record is None:
            invalid.append((line.number, line.problem or f"line {line.number} is unusable"))
            continue
        key = str(line.record.get("prompt_id", line.record["prompt"]))
        groups.setdefault(key, []).append(line)
    best, decided, comparisons = await _knockout(list(groups.values()), compare)
    for group, winner in zip(groups.values(), best, strict=True):
        kept.write(group[winner].raw + "\n")
        if dropped is not None:
            for index, line in enumerate(group):
                if index != winner:
                    record = {"line": line.number, "reasons": ["not_best"], "record": line.record}
                    record["details"] = {"kept_line": group[winner].number, **decided[line.number]}
                    dropped.write(json.dumps(record, ensure_ascii=False) + "\n")
    return BestOfNReport(total, len(groups), len(groups), tuple(invalid), comparisons)


async def _knockout(
    groups: Sequence[list[InputLine]], compare: ComparePairs
) -> tuple[list[int], dict[int, dict[str, Any]], int]:
    best = [0] * len(groups)
    decided: dict[int, dict[str, Any]] = {}
    comparisons = 0
    for challenger in range(1, max((len(g) for g in groups), default=0)):
        playing = [i for i, group in enumerate(groups) if challenger < len(group)]
        pairs = [
            (
                _text(groups[i][best[i]], "prompt"),
                _text(groups[i][best[i]], "response"),
                _text(groups[i][challenger], "response"),
            )
            for i in playing
        ]
        results = await compare(pairs)
        comparisons += len(pairs)
        for i, result in zip(playing, results, strict=True):
            wins, by = challenger_wins(result)
            loser = best[i] if wins else challenger
            decided[groups[i][loser].number] = {"decided_by": by}
            if wins:
                best[i] = challenger
    return best, decided, comparisons


def _text(line: InputLine, name: str) -> str:
    record = line.record or {}
    return str(record[name])
