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

from attrition.reports.html import (
    Section,
    figure_png,
    image,
    note,
    page,
    paragraph,
    table,
)

if TYPE_CHECKING:
    from attrition.monitor.drift_check import DriftCheck
    from attrition.monitor.performance import PerformanceResult

Files = dict[str, str | bytes]
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier score (lower is better)",
    "precision_weighted": "Precision (weighted)",
    "recall_weighted": "Recall (weighted)",
    "f1_weighted": "F1 (weighted)",
    "precision_attrition": "Precision (leavers)",
    "recall_attrition": "Recall (leavers)",
    "f1_attrition": "F1 (leavers)",
}
SEGMENT_TITLES = {
    "Department": "By department",
    "score_band": "By score band (predicted probability)",
    "risk_band": "By risk band",
    "JobRole": "By job role",
    "JobLevel": "By job level",
    "OverTime": "By overtime",
    "MaritalStatus": "By marital status",
    "BusinessTravel": "By business travel",
    "AgeBand": "By age band",
    "model_version": "By model version",
}


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
    html = check.html or page(
        "Data drift report",
        [Section("Not built", paragraph("The HTML report was switched off for this check."))],
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


# --- error_analysis.html -------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _metrics_table(result: PerformanceResult) -> str:
    rows = []
    for name, label in METRIC_LABELS.items():
        realised = (result.overall or {}).get(name) or {}
        interval = (
            f"{_fmt(realised.get('low'))} - {_fmt(realised.get('high'))}"
            if realised.get("low") is not None
            else ""
        )
        rows.append(
            {
                "metric": label,
                "realised": _fmt(realised.get("value")),
                "95% interval": interval,
                "estimated (same rows)": _fmt((result.estimated_matched or {}).get(name)),
                "estimated (all predictions)": _fmt((result.estimated_all or {}).get(name)),
                "test split at training": _fmt(result.reference_metrics.get(name)),
            }
        )
    return table(pd.DataFrame(rows))


def _period_table(result: PerformanceResult) -> str:
    rows = []
    for entry in result.periods:
        realised = entry.get("realised") or {}
        row: dict[str, Any] = {
            "period": entry["period"],
            "predictions": entry["predictions"],
            "outcomes": entry["counts"].get("rows", 0),
            "leavers": entry["counts"].get("leavers", ""),
        }
        for metric in ("roc_auc", "recall_attrition", "precision_attrition"):
            value = realised.get(metric) or {}
            span = (
                f" ({_fmt(value.get('low'), 2)}-{_fmt(value.get('high'), 2)})"
                if value.get("low") is not None
                else ""
            )
            row[METRIC_LABELS[metric]] = (
                _fmt(value.get("value")) + span if value.get("value") is not None else "n/a"
            )
            row[f"estimated {METRIC_LABELS[metric]}"] = _fmt(
                (entry.get("estimated_all") or {}).get(metric)
            )
        rows.append(row)
    return table(pd.DataFrame(rows))


SHOWN_COLUMNS = {
    "group": "group",
    "count": "employees",
    "leavers": "leavers",
    "flagged": "flagged",
    "false_positives": "stayers flagged (FP)",
    "false_negatives": "leavers missed (FN)",
    "mean_score": "mean score",
    "leaver_rate": "leaver rate",
    "accuracy": "accuracy",
    "false_positive_rate": "FP rate",
    "miss_rate": "miss rate",
    "precision": "precision",
}
BANDS = ("score_band", "risk_band")


def _segment_section(name: str, frame: pd.DataFrame) -> Section:
    from attrition.reports.plots import plot_error_counts, plot_segment_errors

    title = SEGMENT_TITLES.get(name, f"By {name}")
    body = table(frame[list(SHOWN_COLUMNS)].rename(columns=SHOWN_COLUMNS))
    if name in BANDS:
        # Within a band every decision is the same, so rates are 0 or 1: counts say more.
        missed = int(frame["false_negatives"].sum())
        if missed:
            top = frame.sort_values("false_negatives", ascending=False).iloc[0]
            body += note(
                f"{int(top['false_negatives'])} of the {missed} leavers missed scored "
                f"{top['group']}; raising recall means flagging more of that band."
            )
        if name == "score_band":
            body += image(figure_png(plot_error_counts(frame, title)), f"errors {name}")
        return Section(title, body)
    worst = frame.loc[frame["leavers"] >= 10].sort_values("miss_rate", ascending=False).head(1)
    if len(worst) and pd.notna(worst["miss_rate"].iloc[0]):
        body += note(
            f"Most leavers missed in {worst['group'].iloc[0]}: "
            f"{worst['miss_rate'].iloc[0]:.0%} of its {int(worst['leavers'].iloc[0])} leavers "
            "were not flagged."
        )
    if name == "Department":
        body += image(figure_png(plot_segment_errors(frame, title)), f"errors {name}")
    return Section(title, body)


def error_analysis_html(result: PerformanceResult) -> str:
    """Where the model errs, how calibrated it is, and how fair over time, on one page."""
    from attrition.reports.plots import (
        plot_calibration,
        plot_fairness_over_time,
        plot_performance_over_time,
    )

    ctx = result.context
    subtitle = (
        f"Model {ctx.get('model_name', '?')} (champion version {ctx.get('model_version', '?')}); "
        f"{result.predictions:,} stored predictions, {result.outcomes:,} outcomes, "
        f"{result.matched:,} matched to a prediction, {result.unmatched:,} without one."
    )
    sections = []
    if result.overall is None:
        sections.append(
            Section(
                "Outcomes not yet known",
                note(
                    "No outcome has been matched to a stored prediction yet, so the numbers "
                    "below are estimates from the model's calibrated probabilities only. Run "
                    "`attrition monitor performance --outcomes FILE` once leave/stay outcomes "
                    "arrive."
                ),
            )
        )
    sections.append(
        Section(
            "Performance: realised, estimated and at training",
            _metrics_table(result)
            + paragraph(
                "Realised metrics compare the served decisions with what happened. Estimated "
                "metrics need no outcomes: each prediction counts as a leaver with the "
                "probability the model gave it, which is right when the model is calibrated "
                f"(calibration error on the test split at training: "
                f"{_fmt(result.reference_calibration_error)}; on these outcomes: "
                f"{_fmt(result.calibration_error)})."
            ),
        )
    )
    if result.periods:
        sections.append(
            Section(
                f"Over time (per {result.period} of the prediction date)",
                image(figure_png(plot_performance_over_time(result)), "performance over time")
                + _period_table(result),
            )
        )
    for name, frame in result.segments.items():
        sections.append(_segment_section(name, frame))
    if not result.calibration.empty:
        sections.append(
            Section(
                "Calibration",
                image(figure_png(plot_calibration(result.calibration)), "calibration")
                + table(result.calibration),
            )
        )
    fairness_body = ""
    if not result.fairness.empty:
        figure = plot_fairness_over_time(result.fairness, result.fairness_limit)
        fairness_body += image(figure_png(figure), "fairness over time")
        fairness_body += table(result.fairness)
    if result.unavailable_attributes:
        missing = ", ".join(result.unavailable_attributes)
        fairness_body += note(
            f"Not audited: {missing} (neither among the stored model inputs nor in the outcomes "
            "file; add the column to the outcomes file to audit it)."
        )
    if fairness_body:
        sections.append(
            Section(
                "Fairness over time",
                paragraph(
                    "Per period and group: selection rate (share flagged) and true positive "
                    "rate (share of leavers flagged); '(spread)' is max - min over groups with "
                    "enough employees."
                )
                + fairness_body,
            )
        )
    return page(f"Error analysis - {ctx.get('model_name', 'model')}", sections, subtitle)
