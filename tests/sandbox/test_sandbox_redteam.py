"""The red team's reproductions and more, on the real Docker backend (and the local one where it
applies): every program ends with a verdict, leaves nothing the next submission can see, and
stays within limits that count what it really used."""

from __future__ import annotations

import time

import pytest

from sandbox import CallTest, Limits, StdioTest, Verdict
from sandbox.errors import InvalidSubmissionError
from sandbox.jobs import build_job
from sandbox.types import Program

LIMITS = Limits(time_s=1, wall_time_s=3, memory_mb=128)
DONE = StdioTest("", "done\n")

# Runs as the sandbox user: everything a submission could have left that a later one could
# read. Each line must be empty on a clean sandbox.
PROBE = r"""
import os, stat
def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()[1:]
    except OSError:
        return []
print('sysv', [l.split()[:2] for p in ('shm', 'msg', 'sem') for l in lines('/proc/sysvipc/' + p)])
print('mqueue', sorted(os.listdir('/dev/mqueue')) if os.path.isdir('/dev/mqueue') else [])
me = os.getpid()
root = os.path.dirname(os.getcwd())
print('procs', sorted(p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, me)
      and open(f'/proc/{p}/status').read().split('Uid:')[1].split()[0] != '0'))
left = []
for base, dirs, files in os.walk(root):
    left += [os.path.relpath(os.path.join(base, n), root) for n in dirs + files]
print('files', sorted(x for x in left if x not in ('run', 'run/.tmp', 'run/solution.py')))
print('sockets', [l.split()[-1] for l in lines('/proc/net/unix') if '@' in l or '/' in l])
"""
CLEAN = "sysv []\nmqueue []\nprocs []\nfiles []\nsockets []\n"


def assert_clean(runner) -> None:
    result = runner.run("python", PROBE, [StdioTest("", CLEAN)], Limits(time_s=2))
    assert result.verdict is Verdict.AC, result.tests[0].stdout if result.tests else result


def _syscall_program(lines: str) -> str:
    return (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "def call(nr, *args):\n"
        "    r = libc.syscall(nr, *args)\n"
        "    return 'ok' if r >= 0 else os.strerror(ctypes.get_errno())\n" + lines
    )


# --- 1, 2, 7: state planted in one submission, looked for in the next ------------------------

PLANT = _syscall_program(
    "import mmap, socket, subprocess\n"
    "IPC_CREAT, PRIVATE = 0o1000, 0\n"
    "shm = libc.syscall(29, PRIVATE, 180 << 20, IPC_CREAT | 0o666)\n"
    "print('shm', 'ok' if shm >= 0 else os.strerror(ctypes.get_errno()))\n"
    "if shm >= 0:\n"  # touch every page, so the segment holds 180 MiB of the container's memory
    "    libc.shmat.restype = ctypes.c_void_p\n"
    "    ctypes.memset(libc.shmat(shm, None, 0), 1, 180 << 20)\n"
    "print('msg', call(68, 1234, IPC_CREAT | 0o666))\n"
    "print('sem', call(64, 1235, 4, IPC_CREAT | 0o666))\n"
    "print('mq', call(240, b'planted', os.O_CREAT | os.O_RDWR, 0o666, None))\n"
    "for path in ('/dev/mqueue/planted', '/dev/shm/planted', '/tmp/planted', '/work/planted'):\n"
    "    try:\n        open(path, 'w').write('x')\n        print('wrote', path)\n"
    "    except OSError as e:\n        print(path, e.errno)\n"
    "os.makedirs('.tmp/deep/er', exist_ok=True)\nos.mkfifo('.tmp/fifo')\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    s = socket.socket(socket.AF_UNIX)\n    s.bind(b'\\0planted')\n    s.listen()\n"
    "    import time\n    time.sleep(3600)\n"
    "print('done')\n"
)


def test_redteam_planted_ipc_and_files_are_gone_for_the_next_submission(docker_single) -> None:
    result = docker_single.run("python", PLANT, [StdioTest("", "done\n")], LIMITS)
    out = result.tests[0].stdout
    # The syscall filter refuses every IPC object; the mqueue fs is read-only.
    for kind in ("shm", "msg", "sem", "mq"):
        assert f"{kind} Operation not permitted" in out, out
    assert "wrote" not in out, out
    assert_clean(docker_single)


def test_redteam_planted_memory_does_not_poison_a_correct_program(docker_single) -> None:
    for _ in range(3):  # 540 MiB of the container's 672, were the segments allowed
        docker_single.run("python", PLANT, [DONE], Limits(time_s=2, memory_mb=512))
    uses_150_mb = "b = bytearray(150 << 20)\nprint('done')\n"
    python = docker_single.run("python", uses_150_mb, [DONE], Limits(time_s=2, memory_mb=256))
    assert python.verdict is Verdict.AC, python
    cpp = docker_single.run(
        "cpp", "#include <iostream>\nint main(){std::cout<<42<<std::endl;}\n",
        [StdioTest("", "42\n")], LIMITS,
    )  # fmt: skip
    assert cpp.verdict is Verdict.AC, cpp


def test_redteam_same_verdicts_after_a_hostile_submission_as_on_a_fresh_one(
    docker_single,
) -> None:
    program = "import sys\nn = int(input())\nprint(n * n)\n"
    tests = [StdioTest("3\n", "9\n"), StdioTest("4\n", "15\n"), StdioTest("5\n", "25\n")]
    before = docker_single.run("python", program, tests, LIMITS)
    docker_single.run("python", PLANT, [DONE], LIMITS)
    after = docker_single.run("python", program, tests, LIMITS)
    assert [t.verdict for t in after.tests] == [t.verdict for t in before.tests]
    assert (after.verdict, after.passed) == (before.verdict, before.passed) == (Verdict.WA, 2)


def test_redteam_local_backend_recycles_a_runner_left_with_ipc_objects(local) -> None:
    # No syscall filter here: the objects can be made, so the runner is replaced after.
    local.run("python", PLANT, [DONE], LIMITS)
    assert_clean(local)


# --- 3: bytes that are not UTF-8 -------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "code", "verdict", "stream"),
    [
        ("python", "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe')\n", Verdict.WA, "stdout"),
        (
            "c",
            '#include <stdio.h>\nint main(void){fputs("\\xff\\xfe oops",stderr);return 3;}\n',
            Verdict.RE,
            "stderr",
        ),
        ("bash", "printf '\\xc3\\x28\\xed\\xa0\\x80'\nexit 0\n", Verdict.WA, "stdout"),
    ],
    ids=["python stdout", "c stderr", "bash overlong and surrogate bytes"],
)
def test_redteam_invalid_utf8_output_is_replaced(
    docker_single, language: str, code: str, verdict: Verdict, stream: str
) -> None:
    result = docker_single.run(language, code, [DONE], LIMITS)
    assert result.verdict is verdict, result
    text = getattr(result.tests[0], stream)
    assert "\ufffd" in text
    text.encode()  # valid Unicode: no surrogate survives


def test_redteam_invalid_utf8_output_on_the_local_backend(local) -> None:
    code = "import sys\nsys.stdout.buffer.write(b'\\xff')\n"
    result = local.run("python", code, [DONE], LIMITS)
    assert result.tests[0].stdout == "\ufffd"


@pytest.mark.parametrize(
    ("code", "tests"),
    [
        ("print(1)  # \ud800", [DONE]),
        ("print(1)", [StdioTest("\udcff", "1\n")]),
        ("def f(x):\n    return x\n", [CallTest("f", ["\ud800"], "x")]),
    ],
    ids=["code", "stdin", "call args"],
)
def test_redteam_lone_surrogate_input_is_invalid_input(code: str, tests: list) -> None:
    with pytest.raises(InvalidSubmissionError, match="lone surrogate"):
        build_job(Program("python", code), tests, LIMITS)


# --- 4: forged function-call reports ---------------------------------------------------------

FORGED = [
    {"status": "returned", "value": 123},
    {"status": "returned"},
    {"status": "error", "error": 5},
    {"status": "returned", "value": "{not json"},
    {"status": 7},
    {"status": "failed", "error": None},
    {"status": "unserialisable", "type": ["list"]},
    {"status": "returned", "value": "[" * 100_000},
]


@pytest.mark.parametrize("report", FORGED, ids=[str(r)[:40] for r in FORGED])
def test_redteam_forged_call_report_is_the_programs_failure(docker_single, report) -> None:
    code = (
        "import sys\nframe = sys._getframe(1)\n"
        f"frame.f_locals['report']({report!r}, 0)\n"
        "def add(a, b):\n    return a + b\n"
    )
    result = docker_single.run("python", code, [CallTest("add", [1, 2], 3)], LIMITS)
    assert result.verdict in (Verdict.RE, Verdict.WA), result
    assert result.passed == 0


# --- 5: clean-up that anything a program makes cannot defeat ---------------------------------

LITTER = {
    "1500-deep tree": "import os\nfor _ in range(1500):\n    os.mkdir('d')\n    os.chdir('d')\n",
    "path past PATH_MAX": "import os\nfor _ in range(40):\n    os.mkdir('x' * 200)\n"
    "    os.chdir('x' * 200)\nopen('f', 'w').write('x')\n",
    "no permissions": "import os\nos.makedirs('a/b/c')\nopen('a/b/c/f', 'w').write('x')\n"
    "for p in ('a/b/c/f', 'a/b/c', 'a/b', 'a'):\n    os.chmod(p, 0)\n",
    "fifos and sockets": "import os, socket\nos.mkfifo('p')\nos.mkfifo('.tmp/q')\n"
    "socket.socket(socket.AF_UNIX).bind('s')\n",
    "symlink loop and links": "import os\nos.symlink('l1', 'l2')\nos.symlink('l2', 'l1')\n"
    "os.symlink('/work', 'up')\nos.symlink('/', 'root')\n"
    "open('own', 'w').close()\nos.link('own', '.tmp/hard')\n",
    "ten thousand files": "import os\nos.mkdir('many')\nfor i in range(10000):\n"
    "    open(f'many/{i}', 'w').close()\n",
    "sticky and setgid dirs": "import os\nos.mkdir('s', 0o3777)\nos.mkdir('s/t')\n"
    "os.chmod('s', 0o1000)\n",
}


@pytest.mark.parametrize("code", list(LITTER.values()), ids=list(LITTER))
def test_redteam_litter_does_not_make_a_wrong_program_a_sandbox_error(docker_single, code) -> None:
    result = docker_single.run("python", code + "print('wrong')\n", [DONE], LIMITS)
    assert result.verdict is Verdict.WA, result
    assert_clean(docker_single)


def test_redteam_deep_tree_on_the_local_backend(local) -> None:
    result = local.run("python", LITTER["1500-deep tree"] + "print('wrong')\n", [DONE], LIMITS)
    assert result.verdict is Verdict.WA, result
    assert local.run("python", "print('done')", [DONE], LIMITS).verdict is Verdict.AC


# --- 6: CPU time counts the whole process tree ----------------------------------------------

# Generous wall time: the machine may be shared, and the helper must get its CPU second.
CPU_LIMITS = Limits(time_s=0.5, wall_time_s=20, memory_mb=128)
# A helper burns 0.9 s of CPU (ignoring SIGXCPU at its own 1 s rlimit) and hands the answer
# back; the program itself only waits.
BURN = "    t = time.process_time()\n    while time.process_time() - t < 0.9:\n        pass\n"
FORK_BURNER = (
    "import os, signal, time\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nr, w = os.pipe()\n"
    f"if os.fork() == 0:\n{BURN}    os.write(w, b'done')\n    os._exit(0)\n"
    "print(os.read(r, 4).decode())\n"
)
ORPHAN_BURNER = (  # the helper's parent leaves at once: the runner inherits and reaps it
    "import os, signal, time\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nr, w = os.pipe()\n"
    "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
    "        t = time.process_time()\n"
    "        while time.process_time() - t < 0.9:\n            pass\n"
    "        os.write(w, b'done')\n    os._exit(0)\n"
    "print(os.read(r, 4).decode())\n"
)


@pytest.mark.parametrize("code", [FORK_BURNER, ORPHAN_BURNER], ids=["child", "orphan"])
def test_redteam_cpu_burnt_by_a_helper_process_counts(docker_single, code: str) -> None:
    result = docker_single.run("python", code, [DONE], CPU_LIMITS)
    assert result.verdict is Verdict.TLE, result
    assert result.tests[0].time_s > CPU_LIMITS.time_s
    assert result.reason.startswith("CPU time")


def test_redteam_cpu_of_a_child_counts_on_the_local_backend(local) -> None:
    assert local.run("python", ORPHAN_BURNER, [DONE], CPU_LIMITS).verdict is Verdict.TLE


# --- 8: no item holds a worker past its budget -----------------------------------------------


def test_redteam_sleeping_tests_end_within_the_submission_budget(docker_single) -> None:
    job = build_job(
        Program("python", "import time\ntime.sleep(10**6)\n"),
        [DONE] * 8,
        Limits(time_s=1, wall_time_s=2),
        stop_on_first_failure=False,
    )
    job.payload["budget_s"] = 3.0  # as MAX_SUBMISSION_WALL_S would, sooner
    start = time.monotonic()
    result = docker_single.loop.call(docker_single.backend.pool.run(job))
    assert time.monotonic() - start < 12
    assert result.verdict is Verdict.TLE, result
    assert len(result.tests) <= 3


def test_redteam_budget_caps_the_host_timeout() -> None:
    job = build_job(Program("python", "pass"), [DONE] * 200, Limits(time_s=60))
    assert job.payload["budget_s"] == 120.0
    assert job.budget_s < 30 + 120 + 60 + 16


# --- the syscall filter ---------------------------------------------------------------------

DENIED_SYSCALLS = [  # (name, x86-64 number, arguments): each must fail with EPERM
    ("io_uring_setup", 425, (1, None)),
    ("io_uring_register", 427, (0, 0, None, 0)),
    ("unshare user namespace", 272, (0x10000000,)),
    ("setns", 308, (0, 0)),
    ("ptrace attach to the runner", 101, (16, 2, None, None)),
    ("keyctl", 250, (0, -3, 0)),
    ("add_key", 248, (b"user", b"k", b"v", 1, -3)),
    ("bpf", 321, (0, None, 0)),
    ("perf_event_open", 298, (None, 0, -1, -1, 0)),
    ("userfaultfd", 323, (0,)),
    ("personality ADDR_NO_RANDOMIZE", 135, (0x0040000,)),
    ("pidfd_getfd", 438, (0, 0, 0)),
    ("process_vm_readv", 310, (2, None, 0, None, 0, 0)),
    ("shmget", 29, (0, 4096, 0o1600)),
    ("mq_open", 240, (b"q", 0o102, 0o600, None)),
]


@pytest.mark.parametrize(
    ("nr", "args"), [case[1:] for case in DENIED_SYSCALLS], ids=[c[0] for c in DENIED_SYSCALLS]
)
def test_redteam_syscall_is_denied(docker_single, nr: int, args: tuple) -> None:
    code = _syscall_program(f"print(call({nr}, *{args!r}))\n")
    result = docker_single.run("python", code, [StdioTest("", "Operation not permitted\n")], LIMITS)
    assert result.verdict is Verdict.AC, result.tests[0].stdout


def test_redteam_clone3_falls_back_and_threads_still_work(docker_single) -> None:
    code = _syscall_program(
        "print(call(435, None, 0))\nimport threading\nt = threading.Thread(target=print, "
        "args=('thread',))\nt.start()\nt.join()\n"
    )
    expected = [StdioTest("", "Function not implemented\nthread\n")]
    result = docker_single.run("python", code, expected, LIMITS)
    assert result.verdict is Verdict.AC, result.tests[0].stdout


def test_redteam_memory_limit_is_bounded_by_the_host(loop_thread) -> None:
    from sandbox.backends.docker import DockerBackend, DockerSettings, max_memory_mb

    assert max_memory_mb(DockerSettings(), 2) >= 1024
    backend = DockerBackend(DockerSettings(pool_size=1000))
    try:
        with pytest.raises(InvalidSubmissionError, match="host's memory"):
            loop_thread.call(backend.run(Program("python", "pass"), [DONE], LIMITS))
    finally:
        loop_thread.call(backend.engine.close())


COUNTERS = [  # cgroup v1 and v2 names: what earlier submissions used adds up in these
    "cpuacct/cpuacct.usage", "cpuacct/cpuacct.stat", "cpu/cpu.stat",
    "memory/memory.max_usage_in_bytes", "memory/memory.failcnt", "cpu.stat", "memory.peak",
    "io.stat", "pids.peak",
]  # fmt: skip


def test_redteam_cgroup_counters_are_hidden(docker_single) -> None:
    code = (
        "import os\nshown = []\n"
        f"for name in {COUNTERS!r}:\n"
        "    try:\n        text = open('/sys/fs/cgroup/' + name).read()\n"
        "    except OSError:\n        continue\n"
        "    if text.strip():\n        shown.append(name)\nprint(shown)\n"
    )
    result = docker_single.run("python", code, [StdioTest("", "[]\n")], LIMITS)
    assert result.verdict is Verdict.AC, result.tests[0].stdout


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "test", "index": 0},
        {"type": "test", "index": 0, "stopped_by": None, "oom_killed": False, "max_rss_kb": "x"},
        {"type": "compile", "stderr": None},
    ],
    ids=["missing fields", "wrong type", "compile without output"],
)
def test_redteam_malformed_runner_frame_is_a_sandbox_fault_not_an_exception(frame) -> None:
    from sandbox.jobs import Collector

    collector = Collector(build_job(Program("python", "pass"), [DONE], LIMITS))
    assert collector.feed(frame) is True
    collector.feed({"type": "done", "clean": True})
    assert collector.result().verdict is Verdict.SE
