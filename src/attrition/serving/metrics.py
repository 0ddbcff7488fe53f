"""Prometheus metrics of the prediction service.

With several server processes, `attrition serve` sets `PROMETHEUS_MULTIPROC_DIR`
before the workers start, and `/metrics` aggregates every process's values.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


def multiprocess() -> bool:
    """Whether metrics are shared between server processes through files."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class ServingMetrics:
    """The service's counters, histograms and gauges, in their own registry."""

    def __init__(self) -> None:
        disable_created_metrics()  # `_created` series double the output and say little here
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "attrition_http_requests",
            "HTTP requests by method, route and status code.",
            ["method", "path", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "attrition_http_request_duration_seconds",
            "Time from request start to response end, by route.",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "attrition_predictions",
            "Predictions served, by risk band and model version.",
            ["risk_band", "model_version"],
            registry=r,
        )
        self.model_info = Gauge(
            "attrition_model_info",
            "1 for the model version being served.",
            ["model_name", "model_version", "alias"],
            registry=r,
            multiprocess_mode="max",
        )
        self.reload_failures = Counter(
            "attrition_model_reload_failures",
            "Model versions that failed to load or to answer a smoke prediction.",
            registry=r,
        )
        self.governance_alerts = Counter(
            "attrition_governance_alerts",
            "Champion versions (or registry states) found not backed by the audit trail.",
            registry=r,
        )
        self.store_pending = Gauge(
            "attrition_prediction_store_pending",
            "Predictions accepted but not yet written to the store.",
            registry=r,
            multiprocess_mode="livesum",
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if multiprocess():
            from prometheus_client import multiprocess as mp

            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
