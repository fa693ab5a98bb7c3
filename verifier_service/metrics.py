"""Prometheus metrics of the service, kept in one registry per app instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
