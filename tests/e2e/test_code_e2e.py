"""Code rewards through the real service, on the Docker backend and the local backend.

Every hostile program must end with the right verdict within its limit and leave the host and
the service healthy: no process of the sandbox user, no stray container, the API key unseen.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service import running_service

pytestmark = pytest.mark.e2e

API_KEY = "e2e-secret-" + os.urandom(6).hex()
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SANDBOX_UID = "10001"
LIMITS = {"time_s": 1, "memory_mb": 128}
DONE = [{"stdin": "", "expected_stdout": "done\n"}]


@pytest.fixture(scope="module", params=["docker", "local"])
def code_service(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with running_service(
        workers="1", sandbox_backend=request.param, api_keys=API_KEY, judge_backend="none"
    ) as url:
        status = httpx.get(f"{url}/readyz").json()["sandbox"]
        assert status["backend"] == request.param, status
        yield url, request.param
    if request.param == "docker":
        # The service removed its containers when it stopped.
        assert _sandbox_containers() == []


def _sandbox_containers() -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=verifier-sandbox"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def _sandbox_processes() -> list[str]:
    done = subprocess.run(["pgrep", "-u", SANDBOX_UID, "-a"], capture_output=True, text=True)
    return done.stdout.splitlines()


def _run(url: str, items: list[dict[str, Any]], timeout: float = 120) -> list[dict[str, Any]]:
    reply = httpx.post(f"{url}/v1/code/run", json={"items": items}, headers=AUTH, timeout=timeout)
    assert reply.status_code == 200, reply.text
    results: list[dict[str, Any]] = reply.json()["results"]
    return results


def _assert_host_clean(url: str) -> None:
    deadline = time.monotonic() + 5
    while _sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sandbox_processes() == [], "a sandboxed process outlived its submission"
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_code_run_verdicts(code_service: tuple[str, str]) -> None:
    url, _ = code_service
    add = "a, b = map(int, input().split())\nprint(a + b)\n"
    items = [
        {
            "language": "python",
            "code": add,
            "tests": [{"stdin": "1 2\n", "expected_stdout": "3\n"}],
        },
        {
            "language": "python",
            "code": "print(4)",
            "tests": [{"stdin": "", "expected_stdout": "3"}],
        },
        {
            "language": "python",
            "code": "def add(a, b):\n    return a + b\n",
            "tests": [
                {"fn_name": "add", "args": [1, 2], "expected": 3},
                {"test_code": "assert add(2, 2) == 4"},
            ],
        },
        {"language": "c", "code": "int main(void){ volatile int *p = 0; *p = 1; }", "tests": DONE},
        {
            "language": "java",
            "code": "public class Wrong { public static void main(String[] a){} }",
            "tests": DONE,
        },
        {"language": "cpp", "code": "int main() { return x; }", "tests": DONE},
    ]
    results = _run(url, items)
    assert [r["verdict"] for r in results] == ["AC", "WA", "AC", "RE", "CE", "CE"]
    assert results[2]["passed"] == 2 and results[2]["score"] == 1.0
    assert "SIGSEGV" in results[3]["reason"] or "signal" in results[3]["reason"]
    assert results[5]["compile_output"]
    assert all(r["error"] is None for r in results)


def test_code_run_extracts_program_from_response(code_service: tuple[str, str]) -> None:
    url, _ = code_service
    response = (
        "<think>```python\nprint('draft')\n```</think>\nHere it is:\n"
        "```python\nprint(int(input()) * 2)\n```\n"
    )
    items = [
        {
            "language": "python",
            "response": response,
            "tests": [{"stdin": "4\n", "expected_stdout": "8\n"}],
        },
        {"language": "python", "response": "<think>x</think> no code here", "tests": DONE},
    ]
    results = _run(url, items)
    assert results[0]["verdict"] == "AC"
    assert results[0]["extracted"] == "print(int(input()) * 2)\n"
    assert results[1]["verdict"] is None and results[1]["score"] == 0.0
    assert "no fenced python code block" in results[1]["reason"]


def test_code_bad_items_get_item_errors(code_service: tuple[str, str]) -> None:
    url, _ = code_service
    items = [
        {"language": "cobol", "code": "x", "tests": DONE},
        {"language": "python", "code": "x", "tests": [{"stdin": "1"}]},
        {"language": "python", "code": "x", "response": "y", "tests": DONE},
        {"language": "python", "code": "print('done')", "tests": DONE, "limits": {"time_s": 999}},
        {"language": "python", "code": "print('done')", "tests": DONE},
    ]
    results = _run(url, items)
    assert [r["error"]["code"] for r in results[:4]] == ["invalid_input"] * 4
    assert "cobol" in results[0]["error"]["message"]
    assert results[4]["verdict"] == "AC"


HOSTILE = [
    (
        "fork bomb",
        "python",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        {"TLE", "RE"},
    ),
    ("memory bomb", "python", "x = []\nwhile True:\n    x.append(bytearray(8 << 20))\n", {"MLE"}),
    ("infinite loop", "c", "int main(void){ for(;;); }\n", {"TLE"}),
    ("sleep forever", "python", "import time\ntime.sleep(10**6)\n", {"TLE"}),
    (
        "daemon outlives the test",
        "python",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        os.closerange(0, 3)\n        time.sleep(3600)\n    os._exit(0)\nprint('done')\n",
        {"AC"},
    ),
    (
        "fill the disk",
        "python",
        "with open('fill', 'wb') as f:\n    while True:\n        f.write(b'0' * (1 << 20))\n",
        {"RE", "MLE"},
    ),
    (
        "print a gigabyte",
        "python",
        "import sys\nfor _ in range(1024):\n    sys.stdout.write('y' * (1 << 20))\n",
        {"OLE"},
    ),
    (
        "kill pid 1 and the parent",
        "python",
        "import os\nfor pid in (1, os.getppid(), -1):\n    for sig in (9, 15):\n        try:\n"
        "            os.kill(pid, sig)\n        except OSError:\n            pass\nprint('done')\n",
        {"AC"},
    ),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("language", "code", "verdicts"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_code_hostile_program_ends_and_leaves_nothing(
    code_service: tuple[str, str], language: str, code: str, verdicts: set[str]
) -> None:
    url, _ = code_service
    started = time.monotonic()
    (result,) = _run(url, [{"language": language, "code": code, "tests": DONE, "limits": LIMITS}])
    assert result["verdict"] in verdicts, result
    # wall limit 2*time_s+1, plus compiling and cleaning up
    assert time.monotonic() - started < 3 + 10
    _assert_host_clean(url)


def test_code_hostile_cannot_read_service_secrets(
    code_service: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = code_service
    code = (
        "import os, glob\nseen = ' '.join(f'{k}={v}' for k, v in os.environ.items())\n"
        "for path in ['/proc/1/environ', '/proc/self/environ'] + glob.glob('/proc/*/environ'):\n"
        "    try:\n        seen += open(path, 'rb').read().decode(errors='replace')\n"
        "    except OSError:\n        pass\n"
        # The prefix is public; a leak would show what follows it.
        "at = seen.find('e2e-secret-')\nprint('done' if at < 0 else seen[at:at + 40])\n"
    )
    (result,) = _run(url, [{"language": "python", "code": code, "tests": DONE, "limits": LIMITS}])
    assert result["verdict"] == "AC", result
    assert API_KEY not in result["tests"][0]["stdout"]


def test_code_hostile_cannot_reach_host_loopback(code_service: tuple[str, str]) -> None:
    url, _ = code_service
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        code = (
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "    print('connected')\n"
            "except OSError:\n    print('done')\n"
        )
        (result,) = _run(
            url, [{"language": "python", "code": code, "tests": DONE, "limits": LIMITS}]
        )
        with pytest.raises(TimeoutError):
            server.accept()
    assert result["verdict"] == "AC", result


def test_code_hostile_cannot_change_host_files(
    code_service: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = code_service
    target = tmp_path / "precious.txt"
    target.write_text("original")
    target.chmod(0o666)
    tmp_path.chmod(0o777)
    code = (
        "import os\nfor path in ["
        + repr(str(target))
        + ", '/etc/passwd', '/usr/bin/python3', '/x']:\n"
        "    try:\n        open(path, 'w').write('pwned')\n    except OSError:\n        pass\n"
        "print('done')\n"
    )
    (result,) = _run(url, [{"language": "python", "code": code, "tests": DONE, "limits": LIMITS}])
    assert result["verdict"] == "AC", result
    assert target.read_text() == "original"
    assert "pwned" not in Path("/etc/passwd").read_text()


FORGERIES = [
    ("sys.exit", "import sys\nsys.exit(0)\n"),
    ("os._exit", "import os\nos._exit(0)\n"),
    ("print patched", "import builtins\nbuiltins.print = lambda *a, **k: None\n"),
    (
        "SystemExit in __del__",
        "class Bomb:\n    def __del__(self):\n        raise SystemExit(0)\n"
        "import builtins\nbuiltins.bomb = Bomb()\n",
    ),
]


@pytest.mark.parametrize("prelude", [f[1] for f in FORGERIES], ids=[f[0] for f in FORGERIES])
def test_code_hostile_cannot_forge_a_pass(code_service: tuple[str, str], prelude: str) -> None:
    url, _ = code_service
    code = prelude + "def add(a, b):\n    return a - b\n"
    tests = [
        {"fn_name": "add", "args": [2, 2], "expected": 4},
        {"test_code": "assert add(2, 2) == 4"},
    ]
    (result,) = _run(url, [{"language": "python", "code": code, "tests": tests, "limits": LIMITS}])
    assert result["passed"] == 0, result


@pytest.mark.timeout(240)
def test_code_hundred_submissions_at_once(code_service: tuple[str, str]) -> None:
    url, _ = code_service
    add = "a, b = map(int, input().split())\nprint(a + b)\n"

    async def one(client: httpx.AsyncClient, n: int) -> dict[str, Any]:
        item = {
            "language": "python",
            "code": add,
            "tests": [{"stdin": f"{n} 1\n", "expected_stdout": f"{n + 1}\n"}],
        }
        reply = await client.post(f"{url}/v1/code/run", json={"items": [item]}, headers=AUTH)
        result: dict[str, Any] = reply.json()["results"][0]
        return result

    async def main() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=200) as client:
            return list(await asyncio.gather(*(one(client, n) for n in range(100))))

    results = asyncio.run(main())
    assert [r["verdict"] for r in results] == ["AC"] * 100
    _assert_host_clean(url)


def test_code_reward_binary_and_fraction(code_service: tuple[str, str]) -> None:
    url, _ = code_service
    response = "<think>ok</think>\n```python\nn = int(input())\nprint(n * 2 if n < 3 else n)\n```\n"
    tests = [{"stdin": f"{n}\n", "expected_stdout": f"{2 * n}\n"} for n in (1, 2, 3, 4)]
    item = {"id": "s", "response": response, "task": "code", "language": "python", "tests": tests}
    binary = httpx.post(
        f"{url}/v1/rewards", json={"items": [item]}, headers=AUTH, timeout=60
    ).json()
    fraction = httpx.post(
        f"{url}/v1/rewards",
        json={"items": [item], "code_scoring": "fraction"},
        headers=AUTH,
        timeout=60,
    ).json()
    assert binary["results"][0]["components"]["accuracy"] == 0.0
    assert binary["results"][0]["details"]["accuracy"]["verdict"] == "WA"
    assert fraction["results"][0]["components"]["accuracy"] == 0.5
    assert fraction["results"][0]["details"]["accuracy"]["passed"] == 2
    no_code = {**item, "response": "<think>hmm</think> I cannot solve it."}
    missing = httpx.post(
        f"{url}/v1/rewards", json={"items": [no_code]}, headers=AUTH, timeout=60
    ).json()
    assert missing["results"][0]["components"]["accuracy"] == 0.0
    assert "no fenced python" in missing["results"][0]["details"]["accuracy"]["reason"]


def test_code_openrlhf_label_with_task(code_service: tuple[str, str]) -> None:
    url, _ = code_service
    import json

    label = json.dumps(
        {"task": "code", "language": "python", "tests": [{"stdin": "", "expected_stdout": "7\n"}]}
    )
    prompt = "Print 7. "
    body = {
        "query": [prompt + "<think>x</think>```python\nprint(7)\n```", prompt + "\\boxed{3}"],
        "prompts": [prompt, prompt],
        "labels": [label, "3"],
    }
    reply = httpx.post(f"{url}/get_reward", json=body, headers=AUTH, timeout=60).json()
    assert reply["scores"] == [1.0, 1.0]
    bad = httpx.post(
        f"{url}/get_reward",
        json={"query": ["x"], "labels": [json.dumps({"task": "code"})]},
        headers=AUTH,
        timeout=60,
    ).json()
    assert bad["rewards"] == [0.0]
    assert bad["extra_logs"]["failed"] == [1.0]
    assert bad["errors"][0]["code"] == "invalid_input"
