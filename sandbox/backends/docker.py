"""The Docker backend: a pool of warm, hardened containers, each running one runner.

Per container: no network, read-only root, a size-limited tmpfs work dir, a pids limit,
memory with swap equal to memory, one CPU, every capability dropped but the six the runner
needs to drop to an unprivileged uid and to clean up (programs keep none), no-new-privileges,
a seccomp allowlist (sandbox/image/seccomp.json: no io_uring, no SysV or POSIX IPC, no
namespaces), an init process, no IPC namespace to share, /dev/mqueue read-only, no logging
of its output. Memory limits times the pool's size must fit in the host's memory. A
submission costs one frame in and a few frames out on the attached stream: no `docker exec`,
no container start.

Containers carry labels (io.verifier.sandbox=1, host, owner pid:start-time, pool id) so a pool
removes its own at close and, at start, the ones a crashed process on the same host left behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sandbox.backends.base import BrokenWorkerError, FrameBuffer, WorkerPool, encode_frame
from sandbox.backends.engine import AttachedStream, DockerEngine
from sandbox.errors import InvalidSubmissionError, SandboxError
from sandbox.jobs import Job, read_runner_source
from sandbox.types import Limits, Program, RunResult, Test

LABEL = "io.verifier.sandbox"
SANDBOX_UID = 10001
CHECKER_UID = 10002  # the trusted checker of function-call and assert tests
WORK_ROOT = "/work"
_RUNNER_CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"]
_MEMORY_USAGE = ["/sys/fs/cgroup/memory.stat", "/sys/fs/cgroup/memory/memory.stat"]
_OOM_EVENTS = ["/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"]
# Docker's own masked paths (a list given replaces them), then the cgroup counters that add
# up over the container's life: a submission must not read what earlier ones used. The runner
# keeps what it needs (memory.stat, memory.events / memory.oom_control). Missing paths are
# skipped, so one list serves cgroup v1 and v2.
_DOCKER_MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                  "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                  "/sys/devices/virtual/powercap"]  # fmt: skip
# The cpu controller stays (the JVM sizes itself by its quota); its counters do not.
_CGROUP_V1_DIRS = ["cpuacct", "cpuset", "blkio", "pids", "devices", "freezer", "systemd",
                   "net_cls", "net_prio", "net_cls,net_prio", "perf_event", "hugetlb", "rdma",
                   "misc"]  # fmt: skip
_CGROUP_FILES = ["cpu/cpu.stat", "cpu,cpuacct/cpu.stat", "cpu,cpuacct/cpuacct.usage",
                 "cpu,cpuacct/cpuacct.stat", "cpu,cpuacct/cpuacct.usage_all",
                 "cpu,cpuacct/cpuacct.usage_percpu", "cpu,cpuacct/cpuacct.usage_sys",
                 "cpu,cpuacct/cpuacct.usage_user",
                 "memory/memory.max_usage_in_bytes", "memory/memory.memsw.max_usage_in_bytes",
                 "memory/memory.kmem.max_usage_in_bytes", "memory/memory.failcnt",
                 "memory/memory.memsw.failcnt", "memory/memory.kmem.failcnt",
                 "memory/memory.kmem.tcp.max_usage_in_bytes", "memory/memory.numa_stat",
                 "cpu.stat", "cpu.stat.local", "cpu.pressure", "memory.peak",
                 "memory.swap.peak", "memory.swap.events", "memory.pressure",
                 "memory.numa_stat", "io.stat", "io.pressure", "irq.pressure", "pids.peak",
                 "pids.events"]  # fmt: skip
MASKED_PATHS = _DOCKER_MASKED + [
    f"/sys/fs/cgroup/{name}" for name in _CGROUP_V1_DIRS + _CGROUP_FILES
]


def image_tag() -> str:
    """The image built from this recipe: the same hash build_image.sh computes."""
    image = resources.files("sandbox.image")
    recipe = (
        image.joinpath("build_image.sh").read_bytes() + image.joinpath("packages.sh").read_bytes()
    )
    repo = os.environ.get("SANDBOX_IMAGE_REPO", "verifier-sandbox")
    return f"{repo}:{hashlib.sha256(recipe).hexdigest()[:12]}"


def default_image() -> str:
    return os.environ.get("SANDBOX_IMAGE") or image_tag()


def seccomp_profile() -> str:
    """The containers' syscall filter (written by sandbox/image/make_seccomp.py)."""
    return resources.files("sandbox.image").joinpath("seccomp.json").read_text()


def host_memory_mb() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") >> 20


@dataclass(frozen=True)
class DockerSettings:
    """How the pool's containers are made."""

    image: str = ""  # default: SANDBOX_IMAGE or the tag of sandbox/image's recipe
    pool_size: int = 0  # default: the number of CPUs, at least 2
    cpus: float = 1.0
    pids_limit: int = 64
    work_mb: int = 64  # tmpfs work dir; it is charged to the container's memory too
    # Compilers (g++, javac, rustc) need more than small test limits: a container gets at least
    # this much; a test is still MLE above its own limit (the runner samples the cgroup's usage
    # every 5 ms and kills past it; peak RSS and the cgroup's OOM kills count too).
    memory_floor_mb: int = 512
    memory_headroom_mb: int = 96  # the runner and the tmpfs work dir


def _container_memory_mb(settings: DockerSettings, memory_mb: int) -> int:
    return max(memory_mb, settings.memory_floor_mb) + settings.work_mb + settings.memory_headroom_mb


def max_memory_mb(settings: DockerSettings, pool_size: int) -> int:
    """The largest memory_mb a job may ask for: the whole pool at it fits the host."""
    return host_memory_mb() // pool_size - settings.work_mb - settings.memory_headroom_mb


def _runner_config() -> dict[str, Any]:
    tmp = f"{WORK_ROOT}/run/.tmp"
    return {
        "uid": SANDBOX_UID,
        "gid": SANDBOX_UID,
        "checker_uid": CHECKER_UID,
        "work_root": WORK_ROOT,
        "kill_namespace": True,
        "oom_events_files": _OOM_EVENTS,
        "memory_usage_files": _MEMORY_USAGE,
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


def container_config(
    image: str, settings: DockerSettings, labels: dict[str, str], *, memory_mb: int
) -> dict[str, Any]:
    """The Engine API body that creates one hardened sandbox container."""
    memory = _container_memory_mb(settings, memory_mb) << 20
    return {
        "Image": image,
        "Cmd": ["python3", "-I", "-c", read_runner_source(), json.dumps(_runner_config())],
        "User": "0:0",  # the runner; it runs every program as SANDBOX_UID with no capabilities
        "WorkingDir": WORK_ROOT,
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"],
        "Labels": labels,
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "OpenStdin": True,
        "StdinOnce": False,
        "Tty": False,
        "NetworkDisabled": True,
        "HostConfig": {
            "NetworkMode": "none",
            "ReadonlyRootfs": True,
            "Tmpfs": {
                WORK_ROOT: f"rw,exec,nosuid,nodev,size={settings.work_mb}m,mode=755",
                # Over the mqueue fs, where creating a file would create a queue.
                "/dev/mqueue": "ro,nosuid,nodev,noexec,size=4k,mode=555",
            },
            "PidsLimit": settings.pids_limit,
            "Memory": memory,
            "MemorySwap": memory,
            "NanoCpus": int(settings.cpus * 1e9),
            "CapDrop": ["ALL"],
            "CapAdd": _RUNNER_CAPS,
            "SecurityOpt": ["no-new-privileges", f"seccomp={seccomp_profile()}"],
            "MaskedPaths": MASKED_PATHS,
            "Init": True,
            "IpcMode": "none",
            "LogConfig": {"Type": "none", "Config": {}},
            "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 1024}],
        },
    }


class DockerWorker:
    """One warm container and its attached runner."""

    def __init__(
        self,
        engine: DockerEngine,
        container_id: str,
        stream: AttachedStream,
        *,
        settings: DockerSettings,
        memory_mb: int,
    ) -> None:
        self.engine = engine
        self.container_id = container_id
        self._stream = stream
        self._frames = FrameBuffer()
        self._settings = settings
        self._memory_mb = memory_mb

    async def send(self, message: dict[str, Any]) -> None:
        try:
            await self._stream.write(encode_frame(message))
        except (ConnectionError, OSError) as exc:
            raise BrokenWorkerError(f"cannot write to the sandbox: {exc}") from exc

    async def receive(self) -> dict[str, Any]:
        while (frame := self._frames.next_frame()) is None:
            self._frames.feed(await self._stream.read_stdout())
        return frame

    async def prepare(self, job: Job) -> None:
        wanted = _container_memory_mb(self._settings, job.limits.memory_mb)
        if wanted != _container_memory_mb(self._settings, self._memory_mb):
            memory = wanted << 20
            # Raising: swap first; lowering: memory first (the API wants memory <= swap).
            await self.engine.update_container(
                self.container_id, {"Memory": memory, "MemorySwap": memory}
            )
            self._memory_mb = job.limits.memory_mb

    async def destroy(self) -> None:
        await self._stream.close()
        await asyncio.shield(self.engine.remove_container(self.container_id))


class DockerBackend:
    """Runs jobs in a pool of warm containers of the sandbox image."""

    name = "docker"
    address_space_limit = False

    def __init__(
        self, settings: DockerSettings | None = None, *, engine: DockerEngine | None = None
    ) -> None:
        self.settings = settings or DockerSettings()
        self.image = self.settings.image or default_image()
        self.engine = engine or DockerEngine()
        self.labels = {
            LABEL: "1",
            f"{LABEL}.host": socket.gethostname(),
            f"{LABEL}.owner": owner_identity(os.getpid()),
            f"{LABEL}.pool": uuid.uuid4().hex,
        }
        self.size = self.settings.pool_size or max(2, os.cpu_count() or 1)
        self.pool = WorkerPool(self._create_worker, size=self.size)

    @property
    def max_memory_mb(self) -> int:
        return max_memory_mb(self.settings, self.size)

    async def start(self) -> None:
        if not await self.engine.ping():
            raise SandboxError(f"no docker daemon answers at {self.engine.socket_path}")
        if not await self.engine.image_exists(self.image):
            raise SandboxError(f"sandbox image {self.image} is missing: run `make sandbox-image`")
        await self.remove_orphans()
        await self.pool.start()

    async def remove_orphans(self) -> int:
        """Remove sandbox containers on this host whose owning process is gone (a crash)."""
        host_labels = {LABEL: "1", f"{LABEL}.host": socket.gethostname()}
        removed = 0
        for container in await self.engine.list_containers(host_labels):
            owner = container.get("Labels", {}).get(f"{LABEL}.owner", "")
            if not _owner_alive(owner):
                await self.engine.remove_container(container["Id"])
                removed += 1
        return removed

    async def _create_worker(self) -> DockerWorker:
        memory_mb = Limits().memory_mb
        config = container_config(self.image, self.settings, self.labels, memory_mb=memory_mb)
        container_id = await self.engine.create_container(config)
        try:
            stream = await self.engine.attach(container_id)
            worker = DockerWorker(
                self.engine, container_id, stream, settings=self.settings, memory_mb=memory_mb
            )
            await self.engine.start_container(container_id)
            async with asyncio.timeout(30):
                ready = await worker.receive()
            if ready.get("type") != "ready":
                raise SandboxError(f"runner did not start: {ready}")
        except BaseException:
            await self.engine.remove_container(container_id)
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
        if limits.memory_mb > self.max_memory_mb:
            raise InvalidSubmissionError(
                f"memory_mb {limits.memory_mb} is over {self.max_memory_mb}: the host's memory "
                f"shared by {self.size} sandbox containers"
            )
        # The memory limit is the cgroup's: no RLIMIT_AS.
        return await self.pool.run_submission(
            program,
            tests,
            limits,
            stop_on_first_failure=stop_on_first_failure,
            float_tolerance=float_tolerance,
            address_space=False,
        )

    async def close(self) -> None:
        await self.pool.close()
        mine = {f"{LABEL}.pool": self.labels[f"{LABEL}.pool"]}
        for container in await self.engine.list_containers(mine):
            await self.engine.remove_container(container["Id"])
        await self.engine.close()


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        return "?"


def owner_identity(pid: int) -> str:
    """pid:start-time@pid-namespace: a reused pid is not mistaken for the process that made a
    container, nor is a process of another pid namespace (a containerised service sharing the
    host's name) with the same number."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            start = handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return f"{pid}:?@{_pid_namespace()}"
    return f"{pid}:{start}@{_pid_namespace()}"


def _owner_alive(owner: str) -> bool:
    """False only when the owner is provably gone: it lived in our pid namespace and its
    pid:start-time no longer matches. An owner in another namespace cannot be checked from
    here, so its containers are left alone."""
    pid, _, rest = owner.partition(":")
    _, at, namespace = rest.partition("@")
    if not at or namespace != _pid_namespace():
        return True
    return not pid.isdigit() or owner_identity(int(pid)) == owner
