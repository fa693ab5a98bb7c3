"""The audit's arithmetic and the offline ``verifier audit`` command on stored rollouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier_service.audit import direction, wilson_interval
from verifier_service.cli import main
from verifier_service.golden import load_golden_file
from verifier_service.rollout_audit import Regraded, Rollout, categorise, read_rollouts
from verifier_service.version import GRADER_VERSION


@pytest.mark.parametrize(
    ("hits", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # reference values of the Wilson score interval at 95%
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (1, 100, 0.0018, 0.0545),
    ],
)
def test_wilson_interval_matches_reference_values(
    hits: int, n: int, low: float, high: float
) -> None:
    interval = wilson_interval(hits, n)
    assert interval.estimate == hits / n
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)


def test_wilson_interval_without_trials_has_no_estimate() -> None:
    assert wilson_interval(0, 0).as_dict() == {
        "hits": 0,
        "n": 0,
        "estimate": None,
        "low": None,
        "high": None,
    }


@pytest.mark.parametrize(
    ("rules", "second", "accepts", "expected"),
    [
        (True, "judge", True, "agree"),
        (False, "judge", False, "agree"),
        (False, "judge", True, "rules_reject_judge_accepts"),
        (True, "math_verify", False, "rules_accept_math_verify_rejects"),
    ],
)
def test_direction_names_which_way_the_verifiers_part(
    rules: bool, second: str, accepts: bool, expected: str
) -> None:
    assert direction(rules, second, accepts) == expected


def test_read_rollouts_takes_common_field_names_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "rollouts.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"completion": "\\boxed{1}", "label": 1, "accuracy": 1.0}),
                json.dumps({"response": "x", "ground_truth": "2", "correct": False, "id": 7}),
                "{not json",
                json.dumps({"response": "no reference"}),
                "",
            ]
        )
    )
    rollouts, problems = read_rollouts(path, "1.0.0")
    assert [(r.id, r.reference, r.stored, r.grader_version) for r in rollouts] == [
        ("line 1", "1", True, "1.0.0"),
        ("7", "2", False, "1.0.0"),
    ]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4"]


def test_categorise_counts_flips_of_a_rule_change_and_second_opinions() -> None:
    def entry(stored: bool | None, rules: bool, peer: bool) -> Regraded:
        rollout = Rollout("x", "", "r", "1", stored, "0.9.0")
        return Regraded(rollout, rules=rules, rule="r", opinions={"math_verify": peer})

    counts = categorise(
        [entry(True, True, True), entry(True, False, True), entry(None, False, False)], "1.0.0"
    )
    assert counts == {
        "grader 0.9.0 → 1.0.0: unchanged": 1,
        "grader 0.9.0 → 1.0.0: accepted → rejected": 1,
        "math_verify agrees": 2,
        "rules_reject_math_verify_accepts": 1,
    }


def test_cli_audit_regrades_rollouts_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_SANDBOX_BACKEND", "none")
    monkeypatch.setenv("VERIFIER_WORKERS", "1")
    rollouts = tmp_path / "rollouts.jsonl"
    rows = [
        {"id": "right", "response": "<think>a</think> \\boxed{7}", "reference": "7", "reward": 1},
        # Stored as accepted by an older grader; this one rejects it: a flip to review.
        {"id": "flip", "response": "\\boxed{8}", "reference": "7", "reward": 1},
        # Math-Verify reads the bare expression; this grader wants a boxed or tagged answer.
        {"id": "bare", "response": "$\\frac{1}{2}$", "reference": "0.5", "reward": 0},
    ]
    rollouts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "disagreements.jsonl"
    args = ["audit", str(rollouts), "--grader-version", "0.9.0", "-o", str(out)]
    assert main(args) == 0
    table = _rows(capsys.readouterr().out)
    assert table[f"grader 0.9.0 → {GRADER_VERSION}: accepted → rejected"] == "1"
    assert table["rules_reject_math_verify_accepts"] == "1"
    assert table[f"grader 0.9.0 → {GRADER_VERSION}: unchanged"] == "2"
    cases = load_golden_file(out, require_expect=False).cases
    assert sorted(case.id for case in cases) == ["bare", "flip"]


def _rows(table: str) -> dict[str, str]:
    """A rich table's rows: first cell → second cell."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines()]
    return {row[0]: row[1] for row in cells if len(row) >= 2}


def test_cli_audit_refuses_a_file_without_rollouts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"text": "no response here"}\n')
    assert main(["audit", str(empty)]) == 2
    assert "no usable rollouts" in capsys.readouterr().err
