"""The local backend, for hosts without Docker: Linux namespaces plus rlimits.

It isolates LESS than the Docker backend; use it only where Docker cannot run:
- each warm runner lives in its own pid, network, mount, IPC and UTS namespaces (`unshare`):
  no network at all, programs see only their own processes, kill(-1) reaches only them;
- the work dir is a size-limited tmpfs private to the namespace; /tmp, /var/tmp, /run,
  /dev/shm, /home and /root are covered by empty tmpfs and `/` is remounted read-only there;
- memory is limited by RLIMIT_AS where the runtime allows it (not for the JVM, node or Go,
  whose heaps are bounded by their own flags or not at all): no cgroup, so no hard cap on the
  total memory of a program's process tree, and no CPU quota;
- started as root, programs run as uid 10001 with no capabilities (as in Docker); started as
  another user, a user namespace maps that user to root and programs run as that same user:
  they can read what that user can read on the host filesystem and signal the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from typing import Any

from sandbox.backends.base import BrokenWorkerError, FrameBuffer, WorkerPool, encode_frame
from sandbox.errors import SandboxError
from sandbox.jobs import Job, read_runner_source
from sandbox.types import Limits, Program, RunResult, Test

SANDBOX_UID = 10001
CHECKER_UID = 10002  # the trusted checker of function-call and assert tests
WORK_ROOT = "/tmp/sandbox-work"
_HIDDEN_DIRS = ("/var/tmp", "/run", "/dev/shm", "/home", "/root")
logger = logging.getLogger(__name__)

# Runs as pid 1 of the new namespaces: private mounts first, then the runner in place of sh.
_BOOT = """set -e
mount -t tmpfs -o size=$1m,mode=755 tmpfs /tmp
mkdir -p $2
for dir in $3; do [ -d "$dir" ] && mount -t tmpfs -o size=1m,mode=755 tmpfs "$dir" || true; done
mount -o remount,bind,ro / 2>/dev/null || true
exec python3 -I -c "$4" "$5"
"""


def _runner_config(*, as_root: bool) -> dict[str, Any]:
    tmp = f"{WORK_ROOT}/run/.tmp"
    return {
        "uid": SANDBOX_UID if as_root else None,
        "gid": SANDBOX_UID if as_root else None,
        "checker_uid": CHECKER_UID if as_root else None,
        "work_root": WORK_ROOT,
        "kill_namespace": True,
        "oom_events_files": [],
        "nproc": 256 if as_root else None,  # RLIMIT_NPROC counts the uid host-wide
        "env": {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": tmp,
            "TMPDIR": tmp,
            "GOCACHE": f"{tmp}/go-cache",
            "GOPATH": f"{tmp}/go",
            "GO111MODULE": "off",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
    }


def runner_command(*, work_mb: int, as_root: bool) -> list[str]:
    """The argv that starts one namespaced runner."""
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
    argv += ["--net", "--mount", "--ipc", "--uts"]
    if not as_root:
        argv += ["--user", "--map-root-user"]
    config = json.dumps(_runner_config(as_root=as_root))
    hidden = " ".join(_HIDDEN_DIRS)
    return [*argv, "sh", "-c", _BOOT, "sandbox", str(work_mb), WORK_ROOT, hidden,
            read_runner_source(), config]  # fmt: skip


class LocalWorker:
    """One namespaced runner process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._frames = FrameBuffer()
        self.stderr_tail = b""
        self._stderr_task = asyncio.get_running_loop().create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.read(4096):
            self.stderr_tail = (self.stderr_tail + chunk)[-4000:]

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(encode_frame(message))
            await self.process.stdin.drain()
        except (ConnectionError, OSError) as exc:
            raise BrokenWorkerError(f"cannot write to the sandbox: {exc}") from exc

    async def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while (frame := self._frames.next_frame()) is None:
            chunk = await self.process.stdout.read(1 << 20)
            if not chunk:
                # The runner's stderr (a traceback) is for the log, not for callers.
                tail = self.stderr_tail.decode(errors="replace").strip()[-2000:]
                logger.error("sandbox runner ended; its stderr: %s", tail or "(empty)")
                raise BrokenWorkerError("sandbox runner ended")
            self._frames.feed(chunk)
        return frame

    async def prepare(self, job: Job) -> None:
        return None

    async def destroy(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()  # --kill-child takes the runner, and with it the namespace
        await self.process.wait()
        self._stderr_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._stderr_task


class LocalBackend:
    """Runs jobs in a pool of namespaced runners on this host (see the module's caveats)."""

    name = "local"

    def __init__(self, *, pool_size: int = 0, work_mb: int = 64) -> None:
        self.as_root = os.geteuid() == 0
        self.work_mb = work_mb
        size = pool_size or max(2, os.cpu_count() or 1)
        self.pool = WorkerPool(self._create_worker, size=size)

    async def start(self) -> None:
        for tool in ("unshare", "python3"):
            if shutil.which(tool) is None:
                raise SandboxError(f"the local sandbox needs {tool} on PATH")
        await self.pool.start()

    async def _create_worker(self) -> LocalWorker:
        argv = runner_command(work_mb=self.work_mb, as_root=self.as_root)
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )
        worker = LocalWorker(process)
        try:
            async with asyncio.timeout(30):
                ready = await worker.receive()
            if ready.get("type") != "ready":
                raise SandboxError(f"runner did not start: {ready}")
        except BaseException:
            await worker.destroy()
            raise
        return worker

    async def run(
        self,
        program: Program,
        tests: Sequence[Test],
        limits: Limits,
        *,
        stop_on_first_failure: bool = False,
        float_tolerance: float | None = None,
    ) -> RunResult:
        # No cgroup here: the memory limit is RLIMIT_AS.
        return await self.pool.run_submission(
            program,
            tests,
            limits,
            stop_on_first_failure=stop_on_first_failure,
            float_tolerance=float_tolerance,
            address_space=True,
        )

    async def close(self) -> None:
        await self.pool.close()
