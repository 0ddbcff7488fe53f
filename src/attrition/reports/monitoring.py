"""Monitoring artifacts under their contract names, as in-memory files.

`drift_metrics.json`, `feature_drift.png`, `prediction_drift.png`,
`data_drift_report.html` (a static summary) beside Evidently's
`data_drift_report_interactive.html`, `performance_metrics.json`,
`error_analysis.html`, `latency_metrics.json`. The same bytes go to the MLflow
run and to `--out`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attrition.reports.error_analysis import error_analysis_html
from attrition.reports.format import figure_png

if TYPE_CHECKING:
    from attrition.monitor.drift_check import DriftCheck
    from attrition.monitor.performance import PerformanceResult

Files = dict[str, str | bytes]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def dump_json(data: Any) -> str:
    """Indented JSON; numpy scalars become numbers, NaN becomes null."""
    return json.dumps(_clean(data), indent=2, default=_plain, allow_nan=False)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return value.item()
    return value


def drift_files(check: DriftCheck) -> Files:
    """The drift artifacts of one check: metrics, two plots, the summary page and Evidently's."""
    from attrition.reports.drift_plots import plot_feature_drift, plot_prediction_drift
    from attrition.reports.drift_report import (
        INTERACTIVE,
        SUMMARY,
        DriftPage,
        drift_headline,
        drift_summary_html,
    )

    drivers = list(check.context.get("top_drivers") or [])
    headline = drift_headline(check.features, drivers, check.predicted_rate)
    prediction = plot_prediction_drift(
        check.reference_scores,
        check.current_scores,
        check.prediction,
        threshold=check.threshold,
        predicted_rate=check.predicted_rate,
    )
    version = check.context.get("model_version")
    summary = drift_summary_html(
        DriftPage(
            result=check.features,
            reference_label="reference (training)",
            current_label="current",
            model_name=check.context.get("model_name"),
            version=str(version) if version is not None else None,
            top_drivers=drivers,
            prediction=check.prediction,
            predicted_rate=check.predicted_rate,
            interactive=INTERACTIVE if check.html else None,
        )
    )
    files: Files = {
        "drift_metrics.json": dump_json(check.to_dict()),
        "feature_drift.png": figure_png(plot_feature_drift(check.features, drivers, headline)),
        "prediction_drift.png": figure_png(prediction),
        SUMMARY: summary,
    }
    if check.html:
        files[INTERACTIVE] = check.html
    return files


def latency_files(metrics: dict[str, Any]) -> Files:
    """`latency_metrics.json`."""
    return {"latency_metrics.json": dump_json(metrics)}


def performance_files(result: PerformanceResult) -> Files:
    """`performance_metrics.json` and `error_analysis.html`."""
    return {
        "performance_metrics.json": dump_json(result.to_dict()),
        "error_analysis.html": error_analysis_html(result),
    }


def write_files(files: Files, folder: Path) -> list[Path]:
    """Write artifacts into `folder` (created if needed); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        written.append(target)
    return written
