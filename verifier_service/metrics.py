"""Prometheus metrics of the service, kept in one registry per app instance."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from verifier_service.cache import CacheStats

# (process, stats) of every cache: "service" for the service process, "workers" summed over
# the grading workers.
CacheSource = Callable[[], list[tuple[str, CacheStats]]]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """Requests, items, latencies per component, timeouts, errors, cache and queue depth."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "verifier_requests",
            "HTTP requests by endpoint and status code.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "verifier_request_seconds",
            "HTTP request latency by endpoint.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.items = Counter(
            "verifier_items",
            "Graded items by component and outcome (correct, incorrect, error).",
            ["component", "outcome"],
            registry=self.registry,
        )
        self.item_errors = Counter(
            "verifier_item_errors",
            "Per-item errors by component and error code.",
            ["component", "code"],
            registry=self.registry,
        )
        self.timeouts = Counter(
            "verifier_timeouts",
            "Items whose grading was stopped at its time limit.",
            ["component"],
            registry=self.registry,
        )
        self.grading_seconds = Histogram(
            "verifier_grading_seconds",
            "Time to grade one item (cache misses only), by component.",
            ["component"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "verifier_cache_lookups",
            "Lookups of the grading cache by result (hit, miss).",
            ["result"],
            registry=self.registry,
        )
        self.code_verdicts = Counter(
            "verifier_code_verdicts",
            "Code submissions by overall verdict (AC, WA, TLE, MLE, OLE, RE, CE, SE).",
            ["verdict"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "verifier_rejections",
            "Requests turned away, by reason (rate_limited, overloaded, unauthorized).",
            ["reason"],
            registry=self.registry,
        )
        self.admitted_items = Gauge(
            "verifier_admitted_items",
            "Items of requests being served now (bounded by VERIFIER_MAX_QUEUED_ITEMS).",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "verifier_queue_depth",
            "Items submitted to the grading workers and not finished yet.",
            registry=self.registry,
        )
        self.deadline_expired = Counter(
            "verifier_deadline_expired_items",
            "Items answered with a 'timeout' error because their request's deadline passed.",
            registry=self.registry,
        )
        self.audit_sampled = Counter(
            "verifier_audit_sampled",
            "Graded items sampled for the audit, by component.",
            ["component"],
            registry=self.registry,
        )
        self.audit_dropped = Counter(
            "verifier_audit_dropped",
            "Sampled items dropped because the audit queue was full, by component.",
            ["component"],
            registry=self.registry,
        )
        self.audit_comparisons = Counter(
            "verifier_audit_comparisons",
            "Audited items by component, second verifier, deciding rule and outcome (agree, "
            "rules_reject_judge_accepts, rules_accept_math_verify_rejects, ...).",
            ["component", "second", "rule", "outcome"],
            registry=self.registry,
        )
        self.audit_errors = Counter(
            "verifier_audit_errors",
            "Audits whose second verifier failed (timeout, crash, judge error), by kind.",
            ["component", "kind"],
            registry=self.registry,
        )
        self.audit_estimated_rate = Gauge(
            "verifier_audit_estimated_rate",
            "Estimated share of wrong rewards (false_negative: of rejected items; "
            "false_positive: of accepted items), from the audit's second opinions.",
            ["component", "kind"],
            registry=self.registry,
        )
        self.caches = _CacheCollector()
        self.registry.register(self.caches)
        # process_resident_memory_bytes and friends, of the service process
        ProcessCollector(registry=self.registry)


class _CacheCollector(Collector):
    """Each cache's bytes, budget, entries and counters, read at scrape time."""

    def __init__(self) -> None:
        self.source: CacheSource | None = None

    def collect(self) -> Iterator[Metric]:
        labels = ["cache", "process"]
        held = {
            "bytes": GaugeMetricFamily(
                "verifier_cache_bytes", "Bytes held by each cache (estimated).", labels=labels
            ),
            "max_bytes": GaugeMetricFamily(
                "verifier_cache_max_bytes", "Byte budget of each cache.", labels=labels
            ),
            "entries": GaugeMetricFamily(
                "verifier_cache_entries", "Entries held by each cache.", labels=labels
            ),
        }
        counted = {
            name: CounterMetricFamily(f"verifier_cache_{name}", help_text, labels=labels)
            for name, help_text in (
                ("evictions", "Entries dropped to stay within the budget."),
                ("refused", "Entries not stored because they alone were too large."),
                ("hits", "Lookups answered by the cache."),
                ("misses", "Lookups the cache could not answer."),
            )
        }
        for process, stats in self.source() if self.source else []:
            for name, gauge in held.items():
                gauge.add_metric([stats.name, process], getattr(stats, name))
            for name, counter in counted.items():
                counter.add_metric([stats.name, process], getattr(stats, name))
        yield from held.values()
        yield from counted.values()
