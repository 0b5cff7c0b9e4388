"""Prometheus metrics: HTTP requests, statements stored, auth failures, forwarding per target.

Each app has its own registry (no module-level state), so several apps in one process (tests)
do not mix their counts. Under `lrs serve` every gunicorn worker is a process of its own; the
server then sets PROMETHEUS_MULTIPROC_DIR (one directory per instance) before any worker
starts, the counters live in files there, and a scrape answered by any worker sums them all.
Forwarding figures are read from the store at scrape time, so they are the same whichever
process answers (and whichever process forwards).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from lrs.hooks import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from lrs.core import LRS

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A label value the client chooses would let anyone add series without end (memory here, and
# cardinality in Prometheus): a method outside HTTP's registered ones (RFC 9110, PATCH RFC 5789)
# is counted as OTHER_METHOD. Routes are rule templates and statuses the app's own answers.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
OTHER_METHOD = "other"
# The route of a request the server answers before the application (lrs.worker: a body over its
# bound, a malformed request, one that did not arrive in time), which no route template matched.
SERVER_ROUTE = "(answered by the server)"


def enable_multiprocess(directory: str) -> None:
    """Count in files under `directory`, summed over the processes forked from here on.
    prometheus_client reads the variable when it is imported, so it is re-read here."""
    os.environ[MULTIPROC_ENV] = directory
    values.ValueClass = values.get_value_class()


class Metrics:
    """The LRS's own metrics. It is also a pluggy plugin: statements stored are counted by the
    same hook every plugin sees, so the core needs no knowledge of metrics."""

    def __init__(self, lrs: "LRS"):
        self.lrs = lrs
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "lrs_http_request_duration_seconds", "HTTP requests by route template, method and status, "
            "with their latency", ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.statements = Counter("lrs_statements_stored", "Statements stored, by source (xapi or the "
                                  "adapter plugin's name)", ["source"], registry=self.registry)
        self.auth_failures = Counter("lrs_auth_failures", "Requests refused for missing or wrong "
                                     "credentials (401), by route template", ["route"], registry=self.registry)
        self.registry.register(ForwardingCollector(lrs))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in HTTP_METHODS else OTHER_METHOD
        self.requests.labels(route, method, str(status)).observe(seconds)
        if status == 401:
            self.auth_failures.labels(route).inc()

    @hookimpl
    def lrs_statements_stored(self, statements: list[dict], source: str, lrs: "LRS") -> None:
        if lrs is self.lrs:
            self.statements.labels(source).inc(len(statements))

    def exposition(self) -> bytes:
        """The Prometheus text format: this process's registry, or every worker's when multi-process."""
        if not os.environ.get(MULTIPROC_ENV):
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(ForwardingCollector(self.lrs))
        return generate_latest(registry)


class ForwardingCollector:
    """Per-target forwarding figures (lrs.forwarding.status.forwarding_metrics), read from the
    store at scrape time."""

    FAMILIES = (  # (name in forwarding_metrics, metric type, Prometheus name, help)
        ("backlog", GaugeMetricFamily, "lrs_forward_backlog", "Statements waiting to be forwarded"),
        ("lag_seconds", GaugeMetricFamily, "lrs_forward_lag_seconds",
         "Age of the oldest statement not yet forwarded (0: caught up)"),
        ("delivered_total", CounterMetricFamily, "lrs_forward_delivered", "Statements delivered"),
        ("delivered_per_second", GaugeMetricFamily, "lrs_forward_delivered_per_second", "Recent delivery rate"),
        ("retries_total", CounterMetricFamily, "lrs_forward_retries", "Failed delivery attempts"),
        ("retrying", GaugeMetricFamily, "lrs_forward_retrying", "Statements set aside and retried on their own"),
        ("dead_letters", GaugeMetricFamily, "lrs_forward_dead_letters", "Statements the target refused for good"),
        ("paused", GaugeMetricFamily, "lrs_forward_paused",
         "1 while the target is held for a failure only an operator can fix (misconfigured, refusing everything)"),
        ("last_success_timestamp", GaugeMetricFamily, "lrs_forward_last_success_timestamp_seconds",
         "Unix time of the last delivery (0: never)"),
        ("last_error_timestamp", GaugeMetricFamily, "lrs_forward_last_error_timestamp_seconds",
         "Unix time of the last failed attempt (0: never)"),
    )

    def __init__(self, lrs: "LRS"):
        self.lrs = lrs

    def collect(self) -> Iterator[Metric]:
        from lrs.forwarding.status import forwarding_metrics

        figures = forwarding_metrics(self.lrs)
        for key, family, name, documentation in self.FAMILIES:
            metric = family(name, documentation, labels=["target"])
            for target, figure in figures.items():
                metric.add_metric([target], figure[key])
            yield metric
