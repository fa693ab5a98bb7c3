"""Hostile programs on real Docker: each ends with the right verdict within its limit and
leaves no process, file or container behind (a probe run in the same container checks)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
import time

import pytest

from sandbox import AssertTest, CallTest, Limits, Program, StdioTest, Verdict
from sandbox.backends.docker import LABEL, DockerBackend, default_image

LIMITS = Limits(time_s=1, wall_time_s=2, memory_mb=128)
NOTHING = StdioTest(stdin="", expected_stdout="done\n")

# Runs as the sandbox user after a hostile program: every process it can see and every file
# left in the work dir. Only the runner (uid 0) may remain besides init and the probe itself.
PROBE = """
import os
me = os.getpid()
uids = []
for pid in os.listdir('/proc'):
    if pid.isdigit() and int(pid) not in (1, me):
        try:
            with open(f'/proc/{pid}/status') as f:
                uids.append([l.split()[1] for l in f if l.startswith('Uid:')][0])
        except OSError:
            pass
print(sorted(uids))
print(sorted(os.listdir('/work')), sorted(os.listdir('/work/run')), os.listdir('/work/run/.tmp'))
"""
CLEAN = "['0']\n['run'] ['.tmp', 'solution.py'] []\n"


def assert_left_nothing(runner) -> None:
    result = runner.run("python", PROBE, [StdioTest("", CLEAN)], Limits(time_s=2))
    assert result.verdict is Verdict.AC, result.tests[0].stdout if result.tests else result
    assert len(_containers(runner.backend)) == 1, "one container in the pool, no stray ones"


def _containers(backend: DockerBackend) -> list[str]:
    label = f"--filter=label={LABEL}.pool={backend.labels[f'{LABEL}.pool']}"
    out = subprocess.run(["docker", "ps", "-aq", label], capture_output=True, text=True).stdout
    return out.split()


HOSTILE = [
    (
        "python fork bomb",
        "python",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        {Verdict.TLE},
    ),
    ("bash fork bomb", "bash", ":(){ :|:& };:\nsleep 5\n", {Verdict.TLE, Verdict.RE}),
    (
        "memory bomb",
        "python",
        "x = []\nwhile True:\n    x.append(bytearray(8 << 20))\n",
        {Verdict.MLE},
    ),
    ("infinite loop", "c", "int main(void){ for(;;); }\n", {Verdict.TLE}),
    ("sleep forever", "python", "import time\ntime.sleep(10**6)\n", {Verdict.TLE}),
    (
        "daemon outlives the test",
        "python",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        os.closerange(0, 3)\n        time.sleep(3600)\n    os._exit(0)\n"
        "print('done')\n",
        {Verdict.AC},
    ),
    (
        "fill the disk",
        "python",
        "import os\nwith open('fill', 'wb') as f:\n    while True:\n"
        "        f.write(b'0' * (1 << 20))\n",
        {Verdict.RE, Verdict.MLE},
    ),
    (
        "print a gigabyte",
        "c",
        "#include <stdio.h>\n#include <string.h>\nint main(void){ static char b[1<<20];"
        "memset(b,'y',sizeof b); for(int i=0;i<1024;i++) fwrite(b,1,sizeof b,stdout); }\n",
        {Verdict.OLE},
    ),
    (
        "kill pid 1 and the parent",
        "python",
        "import os, signal\nfor pid in (1, os.getppid()):\n    for sig in (9, 15, 2):\n"
        "        try:\n            os.kill(pid, sig)\n        except OSError:\n            pass\n"
        "print('done')\n",
        {Verdict.AC},
    ),
    (
        "kill everything it can",
        "python",
        "import os\nos.kill(-1, 9)\nprint('done')\n",
        {Verdict.AC},
    ),
]


@pytest.mark.parametrize(
    ("language", "code", "verdicts"),
    [case[1:] for case in HOSTILE],
    ids=[case[0] for case in HOSTILE],
)
def test_hostile_program_is_stopped_and_leaves_nothing(
    docker_single, language: str, code: str, verdicts: set[Verdict]
) -> None:
    start = time.monotonic()
    result = docker_single.run(language, code, [NOTHING], LIMITS)
    elapsed = time.monotonic() - start
    assert result.verdict in verdicts, result
    assert elapsed < LIMITS.wall_s + 8, "ends within its limit (plus compile and cleanup)"
    if result.verdict is Verdict.MLE:
        assert result.tests[0].memory_kb < 2 * LIMITS.memory_mb * 1024
    assert_left_nothing(docker_single)


def test_hostile_cannot_see_host_environment_or_files(docker_single, tmp_path) -> None:
    secret = "s3cr3t-" + os.urandom(8).hex()
    os.environ["VERIFIER_TEST_SECRET"] = secret
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret)
    try:
        code = (
            "import os, glob\n"
            f"for path in [{str(secret_file)!r}, '/proc/1/root/etc/hostname'] + "
            "glob.glob('/proc/*/environ'):\n"
            "    try:\n        print(open(path, 'rb').read())\n"
            "    except OSError as e:\n        print(path, type(e).__name__)\n"
            "print(dict(os.environ))\n"
        )
        result = docker_single.run("python", code, [NOTHING], LIMITS)
    finally:
        del os.environ["VERIFIER_TEST_SECRET"]
    assert result.tests[0].exit_code == 0, result
    assert secret not in result.tests[0].stdout
    assert "secret.txt FileNotFoundError" in result.tests[0].stdout


def test_hostile_cannot_reach_host_loopback(docker_single) -> None:
    accepted: list[object] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        port = server.getsockname()[1]
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    accepted.append(server.accept())
                except OSError:
                    continue

        thread = threading.Thread(target=accept)
        thread.start()
        code = (
            "import socket\nfor host in ('127.0.0.1', 'host.docker.internal', '172.17.0.1'):\n"
            "    try:\n"
            f"        socket.create_connection((host, {port}), timeout=0.5)\n"
            "        print('connected', host)\n"
            "    except OSError:\n        pass\nprint('done')\n"
        )
        result = docker_single.run("python", code, [NOTHING], LIMITS)
        stop.set()
        thread.join()
    assert result.verdict is Verdict.AC, result.tests[0].stdout
    assert accepted == []


def test_hostile_cannot_change_files_outside_its_work_dir(docker_single) -> None:
    code = (
        "import os\nwritten = []\n"
        "for path in ('/etc/passwd', '/usr/bin/python3', '/work/x', '/tmp/x', '/x', "
        "'/proc/sys/kernel/hostname', '/work/run/solution.py'):\n"
        "    try:\n        open(path, 'a').write('x')\n        written.append(path)\n"
        "    except OSError:\n        pass\n"
        "try:\n    os.remove('solution.py')\n    written.append('rm solution.py')\n"
        "except OSError:\n    pass\nprint(written)\n"
    )
    result = docker_single.run("python", code, [StdioTest("", "[]\n")], LIMITS)
    assert result.verdict is Verdict.AC, result.tests[0].stdout
    assert_left_nothing(docker_single)


FORGERIES = [
    ("sys.exit at load", "import sys\nsys.exit(0)\n"),
    ("os._exit at load", "import os\nos._exit(0)\n"),
    (
        "print patched",
        "import builtins\nbuiltins.print = lambda *a, **k: None\nAssertionError = Exception\n",
    ),
    (
        "SystemExit in __del__",
        "class Bomb:\n    def __del__(self):\n        raise SystemExit(0)\n"
        "bomb = Bomb()\nimport builtins\nbuiltins.bomb = bomb\n",
    ),
    ("atexit os._exit", "import atexit, os\natexit.register(os._exit, 0)\n"),
    (
        "thread exits early",
        "import os, threading, time\n"
        "threading.Thread(target=lambda: os._exit(0), daemon=True).start()\ntime.sleep(0.2)\n",
    ),
    (
        "writes a fake report on every fd",
        "import os, json\nfor fd in range(3, 1024):\n    try:\n"
        "        os.write(fd, b'0' * 32 + b'\\n' + json.dumps({'status': 'passed'}).encode())\n"
        "    except OSError:\n        pass\nos._exit(0)\n",
    ),
    ("reads its test input", "import os\ntry:\n    os.read(3, 100)\nexcept OSError:\n    pass\n"),
]


@pytest.mark.parametrize(
    "prelude", [case[1] for case in FORGERIES], ids=[case[0] for case in FORGERIES]
)
def test_hostile_cannot_forge_a_passing_test(docker_single, prelude: str) -> None:
    code = prelude + "def add(a, b):\n    return a - b\n"  # wrong on purpose
    tests = [AssertTest("assert add(2, 2) == 4\n"), CallTest("add", [2, 2], 4)]
    result = docker_single.run("python", code, tests, LIMITS)
    assert result.passed == 0, result
    assert all(t.verdict is not Verdict.AC for t in result.tests)


def test_hostile_always_equal_object_fails_call_tests(docker_single) -> None:
    code = (
        "class Anything:\n    def __eq__(self, other):\n        return True\n"
        "def add(a, b):\n    return Anything()\n"
    )
    result = docker_single.run("python", code, [CallTest("add", [2, 2], 4)], LIMITS)
    assert result.verdict is Verdict.WA


def test_hostile_broken_container_is_replaced(docker_single) -> None:
    for container in _containers(docker_single.backend):
        subprocess.run(["docker", "rm", "-f", container], check=True, capture_output=True)
    result = docker_single.run("python", "print('done')", [NOTHING], LIMITS)
    assert result.verdict is Verdict.AC, result
    assert_left_nothing(docker_single)


def test_hostile_hundred_submissions_at_once(docker) -> None:
    async def run_all() -> list[Verdict]:
        runs = [
            docker.backend.run(
                Program("python", f"print(int(input()) * {i})"),
                [StdioTest("3\n", f"{3 * i}\n")],
                LIMITS,
            )
            for i in range(100)
        ]
        return [result.verdict for result in await asyncio.gather(*runs)]

    start = time.monotonic()
    verdicts = docker.loop.call(run_all())
    assert verdicts == [Verdict.AC] * 100
    assert time.monotonic() - start < 60


def _labelled_container(owner: str) -> str:
    labels = [f"{LABEL}=1", f"{LABEL}.host={socket.gethostname()}", f"{LABEL}.owner={owner}"]
    argv = ["docker", "create", *(f"--label={label}" for label in labels), default_image(), "true"]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def _exists(container: str) -> bool:
    return subprocess.run(["docker", "inspect", container], capture_output=True).returncode == 0


def test_hostile_orphan_containers_are_removed_at_start(docker_ready, loop_thread) -> None:
    namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    orphan = _labelled_container(f"999999:1@{namespace}")
    # Same host name, another pid namespace (a containerised service on the host's network):
    # its owner cannot be checked from here, so its containers are not ours to remove.
    foreign = _labelled_container("999999:1@4026599999")
    backend = DockerBackend()
    try:
        removed = loop_thread.call(backend.remove_orphans())
        foreign_kept = _exists(foreign)
    finally:
        loop_thread.call(backend.engine.close())
        subprocess.run(["docker", "rm", "-f", foreign], capture_output=True)
    assert removed >= 1
    assert not _exists(orphan)
    assert foreign_kept
