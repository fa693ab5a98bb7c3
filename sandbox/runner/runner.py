"""Run submissions inside the sandbox: compile once, run every test under limits, stream results.

This file is the whole program that runs inside a sandbox (a warm container, or a namespace
on hosts without Docker). It uses the standard library only and is sent as `python3 -c` source,
so the image needs no copy of it. One process serves one submission after another:

    host -> runner   frame {"files", "compile", "tests", "limits", ...}   (one per submission)
    host -> runner   frame {"type": "stop"}    (optional: stop after the current test)
    runner -> host   frame {"type": "ready"} once, then per submission:
                     {"type": "compile", ...}?  {"type": "test", ...}*  {"type": "done", ...}

A frame is a 4-byte big-endian length and a JSON object. Expected outputs never come in: the
runner only executes and measures; verdicts are decided outside.

Isolation inside (the container adds its own: no network, read-only root, cgroup limits):
- the runner runs as root with a handful of capabilities and is made non-dumpable, so programs
  (run as an unprivileged uid with no capabilities) can neither signal it nor open its file
  descriptors through /proc;
- every program runs in its own session with rlimits; output is read while it runs and capped;
- after every test every process but the runner is killed (the runner is a child subreaper, so
  double-forked daemons come back to it) and, after the submission, the work dir is removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import math
import os
import resource
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import time

_HEADER = struct.Struct(">I")
_MAX_FRAME = 256 * 1024 * 1024
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_READ_CHUNK = 1 << 16
_CHANNEL_CAP = 16 * 1024 * 1024
_KILL_GRACE_S = 3.0
_MEMORY_SAMPLE_MS = 5
_MEMORY_KEYS = {"anon", "rss", "shmem"}  # memory.stat keys of cgroup v2 (anon) and v1 (rss)
_SYSV_IPC = ("/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem")
_MQUEUE_DIR = "/dev/mqueue"
# After clean-up only the runner itself may use memory; more means something survived.
_CLEAN_MEMORY_BYTES = 64 << 20


class _Frames:
    """Length-prefixed JSON frames on two file descriptors."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.buffer = b""

    def _read_exact(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            chunk = os.read(self.in_fd, max(_READ_CHUNK, size - len(self.buffer)))
            if not chunk:
                return None
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read(self) -> dict | None:
        header = self._read_exact(_HEADER.size)
        if header is None:
            return None
        (size,) = _HEADER.unpack(header)
        if size > _MAX_FRAME:
            raise ValueError(f"frame of {size} bytes")
        body = self._read_exact(size)
        return None if body is None else json.loads(body)

    def has_pending(self) -> bool:
        if len(self.buffer) >= _HEADER.size:
            return True
        ready, _, _ = select.select([self.in_fd], [], [], 0)
        return bool(ready)

    def write(self, message: dict) -> None:
        body = json.dumps(message, ensure_ascii=True).encode()
        data = memoryview(_HEADER.pack(len(body)) + body)
        while data:
            written = os.write(self.out_fd, data)
            data = data[written:]


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def _decode(data: bytes) -> str:
    # Invalid bytes become U+FFFD: what leaves the sandbox is always valid Unicode.
    return data.decode("utf-8", "replace")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "replace")


class _Sandbox:
    """The runner's state: who programs run as, where, and how everything is killed."""

    def __init__(self, config: dict) -> None:
        self.uid: int | None = config.get("uid")
        self.gid: int | None = config.get("gid")
        self.root: str = config["work_root"]
        self.workdir = os.path.join(self.root, "run")
        # kill(-1) is only safe inside the sandbox's own pid namespace, where the runner is
        # one of the first processes; anywhere else fall back to walking its descendants.
        self.kill_namespace: bool = config.get("kill_namespace", False) and os.getpid() < 100
        self.oom_events = next(
            (path for path in config.get("oom_events_files", []) if os.path.exists(path)), None
        )
        self.memory_usage = next(
            (path for path in config.get("memory_usage_files", []) if os.path.exists(path)), None
        )
        self.nproc: int | None = config.get("nproc")
        self.env: dict[str, str] = config.get("env", {})

    # -- processes -------------------------------------------------------------------------

    def oom_kills(self) -> int:
        if not self.oom_events:
            return 0
        try:
            with open(self.oom_events) as handle:
                for line in handle:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except OSError:
            return 0
        return 0

    def memory_used(self) -> int | None:
        """Bytes the sandbox's cgroup uses now (processes and work dir), if it can be read."""
        if not self.memory_usage:
            return None
        # Anonymous memory plus tmpfs files; not the page cache (the JVM's mapped modules are
        # shared and cached, and charging them would turn Java's startup into MLE).
        used = 0
        try:
            with open(self.memory_usage) as handle:
                for line in handle:
                    key, _, value = line.partition(" ")
                    if key in _MEMORY_KEYS:
                        used += int(value)
        except (OSError, ValueError):
            return None
        return used

    def _reap(self) -> bool:
        """Reap exited children; True when no child at all is left."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return False

    def _descendants(self) -> list[int]:
        parents: dict[int, int] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as handle:
                    stat = handle.read()
            except OSError:
                continue
            parents[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
        me = os.getpid()
        found: list[int] = []
        frontier = [me]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            found.extend(children)
            frontier.extend(children)
        return found

    def kill_all(self) -> bool:
        """Kill every process the programs started; True when none is left (never raises)."""
        try:
            return self._kill_all()
        except Exception:
            return False

    def _kill_all(self) -> bool:
        deadline = time.monotonic() + _KILL_GRACE_S
        while time.monotonic() < deadline:
            if self._reap():
                return True
            if self.kill_namespace:
                # Inside our own pid namespace: every process but init and the runner.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
            else:
                for pid in self._descendants():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)
        return self._reap()

    def spawn(
        self,
        argv: list[str],
        *,
        stdin_fd: int,
        out_fd: int,
        err_fd: int,
        extra_fds: list[int],
        limits: dict,
    ) -> int:
        """Fork a program with its fds, rlimits and unprivileged identity; return its pid."""
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # child: only os-level calls from here to exec
            try:
                os.close(err_r)
                self._prepare_child([stdin_fd, out_fd, err_fd, *extra_fds], limits)
                os.execvpe(argv[0], argv, self.env)
            except BaseException as exc:  # report any failure to the runner, then die
                try:
                    os.write(err_w, f"{type(exc).__name__}: {exc}".encode()[:4000])
                finally:
                    os._exit(127)
        os.close(err_w)
        failure = b""
        while chunk := os.read(err_r, 4096):
            failure += chunk
        os.close(err_r)
        if failure:
            os.waitpid(pid, 0)
            raise OSError(f"cannot start {argv[0]}: {_decode(failure)}")
        return pid

    def _prepare_child(self, fds: list[int], limits: dict) -> None:
        os.setsid()
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")  # the program dies first when memory runs out
        cpu = math.ceil(limits["cpu_s"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # POSIX message queues are charged to the uid host-wide: a program may create none.
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
        stack = limits["stack_bytes"]
        resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))
        if limits.get("address_space_bytes"):
            size = limits["address_space_bytes"]
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        if self.nproc:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.nproc, self.nproc))
        if self.gid is not None and self.uid is not None:
            os.setgroups([])
            os.setresgid(self.gid, self.gid, self.gid)
            os.setresuid(self.uid, self.uid, self.uid)  # drops every capability
        os.chdir(self.workdir)
        # Move the sources out of the way first, so dup2 never overwrites one still needed.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64) for fd in fds]
        for target, source in enumerate(high):
            os.dup2(source, target, inheritable=True)
        os.closerange(len(high), 65536)

    # -- files ----------------------------------------------------------------------------

    def prepare_workdir(self, files: dict[str, str]) -> None:
        """A fresh work dir; sources stay the runner's (sticky dir) so programs cannot edit them."""
        self.wipe_workdir()
        os.mkdir(self.workdir)
        os.chmod(self.workdir, 0o1777)
        tmp = os.path.join(self.workdir, ".tmp")
        os.mkdir(tmp, 0o700)
        if self.uid is not None and self.gid is not None:
            os.chown(tmp, self.uid, self.gid)
        for name, text in files.items():
            if "/" in name or name.startswith("."):
                raise ValueError(f"bad file name {name!r}")
            path = os.path.join(self.workdir, name)
            with open(path, "wb") as handle:
                handle.write(_encode(text))
            os.chmod(path, 0o644)

    def wipe_workdir(self) -> bool:
        """Remove the work dir; False (never an exception) when something is left."""
        if not os.path.lexists(self.workdir):
            return True
        # The runner overrides permissions (CAP_DAC_OVERRIDE). shutil.rmtree recurses, so a
        # deep tree or a path past PATH_MAX defeats it: rm(1) walks any depth iteratively.
        with contextlib.suppress(Exception):  # RecursionError on a deep tree
            shutil.rmtree(self.workdir, ignore_errors=True)
        if os.path.lexists(self.workdir):
            try:
                subprocess.run(
                    ["rm", "-rf", "--one-file-system", "--", self.workdir],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=30,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError):
                return False
        return not os.path.lexists(self.workdir)

    def left_state(self) -> str:
        """What a submission left that the runner cannot remove: IPC objects or memory."""
        for path in _SYSV_IPC:
            try:
                with open(path) as handle:
                    if len(handle.read().splitlines()) > 1:  # a header, then one line each
                        return f"an object in {path}"
            except OSError:
                continue
        with contextlib.suppress(OSError):
            if os.listdir(_MQUEUE_DIR):
                return "a message queue"
        used = self.memory_used()
        if used is not None and used > _CLEAN_MEMORY_BYTES:
            return f"{used >> 20} MiB in use"
        return ""


def _set_nonblocking(fd: int) -> None:
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)


def _memfd_with(data: bytes) -> int:
    fd = os.memfd_create("stdin", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _run_program(
    sandbox: _Sandbox, argv: list[str], stdin: str, limits: dict, harness_input: dict | None
) -> dict:
    """Run one program to its end or its limit; measure it and collect its output."""
    stdin_fd = _memfd_with(_encode(stdin))
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    readers = {out_r: "stdout", err_r: "stderr"}
    child_fds = [out_w, err_w]
    extra: list[int] = []
    nonce = None
    if harness_input is not None:
        nonce = secrets.token_hex(16)
        payload = json.dumps({**harness_input, "nonce": nonce}).encode()
        extra.append(_memfd_with(payload))
        chan_r, chan_w = os.pipe2(os.O_CLOEXEC)
        extra.append(chan_w)
        child_fds.append(chan_w)
        readers[chan_r] = "channel"
    oom_before = sandbox.oom_kills()
    baseline = sandbox.memory_used()
    # Every process a program starts ends up reaped by the runner (a child subreaper) or by
    # an ancestor it reaps: the children's rusage covers the whole process tree.
    tree_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    try:
        pid = sandbox.spawn(
            argv, stdin_fd=stdin_fd, out_fd=out_w, err_fd=err_w, extra_fds=extra, limits=limits
        )
    finally:
        for fd in {stdin_fd, *child_fds, *extra}:
            os.close(fd)
    caps = {
        "stdout": limits["output_bytes"],
        "stderr": limits["output_bytes"],
        "channel": _CHANNEL_CAP,
    }
    chunks: dict[str, list[bytes]] = {name: [] for name in readers.values()}
    sizes = dict.fromkeys(readers.values(), 0)
    poller = select.poll()
    for fd in readers:
        _set_nonblocking(fd)
        poller.register(fd, select.POLLIN)
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    deadline = start + limits["wall_s"]
    # The cgroup's usage is sampled while the program runs, so a memory bomb stops at its own
    # limit rather than at the container's (which leaves room for compilers). The baseline is
    # taken before the program starts, on a sandbox proven clean after the last submission.
    memory_cap = limits.get("memory_bytes")
    watch_memory = baseline is not None and memory_cap is not None
    stopped_by: str | None = None
    status: int | None = None
    usage = None
    open_readers = set(readers)
    while status is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            stopped_by = "time"
            break
        timeout_ms = remaining * 1000 if pidfd is not None else min(remaining * 1000, 5)
        if watch_memory:
            timeout_ms = min(timeout_ms, _MEMORY_SAMPLE_MS)
        for fd, _event in poller.poll(max(1, math.ceil(timeout_ms))):
            if fd == pidfd:
                continue
            name = readers[fd]
            try:
                data = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                continue
            if not data:
                poller.unregister(fd)
                open_readers.discard(fd)
                continue
            room = caps[name] - sizes[name]
            chunks[name].append(data[:room])
            sizes[name] += len(data)
            if sizes[name] > caps[name]:
                stopped_by = "output"
        if watch_memory:
            used = sandbox.memory_used()
            if used is not None and used - (baseline or 0) > (memory_cap or 0):
                stopped_by = "memory"
        if stopped_by:
            break
        waited, wait_status, wait_usage = os.wait4(pid, os.WNOHANG)
        if waited:
            status, usage = wait_status, wait_usage
    end = time.monotonic()
    if status is None:
        # Limit reached: kill the main process and collect its status; the tree follows.
        os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
    clean = sandbox.kill_all()
    tree = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree_cpu = (tree.ru_utime + tree.ru_stime) - (tree_before.ru_utime + tree_before.ru_stime)
    # Every writer is dead now: drain what is left in the pipes without blocking.
    for fd in list(open_readers):
        name = readers[fd]
        while sizes[name] <= caps[name]:
            try:
                data = os.read(fd, _READ_CHUNK)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            room = caps[name] - sizes[name]
            chunks[name].append(data[:room])
            sizes[name] += len(data)
        if sizes[name] > caps[name] and name != "channel" and stopped_by is None:
            stopped_by = "output"
    for fd in readers:
        os.close(fd)
    if pidfd is not None:
        os.close(pidfd)
    result: dict = {
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu_s": round(max(tree_cpu, 0.0), 6),
        "wall_s": round(end - start, 6),
        "max_rss_kb": usage.ru_maxrss if usage else 0,
        "oom_killed": sandbox.oom_kills() > oom_before,
        "stopped_by": stopped_by,
        "stdout": _decode(b"".join(chunks["stdout"])),
        "stderr": _decode(b"".join(chunks["stderr"])),
        "clean": clean,
    }
    if nonce is not None:
        result["harness"] = _read_harness_report(b"".join(chunks["channel"]), nonce)
    return result


def _read_harness_report(channel: bytes, nonce: str) -> dict | None:
    """The harness's report, only if it carries this run's nonce (the program cannot know it)."""
    head, sep, body = channel.partition(b"\n")
    if not sep or not secrets.compare_digest(head, nonce.encode()):
        return None
    try:
        report = json.loads(body)
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def _serve_submission(sandbox: _Sandbox, frames: _Frames, job: dict) -> None:
    clean = True
    left = ""
    try:
        sandbox.prepare_workdir(job["files"])
        if job.get("compile"):
            step = job["compile"]
            result = _run_program(sandbox, step["argv"], "", step["limits"], None)
            clean = clean and result["clean"]
            frames.write({"type": "compile", **result})
            if result["exit_code"] != 0 or result["stopped_by"]:
                return
        # The tests share one wall budget: a submission cannot hold its worker for longer.
        deadline = time.monotonic() + job.get("budget_s", math.inf)
        for index, test in enumerate(job["tests"]):
            if frames.has_pending():
                message = frames.read()
                if message and message.get("type") == "stop":
                    break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                frames.write({"type": "budget", "index": index})
                break
            limits = {**job["limits"], "wall_s": min(job["limits"]["wall_s"], remaining)}
            result = _run_program(
                sandbox, test["argv"], test.get("stdin", ""), limits, test.get("harness")
            )
            clean = clean and result["clean"]
            frames.write({"type": "test", "index": index, **result})
            failed = (
                result["exit_code"] != 0
                or result["stopped_by"]
                or (test.get("harness") is not None and result.get("harness") is None)
            )
            if failed and job.get("stop_on_first_failure"):
                break
    except Exception as exc:  # a runner fault, reported as such (never as the program's)
        frames.write({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
    finally:
        clean = sandbox.kill_all() and clean
        clean = sandbox.wipe_workdir() and clean
        try:
            left = sandbox.left_state()
        except Exception as exc:  # cannot prove the sandbox clean: it is replaced
            left = f"{type(exc).__name__}"
        frames.write({"type": "done", "clean": clean and not left, "left": left})


def _protect_runner() -> None:
    """Make the runner untouchable from programs and the reaper of everything they start."""
    for sig in (
        signal.SIGTERM,
        signal.SIGINT,
        signal.SIGHUP,
        signal.SIGPIPE,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGQUIT,
    ):
        signal.signal(sig, signal.SIG_IGN)
    _prctl(_PR_SET_DUMPABLE, 0)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def main() -> None:
    config = json.loads(sys.argv[1])
    # Keep the host streams on private descriptors; nothing a program starts can inherit them.
    in_fd = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 10)
    out_fd = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 10)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    os.close(null)
    _protect_runner()
    sandbox = _Sandbox(config)
    frames = _Frames(in_fd, out_fd)
    frames.write({"type": "ready", "pid": os.getpid()})
    while True:
        try:
            job = frames.read()
        except (ValueError, OSError) as exc:
            frames.write({"type": "error", "message": f"bad frame: {exc}"})
            return
        if job is None:
            return
        if job.get("type") == "stop":
            continue
        _serve_submission(sandbox, frames, job)


if __name__ == "__main__":
    try:
        main()
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
