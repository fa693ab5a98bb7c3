"""Harness for Python function-call and assert tests; runs inside the sandbox before the program.

Run as `python3 -c <this source> solution.py`, with the test on fd 3 (a JSON object with a
per-run nonce) and a report channel on fd 4. It reads the test, closes fd 3, moves the channel
to a random hidden descriptor, loads the solution in a fresh namespace, runs the test and
writes `nonce\\n{report}` on the channel, then leaves with os._exit so nothing the program
registered (atexit, __del__, threads) runs after the report. A program that leaves early
(sys.exit, os._exit, an exception) never writes the nonce, so it never passes.

Function-call results are serialised to JSON here (tuples become lists) and compared outside;
the expected value never enters the sandbox.
"""


def _harness() -> None:
    import builtins
    import fcntl
    import json
    import os
    import random
    import sys
    import traceback

    write, exit_now, dumps, format_exception = os.write, os._exit, json.dumps, traceback.format_exc
    raw = b""
    while chunk := os.read(3, 1 << 16):
        raw += chunk
    os.close(3)
    spec = json.loads(raw)
    secret = spec.pop("nonce").encode()
    channel = fcntl.fcntl(4, fcntl.F_DUPFD_CLOEXEC, random.randrange(200, 1000))
    os.close(4)

    def report(payload: dict, code: int) -> None:
        try:  # noqa: SIM105 (keep the harness's imports minimal)
            sys.stdout.flush()  # what the program printed belongs to its stdout
        except BaseException:
            pass
        data = memoryview(secret + b"\n" + dumps(payload).encode())
        while data:
            data = data[write(channel, data) :]
        exit_now(code)

    def fail(status: str, phase: str) -> None:
        message = format_exception()
        sys.stderr.write(message)
        sys.stderr.flush()
        report({"status": status, "phase": phase, "error": message[-4000:]}, 1)

    path = sys.argv[1]
    sys.argv = [path]
    namespace: dict = {"__name__": "solution", "__file__": path, "__builtins__": builtins}
    try:
        with open(path, encoding="utf-8") as handle:
            code = compile(handle.read(), path, "exec")
        exec(code, namespace)
    except BaseException:  # SystemExit too: leaving while loading is not passing
        fail("error", "load")

    if spec["kind"] == "assert":
        try:
            exec(compile(spec["test_code"], "<tests>", "exec"), namespace)
        except AssertionError:
            fail("failed", "test")
        except BaseException:
            fail("error", "test")
        report({"status": "passed"}, 0)

    name = spec["fn_name"]
    function = namespace.get(name)
    if function is None and isinstance(namespace.get("Solution"), type):
        try:
            function = getattr(namespace["Solution"](), name, None)
        except BaseException:
            fail("error", "call")
    if not callable(function):
        report({"status": "error", "phase": "call", "error": f"no function named {name}"}, 1)
        return  # not reached: report() leaves the process
    try:
        value = function(*spec["args"])
    except BaseException:
        fail("error", "call")
    try:
        text = dumps(value)
    except (TypeError, ValueError):
        report({"status": "unserialisable", "type": type(value).__name__}, 1)
    report({"status": "returned", "value": text}, 0)


_harness()
