"""Samples of a running service over time, and the slopes that tell a leak from noise.

Every ``interval_s`` a sample records the resident memory of the service process and of each
grading worker, the service's open file descriptors, its processes and its sandbox
containers. After a warm-up (caches filling, pools starting, allocator arenas growing) every
quantity must be flat: its least-squares slope per minute within a bound (``Bounds``).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

MB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    at_s: float  # since the soak started
    service_rss_mb: float
    worker_rss_mb: float  # the largest live worker
    workers: int
    fds: int
    processes: int
    containers: int


@dataclass(frozen=True)
class Bounds:
    """Largest slopes allowed after warm-up, per minute (documented in docs/soak.md)."""

    rss_mb_per_min: float
    fds_per_min: float = 1.0
    processes_per_min: float = 0.5
    containers_per_min: float = 0.5


def take_sample(pid: int, started: float, containers: Callable[[], int]) -> Sample:
    service = psutil.Process(pid)
    descendants = service.children(recursive=True)
    workers = []
    for child in service.children():
        try:  # the workers are the fork server's children (and carry its command line)
            if "forkserver" in " ".join(child.cmdline()):
                workers += [w.memory_info().rss for w in child.children()]
        except psutil.NoSuchProcess:  # replaced between listing and reading
            continue
    return Sample(
        at_s=time.monotonic() - started,
        service_rss_mb=service.memory_info().rss / MB,
        worker_rss_mb=max(workers, default=0) / MB,
        workers=len(workers),
        fds=service.num_fds(),
        processes=len(descendants),
        containers=containers(),
    )


@dataclass
class Sampler:
    """Samples a service in a thread every ``interval_s`` until stopped."""

    pid: int
    interval_s: float
    containers: Callable[[], int]
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        started = time.monotonic()

        def run() -> None:
            while True:
                self.samples.append(take_sample(self.pid, started, self.containers))
                if self._stop.wait(self.interval_s):
                    return

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        return self.samples


def slope_per_min(samples: list[Sample], name: str) -> float:
    """Least-squares slope of ``name`` over the samples, per minute."""
    xs = [s.at_s / 60 for s in samples]
    ys = [float(getattr(s, name)) for s in samples]
    slope, _ = statistics.linear_regression(xs, ys)
    return slope


def slopes(samples: list[Sample], warmup_s: float) -> dict[str, float]:
    after = [s for s in samples if s.at_s >= warmup_s]
    if len(after) < 3:
        raise ValueError(f"{len(after)} samples after warm-up: run longer or sample more often")
    names = ("service_rss_mb", "worker_rss_mb", "fds", "processes", "containers")
    return {name: slope_per_min(after, name) for name in names}


def violations(measured: dict[str, float], bounds: Bounds) -> list[str]:
    limits = {
        "service_rss_mb": bounds.rss_mb_per_min,
        "worker_rss_mb": bounds.rss_mb_per_min,
        "fds": bounds.fds_per_min,
        "processes": bounds.processes_per_min,
        "containers": bounds.containers_per_min,
    }
    return [
        f"{name} grows {measured[name]:+.2f}/min (bound {limit:g}/min)"
        for name, limit in limits.items()
        if measured[name] > limit
    ]


def minute_table(samples: list[Sample]) -> str:
    """A Markdown table: the last sample of each minute."""
    rows = [
        "| minute | service RSS MB | largest worker RSS MB | workers | fds | processes | "
        "containers |",
        "|---|---|---|---|---|---|---|",
    ]
    by_minute: dict[int, Sample] = {}
    for sample in samples:
        by_minute[int(sample.at_s // 60)] = sample
    for minute, s in sorted(by_minute.items()):
        rows.append(
            f"| {minute} | {s.service_rss_mb:.0f} | {s.worker_rss_mb:.0f} | {s.workers} | "
            f"{s.fds} | {s.processes} | {s.containers} |"
        )
    return "\n".join(rows)
