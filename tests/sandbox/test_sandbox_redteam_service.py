"""The red team's batch-wide failures through the service on the real Docker sandbox: one
program's bytes or forged report is that item's verdict, never a 500 for the whole batch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from verifier_service.app import create_app
from verifier_service.settings import Settings

BAD_BYTES = {
    "python": "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe')\n",
    "c": '#include <stdio.h>\nint main(void){fputs("\\xff\\xfe",stderr);return 1;}\n',
}
FORGED = (
    "import sys\nsys._getframe(1).f_locals['report']({'status': 'returned', 'value': 123}, 0)\n"
    "def add(a, b):\n    return a + b\n"
)
GOOD = "print(input())"
STDIO = [{"stdin": "3\n", "expected_stdout": "3\n"}]


@pytest.fixture(scope="module")
def client(docker_ready: None) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(workers=1, sandbox_backend="docker"))) as client:
        yield client


def test_redteam_service_code_run_answers_every_item(client: TestClient) -> None:
    items = [
        {"language": "python", "code": BAD_BYTES["python"], "tests": STDIO},
        {"language": "c", "code": BAD_BYTES["c"], "tests": STDIO},
        {"language": "python", "code": FORGED, "tests": [{"fn_name": "add", "args": [1, 2],
                                                          "expected": 3}]},
        {"language": "python", "code": GOOD, "tests": STDIO},
    ]  # fmt: skip
    reply = client.post("/v1/code/run", json={"items": items})
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [r["verdict"] for r in results] == ["WA", "RE", "RE", "AC"]
    assert results[0]["tests"][0]["stdout"] == "\ufffd\ufffd"
    assert "\ufffd" in results[1]["tests"][0]["stderr"]


def test_redteam_service_rewards_score_a_bad_program_zero(client: TestClient) -> None:
    def item(language: str, code: str) -> dict[str, object]:
        response = f"<think>x</think>\n```{language}\n{code}\n```"
        return {"response": response, "task": "code", "language": language, "tests": STDIO}

    items = [item(language, code) for language, code in BAD_BYTES.items()]
    reply = client.post("/v1/rewards", json={"items": [*items, item("python", GOOD)]})
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [r["components"]["accuracy"] for r in results] == [0.0, 0.0, 1.0]
    assert all(r["error"] is None for r in results)
