"""The trends page's series: published batches and monitoring runs over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from attrition.monitor.runs import KIND_TAG, MODEL_TAG, VERSION_TAG

MONITOR_METRICS = (
    "drift_share",
    "dataset_drift",
    "prediction_drift",
    "predicted_rate",
    "realised_roc_auc",
    "realised_recall_attrition",
    "estimated_roc_auc",
    "matched_outcomes",
)


def batch_series(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per published batch, oldest first: expected leavers with interval, flagged."""
    points = []
    for info in reversed(history):
        summary = info["summary"]
        low, high = summary.get("interval", [None, None])
        employees = int(summary.get("employees", info["rows"]))
        points.append(
            {
                "id": info["id"],
                "at": info["created_at"],
                "version": info["model_version"],
                "semver": info.get("semver"),
                "employees": employees,
                "expected": float(summary.get("expected_leavers", 0.0)),
                "low": low,
                "high": high,
                "flagged": int(summary.get("flagged", 0)),
                "share_flagged": (summary.get("flagged", 0) / employees) if employees else 0.0,
            }
        )
    return points


def monitoring_series(
    client: Any, experiment: str, model_name: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The monitoring runs of the model, oldest first, with their drift and performance numbers."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.`{MODEL_TAG}` = '{model_name}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=limit,
    )
    rows = []
    for run in reversed(runs):
        metrics = run.data.metrics
        rows.append(
            {
                "at": datetime.fromtimestamp(run.info.start_time / 1000, UTC),
                "kind": run.data.tags.get(KIND_TAG, ""),
                "version": run.data.tags.get(VERSION_TAG, ""),
                "decision": run.data.tags.get("attrition.decision"),
                **{name: metrics.get(name) for name in MONITOR_METRICS},
            }
        )
    return rows


@dataclass(frozen=True)
class Chart:
    """A line with an interval band, in SVG coordinates (drawn without scripts)."""

    width: int
    height: int
    line: str
    band: str
    dots: list[tuple[float, float, str]]
    top: float


def chart(values: list[float], lows: list[float], highs: list[float], labels: list[str]) -> Chart:
    """Scale a series and its interval into a small SVG chart."""
    width, height, pad = 640, 180, 24
    top = max([*highs, *values, 1.0]) * 1.1
    n = len(values)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v / top)

    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    upper = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(highs)]
    lower = [f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(lows)))]
    dots = [(x(i), y(v), labels[i]) for i, v in enumerate(values)]
    return Chart(width, height, line, " ".join(upper + lower), dots, top)
