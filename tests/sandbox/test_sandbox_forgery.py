"""Forged passes of function-call and assert tests: every attempt fails, its honest twin passes.

Each case is a program that tries to pass the tests below without adding numbers: objects that
compare equal to anything, patched builtins, walking frames or the heap to the code that judges
the test, signals, threads, forks, file descriptors, other processes. Its twin has the same
shape and adds correctly. On real Docker and on the local backend.
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import AssertTest, CallTest, Limits, RunResult, Verdict

LIMITS = Limits(time_s=2, wall_time_s=4, memory_mb=128)
# One style of check per test, so a trick that fools one style shows as a passed test.
TESTS = [
    AssertTest("assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"),
    AssertTest(
        "def check(candidate):\n    assert abs(candidate(0.5, 0.25) - 0.75) < 1e-9\ncheck(add)\n"
    ),
    AssertTest("import math\nassert math.isclose(add(1.5, 1.5), 3.0)\n"),
    AssertTest(
        "import fractions\n"
        "assert isinstance(add(1, 2), int) and add(fractions.Fraction(1, 2).numerator, 2) == 3\n"
    ),
    CallTest("add", [2, 3], 5),
]

WRONG = "def add(a, b):\n    {hook}\n    return a - b\n"
RIGHT = "def add(a, b):\n    {hook}\n    return a + b\n"

# The report the in-interpreter harness wrote; a walker that finds the harness's locals
# (its nonce and channel) writes it and leaves.
FORGE = """
import json, os, sys
def forge(frame):
    while frame is not None:
        names = frame.f_locals
        if "secret" in names and "channel" in names:
            report = json.dumps({"status": "passed"}).encode()
            os.write(names["channel"], names["secret"] + b"\\n" + report)
            os._exit(0)
        if "report" in names and callable(names["report"]):
            names["report"]({"status": "passed"}, 0)
        frame = frame.f_back
"""

ALWAYS_EQUAL = "class Anything:\n    def __eq__(self, other):\n        return True\n"


def case(
    name: str,
    prelude: str,
    hook: str = "pass",
    *,
    twin_prelude: str | None = None,
    twin_hook: str | None = None,
) -> Any:
    """A wrong add behind a trick; its twin adds correctly, keeping the trick where harmless."""
    twin_code = RIGHT.format(hook=hook if twin_hook is None else twin_hook)
    twin = (prelude if twin_prelude is None else twin_prelude) + twin_code
    return pytest.param(prelude + WRONG.format(hook=hook), twin, id=name)


def returning(name: str, prelude: str, value: str) -> Any:
    """A program whose add returns `value` (an impostor); the twin returns the sum."""
    forged = prelude + f"def add(a, b):\n    return {value}\n"
    return pytest.param(forged, prelude + RIGHT.format(hook="pass"), id=name)


CASES = [
    # -- values that claim to be the answer --------------------------------------------------
    returning("always-equal __eq__", ALWAYS_EQUAL, "Anything()"),
    returning(
        "int subclass equal to everything",
        "class Int(int):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = int.__hash__\n"
        "    def __sub__(self, other):\n        return Int(0)\n",
        "Int(a - b)",
    ),
    returning(
        "float subclass whose difference is zero",
        "class F(float):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = float.__hash__\n"
        "    def __sub__(self, other):\n        return 0.0\n",
        "F(0)",
    ),
    returning(
        "object claiming to be an int",
        "class Fake:\n    __class__ = int\n    def __eq__(self, other):\n        return True\n"
        "    def __sub__(self, other):\n        return 0\n    def __float__(self):\n"
        "        return 3.0\n",
        "Fake()",
    ),
    returning("unittest.mock.ANY", "from unittest.mock import ANY\n", "ANY"),
    returning(
        "every comparison true",
        "class All:\n"
        + "".join(
            f"    def __{op}__(self, other):\n        return True\n"
            for op in ("eq", "ne", "lt", "le", "gt", "ge")
        )
        + "    def __sub__(self, other):\n        return self\n"
        "    def __abs__(self):\n        return 0\n",
        "All()",
    ),
    returning(
        "list holding an always-equal object",
        ALWAYS_EQUAL,
        "[Anything()][0] if a > 100 else Anything()",
    ),
    # -- the interpreter that runs the test --------------------------------------------------
    case(
        "builtins.exec replaced",
        "import builtins\n_exec = builtins.exec\n"
        "builtins.exec = lambda code, *a, **k: None if 'tests' in str(code) else _exec(code, *a)\n",
    ),
    case(
        "builtins.compile replaced",
        "import builtins\n_compile = builtins.compile\n"
        "builtins.compile = lambda src, name, *a, **k: _compile('pass', name, *a, **k)\n",
    ),
    case(
        "builtins.abs replaced",
        "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\n",
    ),
    case(
        "builtin names shadowed by the solution",
        "def abs(x):\n    return 0\ndef isinstance(*a):\n    return True\n",
        twin_prelude="def absolute(x):\n    return x if x > 0 else -x\n",
    ),
    case(
        "math.isclose replaced",
        "import math\nmath.isclose = lambda *a, **k: True\n",
    ),
    case(
        "sys.modules['math'] replaced",
        "import sys, types\nfake = types.ModuleType('math')\nfake.isclose = lambda *a, **k: True\n"
        "sys.modules['math'] = fake\n",
    ),
    case(
        "sys.modules['builtins'] replaced",
        "import sys, types, builtins\nfake = types.ModuleType('builtins')\n"
        "fake.__dict__.update(vars(builtins))\nfake.abs = lambda x: 0\n"
        "sys.modules['builtins'] = fake\n"
        "__builtins__ = fake\n",
    ),
    case(
        "json.dumps replaced",
        "import json\njson.dumps = lambda *a, **k: '5'\n",
    ),
    case(
        "AssertionError replaced",
        "import builtins\nclass Quiet(Exception):\n    pass\nbuiltins.AssertionError = Quiet\n",
    ),
    case(
        "frames: trace function in the test's frames",
        FORGE + "def tracer(frame, event, arg):\n"
        "    if frame.f_code.co_filename == '<tests>':\n        forge(frame)\n"
        "    return tracer\nsys.settrace(tracer)\n",
    ),
    case(
        "audit hook on exec forges the report",
        FORGE + "def hook(event, args):\n    if event == 'exec':\n        forge(sys._getframe())\n"
        "sys.addaudithook(hook)\n",
    ),
    case(
        "import hook forges the report",
        FORGE + "import builtins\n_import = builtins.__import__\n"
        "def hooked(name, *a, **k):\n    if name in ('math', 'fractions'):\n"
        "        forge(sys._getframe())\n    return _import(name, *a, **k)\n"
        "builtins.__import__ = hooked\n",
    ),
    case(
        "module planted for the test's imports",
        # Were it imported by the judge: equal handles, a permissive isinstance.
        "open('fractions.py', 'w').write("
        "'import builtins, gc\\nbuiltins.isinstance = lambda *a: True\\n'"
        "'for o in gc.get_objects():\\n'"
        "'    if type(o) is type and o.__name__ == \"RemoteObject\":\\n'"
        "'        o.__eq__ = lambda s, x: True\\n'"
        "'class Fraction:\\n    numerator = 1\\n    def __init__(self, *a):\\n        pass\\n')\n"
        + ALWAYS_EQUAL,
        "return Anything()",
        twin_hook="pass",
    ),
    # -- walking to the code that judges -----------------------------------------------------
    case("frames: sys._getframe", FORGE, "forge(sys._getframe())"),
    case("frames: inspect.stack", FORGE + "import inspect\n", "forge(inspect.currentframe())"),
    case(
        "frames: traceback of a caught exception",
        FORGE,
        "try:\n        raise ValueError\n    except ValueError as e:\n"
        "        forge(e.__traceback__.tb_frame)",
    ),
    case(
        "frames: traceback.walk_stack",
        FORGE + "import traceback\n",
        "[forge(f) for f, _ in traceback.walk_stack(None)]",
    ),
    case(
        "frames: ctypes PyEval_GetFrame",
        FORGE + "import ctypes\nget = ctypes.pythonapi.PyEval_GetFrame\n"
        "get.restype = ctypes.py_object\n",
        "forge(get())",
    ),
    case(
        "frames: signal handler",
        FORGE + "import signal\nsignal.signal(signal.SIGALRM, lambda s, f: forge(f))\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)\n",
        "[x for x in range(200000)]",
    ),
    case(
        "frames: thread reads sys._current_frames",
        FORGE + "import threading, time\nmain = threading.main_thread().ident\n"
        "def spy():\n    while True:\n        forge(sys._current_frames().get(main))\n"
        "        time.sleep(0.0005)\n"
        "threading.stack_size(1 << 20)\n"  # the local backend's RLIMIT_AS leaves no room for more
        "threading.Thread(target=spy, daemon=True).start()\n",
        "time.sleep(0.01)",
    ),
    case(
        "frames: profile function",
        FORGE + "def profiler(frame, event, arg):\n    if event == 'call':\n        forge(frame)\n"
        "sys.setprofile(profiler)\n",
    ),
    case(
        "frames: finaliser during the test",
        FORGE + "class Bomb:\n    def __del__(self):\n        forge(sys._getframe())\n",
        "Bomb()",
    ),
    case(
        "heap: gc finds the report function",
        "import gc\n",
        "[f({'status': 'passed'}, 0) for f in gc.get_objects() "
        "if getattr(f, '__name__', '') == 'report' and callable(f)]",
    ),
    case(
        "heap: gc finds the test's namespace",
        "import gc\n",
        "[d.__setitem__('check', lambda c: None) for d in gc.get_objects() "
        "if isinstance(d, dict) and 'check' in d]",
    ),
    case(
        "tests read from the judge's memory",
        "import gc, re, ast\n"
        "def answer(a, b):\n    for o in gc.get_objects():\n"
        "        if isinstance(o, dict) and isinstance(o.get('test_code'), str):\n"
        "            for args, want in re.findall(r'\\((-?[\\d.]+, -?[\\d.]+)\\) == ([\\d.]+)',"
        " o['test_code']):\n"
        "                if ast.literal_eval(args) == (a, b):\n"
        "                    return ast.literal_eval(want)\n",
        "if answer(a, b) is not None:\n        return answer(a, b)",
    ),
    case(
        "fork: a child forges the report",
        FORGE,
        "pid = os.fork()\n    if pid == 0:\n        forge(sys._getframe())\n        os._exit(0)\n"
        "    os.waitpid(pid, 0)",
    ),
    case(
        "fork: a child reports after the program ends",
        FORGE + "import time\n",
        "if os.fork() == 0:\n        time.sleep(0.05)\n        forge(sys._getframe())\n"
        "        os._exit(0)",
    ),
    # -- ending early, or ending the judge ---------------------------------------------------
    case("sys.exit at load", "import sys\nsys.exit(0)\n", twin_prelude="import sys\n"),
    case("os._exit at load", "import os\nos._exit(0)\n", twin_prelude="import os\n"),
    case("SystemExit during the call", "", "raise SystemExit(0)", twin_hook="pass"),
    case("KeyboardInterrupt during the call", "", "raise KeyboardInterrupt", twin_hook="pass"),
    case("atexit forges the report", FORGE + "import atexit\natexit.register(forge, None)\n"),
    case(
        "thread exits the process",
        "import os, threading, time\n",
        "threading.Thread(target=lambda: os._exit(0)).start()\n    time.sleep(0.1)",
        twin_hook="pass",
    ),
    case(
        "signals every other process",
        "import os, signal\ndef signal_all():\n"
        "    for p in map(int, filter(str.isdigit, os.listdir('/proc'))):\n"
        "        for s in (signal.SIGSTOP, signal.SIGKILL):\n"
        "            if p != os.getpid():\n"
        "                try:\n                    os.kill(p, s)\n"
        "                except OSError:\n                    pass\n",
        "signal_all()",
    ),
    # -- descriptors, files and other processes ----------------------------------------------
    case(
        "fake reports on every descriptor",
        "import os, json\n",
        "[os.write(fd, b'0' * 32 + b'\\n' + json.dumps({'status': 'passed'}).encode()) "
        "for fd in range(3, 1024) if os.path.exists(f'/proc/self/fd/{fd}')]",
        twin_hook="pass",
    ),
    case(
        "forged replies written ahead on the reply pipe",
        "import os, json, struct\n"
        "for _ in range(20):\n    body = json.dumps({'ok': 5}).encode()\n"
        "    try:\n        os.write(4, struct.pack('>I', len(body)) + body)\n"
        "    except OSError:\n        pass\n",
        twin_prelude="",
    ),
    case(
        "reads the test from its input descriptors",
        "import os\nfor fd in (0, 3):\n    try:\n        os.set_blocking(fd, False)\n"
        "        os.read(fd, 1 << 16)\n    except OSError:\n        pass\n"
        "    finally:\n        os.set_blocking(fd, True)\n",
    ),
    case(
        "writes reports into other processes' descriptors",
        "import os, json\n",
        "[os.write(os.open(f'/proc/{p}/fd/{fd}', os.O_WRONLY), json.dumps({'status': 'passed'})"
        ".encode()) for p in filter(str.isdigit, os.listdir('/proc')) for fd in range(3, 8) "
        "if int(p) != os.getpid() and os.access(f'/proc/{p}/fd/{fd}', os.W_OK)]",
    ),
    case(
        "reads the judge's memory",
        "import os\n",
        "[open(f'/proc/{p}/mem', 'rb') for p in filter(str.isdigit, os.listdir('/proc')) "
        "if os.access(f'/proc/{p}/mem', os.R_OK) and int(p) != os.getpid()]",
    ),
    case(
        "ptrace attaches to every process",
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "for p in filter(str.isdigit, os.listdir('/proc')):\n"
        "    libc.ptrace(16, int(p), 0, 0)\n",
    ),
    case(
        "edits files the test might read",
        "import os\nfor name in ('solution.py', 'tests.py', 'test.py', '/work/tests'):\n"
        "    try:\n        open(name, 'w').write('pass\\n')\n    except OSError:\n        pass\n",
    ),
]


def _verdicts(result: RunResult) -> list[Verdict]:
    return [test.verdict for test in result.tests]


@pytest.mark.parametrize("backend", ["docker", "local"])
@pytest.mark.parametrize(("forged", "twin"), CASES)
def test_forgery_fails_and_its_twin_passes(
    request: pytest.FixtureRequest, backend: str, forged: str, twin: str
) -> None:
    runner = request.getfixturevalue(backend)
    result = runner.run("python", forged, TESTS, LIMITS)
    assert result.passed == 0, _verdicts(result)
    honest = runner.run("python", twin, TESTS, LIMITS)
    assert honest.verdict is Verdict.AC, honest
