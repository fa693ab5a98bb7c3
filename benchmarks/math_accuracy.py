"""Accuracy side by side: this project's math grader and Math-Verify 0.9.0 on two corpora.

1. The external conformance corpus (``tests/conformance/cases.jsonl``): grader test cases of eight
   other projects, scored against each source's own label, per source repository.
2. The hack corpus (``tests/engine/math/data/hack_corpus.jsonl``): adversarial responses that
   must be refused and their legitimate twins that must be paid, per class.

This project grades each row as ``tests/conformance/grading.py`` says (whole pipeline for
responses, parse and compare for bare answers). Math-Verify is called the way its own tests and
verl/TRL call it: ``verify(parse(gold), parse(pred))`` in process, with the row's ``precision``
(``float_rounding``), ``allow_set_relation_comp`` and ``strict`` where the source set them;
bare answers and hack references are wrapped in ``$…$`` for its extractor.

Usage:
    .venv/bin/python benchmarks/math_accuracy.py [--json OUT] [--markdown]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from verifier_service.engine.math import verify as our_verify

REPO = Path(__file__).resolve().parent.parent
GRADING = REPO / "tests" / "conformance" / "grading.py"
HACKS = REPO / "tests" / "engine" / "math" / "data" / "hack_corpus.jsonl"


def _load_grading() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_conformance_grading", GRADING)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Tally:
    """Verdicts against labels: a false positive pays a case labelled wrong, a false negative
    refuses one labelled right (an error or invalid reference counts as 'not correct')."""

    cases: int = 0
    right: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    disputed_disagreements: int = 0

    def add(self, label: int, verdict: object, *, disputed: bool = False) -> None:
        said = verdict == 1
        self.cases += 1
        if said == bool(label):
            self.right += 1
            return
        self.false_positives += said
        self.false_negatives += not said
        self.disputed_disagreements += disputed

    @property
    def accuracy(self) -> float:
        return self.right / self.cases if self.cases else 0.0


@dataclass
class Report:
    conformance: dict[str, dict[str, Tally]] = field(default_factory=dict)
    hacks: dict[str, dict[str, Tally]] = field(default_factory=dict)


def math_verify_grader() -> Callable[[str, str, dict[str, Any]], int]:
    from math_verify import parse, verify

    def grade(gold: str, pred: str, options: dict[str, Any]) -> int:
        try:
            return int(
                verify(
                    parse(gold),
                    parse(pred),
                    float_rounding=options.get("precision") or 6,
                    strict=options.get("strict", True),
                    allow_set_relation_comp=bool(options.get("allow_set_relation_comp", False)),
                )
            )
        except Exception:  # a peer crash is a 'not correct' verdict
            return 0

    return grade


def _dollars(text: str) -> str:
    return text if "$" in text or "\\boxed" in text else f"${text}$"


def run_conformance(grading: ModuleType, peer: Callable[..., int]) -> dict[str, dict[str, Tally]]:
    ours: dict[str, Tally] = defaultdict(Tally)
    theirs: dict[str, Tally] = defaultdict(Tally)
    for row in grading.load_rows():
        category = row["repo"]
        disputed = bool(row.get("disputed"))
        verdict = grading.our_verdict(row)
        gold, pred = row["gold"], row["pred"]
        if row["mode"] == "answer":
            gold, pred = _dollars(gold), _dollars(pred)
        peer_verdict = peer(gold, pred, row)
        for tallies, said in ((ours, verdict), (theirs, peer_verdict)):
            for key in (category, "all"):
                tallies[key].add(row["expected"], said, disputed=disputed)
    return {"this project": dict(ours), "Math-Verify 0.9.0": dict(theirs)}


def run_hacks(peer: Callable[..., int]) -> dict[str, dict[str, Tally]]:
    ours: dict[str, Tally] = defaultdict(Tally)
    theirs: dict[str, Tally] = defaultdict(Tally)
    rows = [json.loads(line) for line in HACKS.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        for kind, label in (("hack", 0), ("twin", 1)):
            said = int(our_verify(row[kind], row["reference"]).correct)
            peer_said = peer(_dollars(row["reference"]), row[kind], {})
            for tallies, verdict in ((ours, said), (theirs, peer_said)):
                for key in (row["class"], "all hacks" if kind == "hack" else "all twins"):
                    tallies[key].add(label, verdict)
    return {"this project": dict(ours), "Math-Verify 0.9.0": dict(theirs)}


def _lines(title: str, results: dict[str, dict[str, Tally]], order: Iterable[str]) -> list[str]:
    graders = list(results)
    head = "| " + title + " | cases | " + " | ".join(f"{g} acc | FP | FN" for g in graders) + " |"
    lines = [head, "|" + "---|" * (2 + 3 * len(graders))]
    for key in order:
        cells = []
        for grader in graders:
            tally = results[grader][key]
            cells += [
                f"{tally.accuracy:.1%}",
                str(tally.false_positives),
                str(tally.false_negatives),
            ]
        cases = results[graders[0]][key].cases
        lines.append(f"| {key} | {cases} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    grading = _load_grading()
    peer = math_verify_grader()
    report = Report(conformance=run_conformance(grading, peer), hacks=run_hacks(peer))

    ours = report.conformance["this project"]
    keys = [*sorted((k for k in ours if k != "all"), key=lambda k: -ours[k].cases), "all"]
    print("\n".join(_lines("conformance source", report.conformance, keys)))
    hack_keys = sorted(k for k in report.hacks["this project"] if not k.startswith("all"))
    print()
    print("\n".join(_lines("hack class", report.hacks, [*hack_keys, "all hacks", "all twins"])))
    mine, peer_all = ours["all"], report.conformance["Math-Verify 0.9.0"]["all"]
    print(
        f"\nconformance: this project {mine.accuracy:.1%} ({mine.false_positives} FP, "
        f"{mine.false_negatives} FN; {mine.disputed_disagreements} of its disagreements are on "
        f"disputed labels), Math-Verify {peer_all.accuracy:.1%} ({peer_all.false_positives} FP, "
        f"{peer_all.false_negatives} FN); difference "
        f"{100 * (mine.accuracy - peer_all.accuracy):+.1f} points"
    )
    hacks_ours = report.hacks["this project"]
    hacks_peer = report.hacks["Math-Verify 0.9.0"]
    print(
        f"hacks paid: this project {hacks_ours['all hacks'].false_positives}, Math-Verify "
        f"{hacks_peer['all hacks'].false_positives} of {hacks_ours['all hacks'].cases}; twins "
        f"refused: this project {hacks_ours['all twins'].false_negatives}, Math-Verify "
        f"{hacks_peer['all twins'].false_negatives} of {hacks_ours['all twins'].cases}"
    )
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
