"""POST /run_code answers SandboxFusion's shapes, run in the real sandbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

CPP_ECHO = "#include <iostream>\nint main(){int a,b;std::cin>>a>>b;std::cout<<a+b<<std::endl;}"


def _run(url: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/run_code", json={"run_timeout": 5, **body}, timeout=120)


def test_run_code_python_reads_stdin(service_url: str) -> None:
    reply = _run(service_url, code="print(sum(map(int, input().split())))", stdin="1 2\n",
                 language="python").json()  # fmt: skip
    assert reply["status"] == "Success"
    assert reply["compile_result"] is None
    run = reply["run_result"]
    assert (run["status"], run["return_code"], run["stdout"]) == ("Finished", 0, "3\n")
    assert isinstance(run["execution_time"], float)
    assert reply["files"] == {}


def test_run_code_compiled_language_reports_its_compile(service_url: str) -> None:
    reply = _run(service_url, code=CPP_ECHO, stdin="2 5", language="cpp").json()
    assert reply["status"] == "Success"
    assert reply["compile_result"]["return_code"] == 0
    assert reply["run_result"]["stdout"] == "7\n"


def test_run_code_compile_error(service_url: str) -> None:
    reply = _run(service_url, code="int main( {", language="cpp").json()
    assert reply["status"] == "Failed"
    assert reply["compile_result"]["status"] == "Finished"
    assert reply["compile_result"]["return_code"] != 0
    assert reply["compile_result"]["stderr"]
    assert reply["run_result"] is None


def test_run_code_runtime_error_keeps_the_return_code(service_url: str) -> None:
    code = "import sys\nprint('partial')\nsys.exit(3)"
    reply = _run(service_url, code=code, language="python").json()
    assert reply["status"] == "Failed"
    run = reply["run_result"]
    assert (run["status"], run["return_code"], run["stdout"]) == ("Finished", 3, "partial\n")


def test_run_code_time_limit(service_url: str) -> None:
    reply = _run(service_url, code="while True: pass", language="python", run_timeout=1).json()
    assert reply["status"] == "Failed"
    assert reply["run_result"]["status"] == "TimeLimitExceeded"


def test_run_code_nodejs_runs_on_node(service_url: str) -> None:
    code = "console.log(require('fs').readFileSync(0, 'utf8').trim().toUpperCase())"
    reply = _run(service_url, code=code, stdin="abc\n", language="nodejs").json()
    assert reply["status"] == "Success"
    assert reply["run_result"]["stdout"] == "ABC\n"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"code": "<?php echo 1;", "language": "php"}, "not available"),
        ({"code": "print(1)", "language": "python", "files": {"a.txt": "eA=="}}, "files"),
        ({"code": "print('x' * 100000)", "language": "python"}, "longer than"),
    ],
    ids=["language-without-runtime", "files", "output-too-long"],
)
def test_run_code_what_it_cannot_do_is_a_sandbox_error(
    service_url: str, body: dict[str, Any], words: str
) -> None:
    reply = _run(service_url, **body).json()
    assert reply["status"] == "SandboxError"
    assert words in reply["message"]
    assert reply["run_result"] is None


def test_run_code_unknown_language_is_422(service_url: str) -> None:
    assert _run(service_url, code="x", language="cobol").status_code == 422
