"""The local backend (namespaces + rlimits) on this host: verdicts and hostile programs."""

from __future__ import annotations

import os
import socket
import time

import pytest

from sandbox import AssertTest, CallTest, Limits, StdioTest, Verdict

LIMITS = Limits(time_s=1, wall_time_s=1.5, memory_mb=128)
DONE = StdioTest(stdin="", expected_stdout="done\n")

# Inside the namespace the runner is pid 1; anything else still alive was left behind.
PROBE = """
import os
me = os.getpid()
print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, me)))
print(sorted(os.listdir('/tmp/sandbox-work')), sorted(os.listdir('/tmp/sandbox-work/run')))
"""
CLEAN = "[]\n['run'] ['.tmp', 'solution.py']\n"

CASES = [
    ("sum", "python", "a, b = map(int, input().split())\nprint(a + b)\n", Verdict.AC),
    ("wrong answer", "python", "print(4)\n", Verdict.WA),
    (
        "cpp sum",
        "cpp",
        '#include <cstdio>\nint main(){int a,b;scanf("%d%d",&a,&b);printf("%d\\n",a+b);}\n',
        Verdict.AC,
    ),
    ("compile error", "c", "int main(void){ return x; }\n", Verdict.CE),
    ("segfault", "c", "int main(void){ volatile int *p = 0; *p = 1; }\n", Verdict.RE),
    ("infinite loop", "python", "while True: pass\n", Verdict.TLE),
    ("sleep forever", "python", "import time\ntime.sleep(10**6)\n", Verdict.TLE),
    ("memory bomb", "python", "x = []\nwhile True: x.append(bytearray(8 << 20))\n", Verdict.MLE),
    (
        "print a gigabyte",
        "python",
        "import sys\nfor _ in range(1024): sys.stdout.write('y' * (1 << 20))\n",
        Verdict.OLE,
    ),
    (
        "fork bomb",
        "python",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        Verdict.TLE,
    ),
    (
        "daemon outlives the test",
        "python",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        os.closerange(0, 3)\n        time.sleep(3600)\n    os._exit(0)\nprint(3)\n",
        Verdict.AC,
    ),
    (
        "kill the runner",
        "python",
        "import os\nfor sig in (9, 15):\n    try:\n        os.kill(1, sig)\n"
        "    except OSError:\n        pass\nprint(3)\n",
        Verdict.AC,
    ),
]


@pytest.mark.parametrize(
    ("language", "code", "verdict"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_local_verdicts_and_cleanup(local, language: str, code: str, verdict: Verdict) -> None:
    start = time.monotonic()
    result = local.run(language, code, [StdioTest("1 2\n", "3\n")], LIMITS)
    assert result.verdict is verdict, result
    assert time.monotonic() - start < LIMITS.wall_s + 8
    probe = local.run("python", PROBE, [StdioTest("", CLEAN)], Limits(time_s=2))
    assert probe.verdict is Verdict.AC, probe.tests[0].stdout


def test_local_isolates_network_environment_and_files(local, tmp_path) -> None:
    secret = "s3cr3t-" + os.urandom(8).hex()
    os.environ["VERIFIER_TEST_SECRET"] = secret
    (tmp_path / "secret.txt").write_text(secret)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = (
            "import os, socket\nfound = []\n"
            f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\n"
            "    found.append('tcp')\nexcept OSError:\n    pass\n"
            f"for path in [{str(tmp_path / 'secret.txt')!r}, '/etc/shadow', '/proc/1/environ']:\n"
            "    try:\n        found.append(open(path).read()[:200])\n"
            "    except OSError:\n        pass\n"
            "for path in ['/etc/hostname', '/usr/x', '/x']:\n"
            "    try:\n        open(path, 'a').write('x')\n        found.append(path)\n"
            "    except OSError:\n        pass\n"
            "print(found, dict(os.environ))\n"
        )
        try:
            result = local.run("python", code, [DONE], LIMITS)
        finally:
            del os.environ["VERIFIER_TEST_SECRET"]
    stdout = result.tests[0].stdout
    assert stdout.startswith("[] "), stdout
    assert secret not in stdout


def test_local_harness_cannot_be_forged(local) -> None:
    code = "import os\nos._exit(0)\ndef add(a, b):\n    return a + b\n"
    tests = [AssertTest("assert add(1, 1) == 2\n"), CallTest("add", [1, 1], 2)]
    result = local.run("python", code, tests, LIMITS)
    assert result.passed == 0
    assert [t.verdict for t in result.tests] == [Verdict.RE, Verdict.RE]
