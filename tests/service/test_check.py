"""``verifier check``: diffs, summaries, JUnit XML, --update and exit codes."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, FakeReply, user_message

from verifier_service.check import (
    CaseOutcome,
    CheckReport,
    junit_xml,
    main,
    render_disagreement,
    render_summary,
    update_file,
)
from verifier_service.golden import load_golden_file, parse_golden_line

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
HERE = Path("set.jsonl")


def _outcome(
    line: int, record: dict[str, Any], result: dict[str, Any], agreed: bool
) -> CaseOutcome:
    case = parse_golden_line(json.dumps(record), path=HERE, line=line)
    return CaseOutcome(case, result, agreed, 0.01)


MATH_WRONG = _outcome(
    4,
    {
        "id": "half",
        "response": "<think>x</think> \\boxed{\\frac12}",
        "reference": "0.5",
        "note": "the classic",
        "expect": {"correct": True},
    },
    {
        "correct": False,
        "extracted": "\\frac12",
        "reason": "1/2 is not 1/2 somehow",
        "rule": "numeric_unequal",
        "error": None,
    },
    False,
)
CODE_RIGHT = _outcome(
    5,
    {
        "language": "python",
        "code": "print(1)\n",
        "tests": [{"stdin": "", "expected_stdout": "1\n"}],
        "expect": {"verdict": "AC"},
    },
    {"verdict": "AC", "passed": 1, "total": 1, "tests": [], "error": None},
    True,
)
CODE_ERROR = _outcome(
    6,
    {
        "id": "weird \x01 output",
        "language": "python",
        "code": "print('\x1b')\n",
        "tests": [{"stdin": "", "expected_stdout": "1\n"}, {"stdin": "", "expected_stdout": "2"}],
        "expect": {"verdict": "AC"},
    },
    {"verdict": None, "error": {"code": "sandbox_error", "message": "container \x1b gone"}},
    False,
)
LANGUAGE_WRONG = _outcome(
    7,
    {"text": "Bonjour tout le monde", "target": "en", "expect": {"score": [0.9, 1.0]}},
    {"score": 0.0, "counts": {"fr": 4}, "reason": "4 of 4 words are fr", "error": None},
    False,
)
REPORT = CheckReport(
    (MATH_WRONG, CODE_RIGHT, CODE_ERROR, LANGUAGE_WRONG), 1.5, ("1.0.0",), "in process"
)


def test_check_disagreement_shows_case_expected_got_rule_and_note() -> None:
    text = render_disagreement(MATH_WRONG)
    assert text.splitlines() == [
        "DISAGREE set.jsonl:4 [math] half",
        '  input     response="<think>x</think> \\\\boxed{\\\\frac12}" reference="0.5"',
        "  expected  correct=true",
        "  got       correct=false",
        '  decided   rule numeric_unequal; extracted "\\\\frac12"; 1/2 is not 1/2 somehow',
        "  note      the classic",
    ]


def test_check_disagreement_shows_the_error() -> None:
    text = render_disagreement(CODE_ERROR)
    assert "  input     language=python code=\"print('\\u001b')\\n\" tests=2" in text
    assert "  got       error=sandbox_error" in text
    assert "  error     sandbox_error: container \x1b gone" in text


def test_check_disagreement_of_a_language_band() -> None:
    text = render_disagreement(LANGUAGE_WRONG)
    assert "  expected  score in [0.9, 1.0]" in text
    assert "  got       score=0.0" in text
    assert '  decided   words {"fr": 4}; 4 of 4 words are fr' in text


def test_check_decision_of_code_names_the_first_failing_test() -> None:
    outcome = _outcome(
        1,
        {
            "language": "c",
            "code": "int main(){}",
            "tests": [{"stdin": "", "expected_stdout": "1"}] * 2,
            "expect": {"verdict": "AC"},
        },
        {
            "verdict": "WA",
            "passed": 1,
            "total": 2,
            "tests": [
                {"verdict": "AC", "reason": ""},
                {"verdict": "WA", "reason": "line 1\n differs"},
            ],
            "reason": "line 1 differs",
            "error": None,
        },
        False,
    )
    assert (
        "  decided   passed 1/2; test 2: WA line 1 differs\n" in render_disagreement(outcome) + "\n"
    )


def test_check_summary_counts_by_kind() -> None:
    assert render_summary(REPORT).splitlines() == [
        "verifier check: in process, grader 1.0.0",
        "  math          1 cases      0 agreed    1 disagreed",
        "  code          2 cases      1 agreed    1 disagreed",
        "  language      1 cases      0 agreed    1 disagreed",
        "  total         4 cases      1 agreed    3 disagreed in 1.50 s",
        "golden: 1 passed, 3 failed",
    ]


def test_check_junit_has_a_testcase_per_line_and_the_diff_as_failure() -> None:
    root = ET.fromstring(junit_xml(REPORT))
    (suite,) = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("set.jsonl", "4", "3")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {"grader_version": "1.0.0"}
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name"), c.get("line")) for c in cases] == [
        ("set.math", "half", "4"),
        ("set.code", "line 5", "5"),
        ("set.code", "weird \\x01 output", "6"),
        ("set.language", "line 7", "7"),
    ]
    assert cases[1].find("failure") is None
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("message") == "expected correct=true, got correct=false"
    assert failure.text == render_disagreement(MATH_WRONG)


def test_check_junit_escapes_control_characters() -> None:
    root = ET.fromstring(junit_xml(REPORT))
    failure = root.find("testsuite/testcase[@line='6']/failure")
    assert failure is not None and failure.text is not None
    assert "container \\x1b gone" in failure.text


def test_check_junit_has_a_suite_per_file() -> None:
    other = CaseOutcome(
        parse_golden_line(
            json.dumps({"response": "1", "reference": "1", "expect": {"correct": True}}),
            path=Path("b.jsonl"),
            line=1,
        ),
        {"correct": True},
        True,
        0.0,
    )
    report = CheckReport((MATH_WRONG, other), 1.0, (), "http://127.0.0.1:1")
    names = [s.get("name") for s in ET.fromstring(junit_xml(report)).findall("testsuite")]
    assert names == ["set.jsonl", "b.jsonl"]


def test_check_update_rewrites_only_disagreeing_lines(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    lines = [
        '{"id": "a", "response": "\\\\boxed{1}",  "reference": "1", "expect": {"correct": true}}',
        '{"id": "b", "response": "\\\\boxed{1}", "reference": "2", "expect": {"correct": true}}',
        '{"id": "c", "response": "\\\\boxed{3}", "reference": "3"}',
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    golden = load_golden_file(path, require_expect=False)
    results = [{"correct": True}, {"correct": False}, {"correct": True}]
    outcomes = [
        CaseOutcome(case, result, agreed, 0.0)
        for case, result, agreed in zip(golden.cases, results, [True, False, False], strict=True)
    ]
    flips = update_file(golden, outcomes)
    assert [(f.case.id, f.old, f.new) for f in flips] == [
        ("b", {"correct": True}, {"correct": False}),
        ("c", None, {"correct": True}),
    ]
    assert path.read_bytes().decode().split("\r\n") == [
        lines[0],
        lines[1].replace('"correct": true', '"correct": false'),
        lines[2][:-1] + ', "expect": {"correct": true}}',
        "",
    ]


def test_check_update_with_nothing_to_change_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"response": "1", "reference": "1", "expect": {"correct": true}}\n')
    before = path.stat().st_mtime_ns
    golden = load_golden_file(path)
    assert update_file(golden, [CaseOutcome(golden.cases[0], {"correct": True}, True, 0.0)]) == []
    assert path.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "No such file", id="missing-file"),
        pytest.param("{oops\n", "g.jsonl:1: not JSON", id="bad-line"),
        pytest.param('{"response": "1", "reference": "1"}\n', "no 'expect'", id="no-expect"),
    ],
)
def test_check_unusable_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "g.jsonl"
    if content is not None:
        path.write_text(content)
    assert main([str(path)]) == 2
    assert message in capsys.readouterr().err


def test_check_unreachable_service_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"response": "1", "reference": "1", "expect": {"correct": true}}\n')
    assert main([str(path), "--url", "http://127.0.0.1:9"]) == 2
    assert "http://127.0.0.1:9 failed" in capsys.readouterr().err


def test_check_in_process_update_then_check_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERIFIER_WORKERS", "1")
    monkeypatch.setenv("VERIFIER_SANDBOX_BACKEND", "none")
    path = tmp_path / "g.jsonl"
    path.write_text(
        '{"id": "km", "response": "\\\\boxed{5\\\\text{ km}}", "reference": "5\\\\text{ m}", '
        '"expect": {"correct": true}}\n'
        '{"id": "words", "text": "The answer is clearly right.", "target": "en"}\n'
        '{"id": "code", "language": "python", "code": "print(1)", "tests": [], '
        '"expect": {"verdict": "AC"}}\n'
    )
    assert main([str(path), "--update"]) == 0
    out = capsys.readouterr().out
    assert "UPDATED " + str(path) + ":1 [math] km: correct=true → correct=false" in out
    assert ":2 [language] words: (none recorded) → score in [0.95, 1.0]" in out
    assert ':3 [code] code: verdict="AC" → error=sandbox_error' in out
    assert main([str(path)]) == 0


def _judge_says_paris(request: dict[str, Any]) -> FakeReply:
    return FakeReply(
        content="Final Decision: " + ("No" if "Lyon" in user_message(request) else "Yes")
    )


def test_check_judge_items_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    judge = FakeOpenAI(_judge_says_paris)
    for name, value in {
        "WORKERS": "1",
        "SANDBOX_BACKEND": "none",
        "JUDGE_BACKEND": "openai",
        "JUDGE_BASE_URL": judge.base_url,
        "JUDGE_MODEL": "fake-judge",
        "JUDGE_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(f"VERIFIER_{name}", value)
    path = tmp_path / "judge.jsonl"
    path.write_text(
        '{"id": "paris", "question": "Capital of France?", "reference": "Paris", '
        '"response": "It is Paris.", "mode": "judge", "expect": {"correct": true}}\n'
        '{"id": "lyon", "question": "Capital of France?", "reference": "Paris", '
        '"response": "It is Lyon.", "mode": "judge", "expect": {"correct": true}}\n'
    )
    try:
        status = main([str(path)])
    finally:
        judge.close()
    out = capsys.readouterr().out
    assert status == 1
    assert "DISAGREE " + str(path) + ":2 [judge] lyon" in out
    assert '  input     question="Capital of France?" reference="Paris" ' in out
    assert 'response="It is Lyon." mode="judge"' in out
    assert "  decided   decided by judge (verdict " in out
    assert "[judge] paris" not in out
    assert len(judge.requests) == 2


def test_check_conformance_golden_file_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "convert_conformance", GOLDEN_DIR / "convert_conformance.py"
    )
    assert spec is not None and spec.loader is not None
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    committed = (GOLDEN_DIR / "conformance.jsonl").read_text(encoding="utf-8")
    assert "".join(converter.golden_lines()) == committed, (
        "run tests/golden/convert_conformance.py and commit conformance.jsonl"
    )
