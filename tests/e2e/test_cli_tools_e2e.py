"""``verifier eval`` and ``verifier filter`` as subprocesses, in-process and through a service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from service import free_port

pytestmark = pytest.mark.e2e

_CLI = [sys.executable, "-m", "verifier_service.cli"]
_ENV = {"VERIFIER_WORKERS": "1", "PATH": "/usr/bin:/bin", "COLUMNS": "120"}
_THINK = "<think>Let me add these two numbers and then check the result carefully.</think> "


def _sample(prompt: str, answer: str, reference: str) -> dict[str, str]:
    return {"prompt_id": prompt, "response": f"{_THINK}\\boxed{{{answer}}}", "reference": reference}


EVAL_ROWS: list[Any] = [
    # By string "3" (3 votes) would win; by value 1/2 (\frac12 ×2 + 0.5 ×2) does.
    *(_sample("half", a, "1/2") for a in ["3", "\\frac12", "3", "0.5", "\\frac12", "3", "0.5"]),
    *(_sample("four", a, "4") for a in ["4", "5", "5"]),
    {"prompt_id": "four", "response": "I do not know.", "reference": "4"},
    "{broken json",
    {"prompt_id": "four", "response": "\\boxed{4}"},
]

FILTER_ROWS: list[Any] = [
    {"id": "kept", "response": f"{_THINK}\\boxed{{\\frac12}}", "reference": "0.5"},
    {"id": "wrong", "response": f"{_THINK}\\boxed{{3}}", "reference": "0.5"},
    {
        "id": "mixed",
        "response": "<think>Let me add these numbers. 我们先把两个数加起来然后检查结果。"
        "</think> \\boxed{4}",
        "reference": "4",
    },
    {
        "id": "code",
        "response": "<think>Check it:\n```python\nprint(4)\n```\n</think> \\boxed{4}",
        "reference": "4",
    },
    {"id": "long", "response": "<think>" + "word " * 100 + "</think> \\boxed{4}", "reference": "4"},
    "not json",
]


def _write(path: Path, rows: list[Any]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_CLI, *args], capture_output=True, text=True, timeout=180, env=_ENV, cwd=cwd
    )


def _eval(tmp_path: Path, *extra: str) -> dict[str, Any]:
    source = _write(tmp_path / "samples.jsonl", EVAL_ROWS)
    summary = tmp_path / "summary.json"
    done = _run("eval", str(source), "-k", "1", "2", "-k", "4", "--json", str(summary), *extra)
    assert done.returncode == 0, done.stderr
    assert "evaluation summary" in done.stderr
    assert "line 12 is not JSON" in done.stderr
    report: dict[str, Any] = json.loads(summary.read_text())
    return report


def _check_eval(report: dict[str, Any]) -> None:
    overall = report["overall"]
    half, four = report["prompts"]
    assert half["prompt_id"] == "half"
    assert half["cons"]["answer"] == "\\frac12"
    assert half["cons"]["votes"] == 4
    assert half["cons"]["correct"] is True
    assert half["pass@1"] == pytest.approx(4 / 7)
    assert half["pass@2"] == pytest.approx(1 - 3 / 21)  # C(3,2)/C(7,2)
    assert four["cons"]["answer"] == "5"
    assert four["cons"]["correct"] is False
    assert four["cons"]["no_answer"] == 1
    assert four["pass@1"] == pytest.approx(1 / 4)
    assert four["pass@4"] == 1.0
    assert overall["prompts"] == 2
    assert overall["samples"] == 11
    assert overall["invalid_lines"] == 2
    assert overall["cons"] == 0.5
    assert overall["pass@1"] == pytest.approx((4 / 7 + 1 / 4) / 2)
    assert [line["line"] for line in report["invalid_lines"]] == [12, 13]


def test_e2e_eval_in_process(tmp_path: Path) -> None:
    _check_eval(_eval(tmp_path))


def test_e2e_eval_through_service_matches_in_process(service_url: str, tmp_path: Path) -> None:
    remote = _eval(tmp_path, "--url", service_url)
    _check_eval(remote)
    assert remote == _eval(tmp_path)


def _filter(tmp_path: Path, *extra: str) -> tuple[list[str], list[dict[str, Any]], str]:
    source = _write(tmp_path / "samples.jsonl", FILTER_ROWS)
    kept, dropped = tmp_path / "kept.jsonl", tmp_path / "dropped.jsonl"
    args = ["-o", str(kept), "--dropped", str(dropped), "--max-paragraph-chars", "300"]
    done = _run("filter", str(source), *args, *extra)
    assert done.returncode == 0, done.stderr
    kept_ids = [json.loads(line)["id"] for line in kept.read_text().splitlines()]
    drops = [json.loads(line) for line in dropped.read_text().splitlines()]
    return kept_ids, drops, done.stderr


@pytest.mark.parametrize("through_service", [False, True], ids=["in-process", "service"])
def test_e2e_filter_keeps_correct_readable_samples(
    through_service: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    extra = ["--url", request.getfixturevalue("service_url")] if through_service else []
    kept_ids, drops, stderr = _filter(tmp_path, *extra)
    assert kept_ids == ["kept"]
    reasons = {d.get("record", {}).get("id", d["line"]): d["reasons"] for d in drops}
    assert reasons == {
        "wrong": ["incorrect"],
        "mixed": ["mixed_language"],
        "code": ["code_in_reasoning"],
        "long": ["long_paragraph"],
        6: ["invalid_line"],
    }
    assert "filtering summary" in stderr


def test_e2e_filter_options_turn_checks_off(tmp_path: Path) -> None:
    kept_ids, _, _ = _filter(
        tmp_path,
        "--allow-code-in-reasoning",
        "--max-paragraph-chars",
        "0",
        "--min-language-score",
        "0.2",
    )
    assert kept_ids == ["kept", "mixed", "code", "long"]


@pytest.mark.parametrize(
    "extra", [["eval"], ["filter", "-o", "kept.jsonl"]], ids=["eval", "filter"]
)
def test_e2e_tools_refuse_a_missing_file(extra: list[str], tmp_path: Path) -> None:
    done = _run(*extra[:1], str(tmp_path / "absent.jsonl"), *extra[1:], cwd=tmp_path)
    assert done.returncode == 2
    assert "no such file" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [pytest.param("", "no samples", id="empty"), pytest.param("\n\n", "no samples", id="blank")],
)
def test_e2e_filter_says_an_empty_file_is_empty(content: str, message: str, tmp_path: Path) -> None:
    source = tmp_path / "empty.jsonl"
    source.write_text(content)
    done = _run("filter", str(source), "-o", str(tmp_path / "kept.jsonl"))
    assert done.returncode == 1
    assert message in done.stderr


def test_e2e_eval_with_only_bad_lines_fails_with_the_reasons(tmp_path: Path) -> None:
    source = _write(tmp_path / "bad.jsonl", ["nope", {"prompt_id": 1, "response": "x"}])
    done = _run("eval", str(source))
    assert done.returncode == 1
    assert "line 1 is not JSON" in done.stderr
    assert "line 2 lacks string field(s): reference" in done.stderr
    assert "no usable samples" in done.stderr


def test_e2e_filter_rejects_an_unknown_language(tmp_path: Path) -> None:
    source = _write(tmp_path / "s.jsonl", FILTER_ROWS)
    done = _run("filter", str(source), "-o", str(tmp_path / "k.jsonl"), "--target-language", "xx")
    assert done.returncode == 2
    assert "unknown target language" in done.stderr


def test_e2e_eval_reports_an_unreachable_service(tmp_path: Path) -> None:
    source = _write(tmp_path / "s.jsonl", EVAL_ROWS)
    done = _run("eval", str(source), "--url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "failed" in done.stderr
