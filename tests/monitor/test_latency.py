"""Latency and error rate per model version from prediction-store rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from attrition.monitor.latency import latency_findings, latency_metrics


def stored() -> pd.DataFrame:
    t0 = datetime(2025, 5, 1, tzinfo=UTC)
    latency = np.r_[np.arange(1, 101, dtype=float), np.full(100, 50.0)]
    return pd.DataFrame(
        {
            "created_at": [t0 + timedelta(hours=i) for i in range(200)],
            "model_version": ["1"] * 100 + ["2"] * 100,
            "latency_ms": latency,
            "probability": np.r_[np.full(199, 0.2), np.nan],
        }
    )


def test_quantiles_per_version_and_day() -> None:
    metrics = latency_metrics(stored())
    assert metrics["by_version"]["1"]["p50_ms"] == pytest.approx(
        np.quantile(np.arange(1, 101), 0.5)
    )
    assert metrics["by_version"]["2"]["p99_ms"] == 50.0
    assert metrics["by_version"]["2"]["errors"] == 1
    assert metrics["overall"]["requests"] == 200
    assert sum(d["requests"] for d in metrics["by_day"].values()) == 200
    assert metrics["errors_recorded"] is False


def test_findings_compare_with_limits() -> None:
    metrics = latency_metrics(stored())
    slow = latency_findings(metrics, p99_limit_ms=10, error_rate_limit=0.01)
    assert slow["latency"][0] and "slowest: version 1" in slow["latency"][1]
    assert not slow["errors"][0]  # 1 in 200 = 0.5% < 1%
    assert latency_findings(latency_metrics(stored().iloc[:0]), 10, 0.01)["latency"][0] is False


def test_a_status_column_counts_failures() -> None:
    frame = stored().assign(status=["ok"] * 180 + ["error"] * 10 + ["ok"] * 10)
    assert latency_metrics(frame)["overall"]["errors"] == 11  # 10 marked, 1 without a score
