"""Monitoring artifacts under the seed's names, as in-memory files.

`drift_metrics.json`, `feature_drift.png`, `prediction_drift.png`,
`data_drift_report.html`, `performance_metrics.json`, `error_analysis.html`,
`latency_metrics.json`. The same bytes go to the MLflow run and to `--out`.
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
from attrition.reports.render import Footer, render

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
    """The four drift artifacts of one check."""
    from attrition.drift import plot_feature_drift, plot_prediction_drift

    prediction = plot_prediction_drift(
        check.reference_scores, check.current_scores, check.prediction
    )
    axis = prediction.axes[0]
    axis.axvline(check.threshold, color="black", linestyle="--", linewidth=1)
    rate = check.predicted_rate
    axis.text(
        check.threshold,
        axis.get_ylim()[1] * 0.95,
        f" threshold {check.threshold:.2f}: flagged {rate['reference_rate']:.0%} -> "
        f"{rate['current_rate']:.0%}",
        fontsize=8,
        va="top",
    )
    html = check.html or render(
        "notice.html.j2",
        {
            "title": "Data drift report",
            "subtitle": "",
            "footer": Footer.now(),
            "heading": "Not built",
            "message": "The HTML report was switched off for this check.",
        },
    )
    return {
        "drift_metrics.json": dump_json(check.to_dict()),
        "feature_drift.png": figure_png(plot_feature_drift(check.features)),
        "prediction_drift.png": figure_png(prediction),
        "data_drift_report.html": html,
    }


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
