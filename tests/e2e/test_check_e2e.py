"""``verifier check`` over the project's golden sets: in process and against a real service.

Both modes must agree with every expectation (exit 0), code items on the Docker sandbox; a
deliberately wrong expectation must exit 1 and show its diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from service import running_service

from verifier_service.check import main

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = sorted((ROOT / "tests" / "golden").glob("*.jsonl"))
IMAGE_DIR = ROOT / "sandbox" / "image"
API_KEY = "check-e2e-" + os.urandom(6).hex()


def _case_count(paths: list[Path]) -> int:
    return sum(1 for path in paths for line in path.read_text().splitlines() if line.strip())


@pytest.fixture(scope="module")
def docker_ready() -> None:
    subprocess.run([str(IMAGE_DIR / "ensure_docker.sh")], check=True)
    subprocess.run([str(IMAGE_DIR / "build_image.sh")], check=True, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def service_url(docker_ready: None) -> Iterator[str]:
    with running_service(workers="2", sandbox_backend="docker", api_keys=API_KEY) as url:
        yield url


def test_check_golden_sets_cover_every_kind_of_file() -> None:
    names = {path.name for path in GOLDEN}
    assert {"math.jsonl", "code.jsonl", "language.jsonl", "conformance.jsonl"} <= names


def test_check_golden_sets_in_process_agree(
    docker_ready: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VERIFIER_WORKERS", "2")
    monkeypatch.setenv("VERIFIER_SANDBOX_BACKEND", "docker")
    junit = tmp_path / "report.xml"
    status = main([*map(str, GOLDEN), "--junit", str(junit)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "verifier check: in process, grader " in out
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [str(p) for p in GOLDEN]
    assert sum(len(s.findall("testcase")) for s in suites) == _case_count(GOLDEN)
    assert all(s.get("failures") == "0" for s in suites)


def test_check_golden_sets_against_the_service_agree(
    service_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([*map(str, GOLDEN), "--url", service_url, "--api-key", API_KEY])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"verifier check: {service_url}, grader " in out
    total = _case_count(GOLDEN)
    assert f"{total} cases" in out.splitlines()[-2]
    assert out.splitlines()[-1] == f"golden: {total} passed, 0 failed"


def test_check_wrong_expectation_against_the_service_exits_1_with_the_diff(
    service_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = tmp_path / "wrong.jsonl"
    golden.write_text(
        '{"id": "right", "response": "\\\\boxed{\\\\frac12}", "reference": "0.5", '
        '"expect": {"correct": true}}\n'
        '{"id": "hedge", "response": "\\\\boxed{1 \\\\text{ or } 2}", "reference": "1", '
        '"expect": {"correct": true}}\n'
        '{"id": "loop", "language": "python", "code": "while True: pass", '
        '"tests": [{"stdin": "", "expected_stdout": ""}], "limits": {"time_s": 1}, '
        '"expect": {"verdict": "AC"}}\n'
    )
    status = main([str(golden), "--url", service_url, "--api-key", API_KEY])
    out = capsys.readouterr().out
    assert status == 1
    assert f"DISAGREE {golden}:2 [math] hedge" in out
    assert "  got       correct=false" in out
    assert "  decided   rule alternatives;" in out
    assert f"DISAGREE {golden}:3 [code] loop" in out
    assert '  got       verdict="TLE"' in out
    assert "[math] right" not in out
    assert "  total         3 cases      1 agreed    2 disagreed" in out


def test_check_wrong_api_key_exits_2(service_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main([str(GOLDEN[0]), "--url", service_url, "--api-key", "not-the-key"])
    assert status == 2
    assert "answered 401" in capsys.readouterr().err


def test_check_module_in_process_wrong_expectation_exits_1(tmp_path: Path) -> None:
    golden = tmp_path / "wrong.jsonl"
    golden.write_text(
        '{"id": "km", "response": "\\\\boxed{5\\\\text{ km}}", "reference": "5\\\\text{ m}", '
        '"expect": {"correct": true}}\n'
    )
    env = {**os.environ, "VERIFIER_WORKERS": "1", "VERIFIER_SANDBOX_BACKEND": "none"}
    done = subprocess.run(
        [sys.executable, "-m", "verifier_service.check", str(golden)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "decided   rule unit_mismatch; extracted" in done.stdout
