"""Serving latency and error rate per model version, read from the prediction store.

The store records served predictions with the time each took. It has no row
for a refused request (a 422 or 500 never produced a prediction), so the error
rate here counts stored rows marked as failed (a `status` or `error` column, if
the store has one) and rows without a usable probability; refused requests are
counted by the API's Prometheus metrics (`GET /metrics`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

QUANTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}


def _failed(frame: pd.DataFrame) -> np.ndarray:
    failed = ~np.isfinite(pd.to_numeric(frame["probability"], errors="coerce").to_numpy(float))
    if "status" in frame.columns:
        failed |= ~frame["status"].astype(str).str.lower().isin(["ok", "success", "200"])
    if "error" in frame.columns:
        failed |= frame["error"].notna().to_numpy() & (frame["error"].astype(str) != "")
    return np.asarray(failed, dtype=bool)


def _summary(frame: pd.DataFrame) -> dict[str, Any]:
    latency = pd.to_numeric(frame["latency_ms"], errors="coerce").to_numpy(float)
    latency = latency[np.isfinite(latency)]
    failed = _failed(frame)
    entry: dict[str, Any] = {"requests": len(frame), "errors": int(failed.sum())}
    entry["error_rate"] = float(failed.mean()) if len(frame) else None
    for name, q in QUANTILES.items():
        entry[name] = float(np.quantile(latency, q)) if latency.size else None
    entry["mean_ms"] = float(latency.mean()) if latency.size else None
    entry["max_ms"] = float(latency.max()) if latency.size else None
    return entry


def latency_metrics(stored: pd.DataFrame) -> dict[str, Any]:
    """`latency_metrics.json`: overall, per model version and per day.

    Args:
        stored: prediction-store rows (`latency_ms`, `probability`, `model_version`,
            `created_at`).
    """
    if stored.empty:
        return {"requests": 0, "overall": None, "by_version": {}, "by_day": {}}
    versions = stored["model_version"].astype(str)
    days = pd.to_datetime(stored["created_at"], utc=True).dt.strftime("%Y-%m-%d")
    return {
        "requests": len(stored),
        "first": pd.to_datetime(stored["created_at"], utc=True).min().isoformat(),
        "last": pd.to_datetime(stored["created_at"], utc=True).max().isoformat(),
        "overall": _summary(stored),
        "by_version": {
            version: _summary(part)
            for version, part in stored.groupby(versions, sort=False)
            if isinstance(version, str)
        },
        "by_day": {str(day): _summary(part) for day, part in stored.groupby(days, sort=True)},
        "errors_recorded": bool({"status", "error"} & set(stored.columns)),
    }


def latency_findings(
    metrics: dict[str, Any] | None, p99_limit_ms: float, error_rate_limit: float
) -> dict[str, tuple[bool, str]]:
    """The `latency` and `errors` signals of a monitoring run."""
    overall = (metrics or {}).get("overall")
    if metrics is None or not overall:
        return {"latency": (False, "no stored requests"), "errors": (False, "no stored requests")}
    p99 = overall.get("p99_ms")
    slow = p99 is not None and math.isfinite(p99) and p99 > p99_limit_ms
    worst = max(
        (v for v in metrics["by_version"].items() if v[1].get("p99_ms") is not None),
        key=lambda item: item[1]["p99_ms"],
        default=None,
    )
    where = f" (slowest: version {worst[0]} p99 {worst[1]['p99_ms']:.1f} ms)" if worst else ""
    rate = overall.get("error_rate") or 0.0
    return {
        "latency": (
            bool(slow),
            f"p99 {p99:.1f} ms over {overall['requests']} requests (limit {p99_limit_ms:g} ms)"
            + where
            if p99 is not None
            else "no latencies recorded",
        ),
        "errors": (
            rate > error_rate_limit,
            f"error rate {rate:.2%} over {overall['requests']} requests "
            f"(limit {error_rate_limit:.2%})",
        ),
    }
