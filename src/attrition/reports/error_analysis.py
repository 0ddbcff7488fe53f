"""`error_analysis.html`: where the served model errs, how calibrated it is, how fair over time.

`error_analysis_context` gathers the tables, readings and figures of a
`PerformanceResult`; `templates/error_analysis.html.j2` lays them out.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from attrition.reports.format import figure_png, number
from attrition.reports.render import Footer, render

if TYPE_CHECKING:
    from attrition.monitor.performance import PerformanceResult

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
METRIC_HEADERS = (
    "metric",
    "realised",
    "95% interval",
    "estimated (same rows)",
    "estimated (all predictions)",
    "test split at training",
)
PERIOD_METRICS = ("roc_auc", "recall_attrition", "precision_attrition")
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
PLOTTED = {"score_band": "counts", "Department": "rates"}  # one chart each, the rest as tables


def error_analysis_html(result: PerformanceResult, generated: datetime | None = None) -> str:
    """Where the model errs, how calibrated it is, and how fair over time, on one page."""
    return render("error_analysis.html.j2", error_analysis_context(result, generated))


def error_analysis_context(
    result: PerformanceResult, generated: datetime | None = None
) -> dict[str, Any]:
    """The tables, plain-language readings and figures of `error_analysis.html`."""
    from attrition.reports.plots import (
        plot_calibration,
        plot_fairness_over_time,
        plot_performance_over_time,
    )

    ctx = result.context
    fairness: dict[str, Any] = {"frame": None, "unaudited": result.unavailable_attributes}
    if not result.fairness.empty:
        figure = plot_fairness_over_time(result.fairness, result.fairness_limit)
        fairness |= {"frame": result.fairness, "png": figure_png(figure)}
    calibration = None
    if not result.calibration.empty:
        png = figure_png(plot_calibration(result.calibration))
        calibration = {"frame": result.calibration, "png": png}
    periods = None
    if result.periods:
        periods = _periods(result) | {"png": figure_png(plot_performance_over_time(result))}
    return {
        "title": f"Error analysis - {ctx.get('model_name', 'model')}",
        "subtitle": (
            f"Model {ctx.get('model_name', '?')} (champion version "
            f"{ctx.get('model_version', '?')}); {result.predictions:,} stored predictions, "
            f"{result.outcomes:,} outcomes, {result.matched:,} matched to a prediction, "
            f"{result.unmatched:,} without one."
        ),
        "footer": Footer.now(
            generated, model=ctx.get("model_name"), version=ctx.get("model_version")
        ),
        "outcomes_known": result.overall is not None,
        "metrics": {"headers": METRIC_HEADERS, "rows": _metric_rows(result)},
        "reference_calibration_error": result.reference_calibration_error,
        "calibration_error": result.calibration_error,
        "period": result.period,
        "periods": periods,
        "segments": [_segment(name, frame) for name, frame in result.segments.items()],
        "calibration": calibration,
        "fairness": fairness,
    }


def _metric_rows(result: PerformanceResult) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for name, label in METRIC_LABELS.items():
        realised = (result.overall or {}).get(name) or {}
        interval = (
            f"{number(realised.get('low'))} - {number(realised.get('high'))}"
            if realised.get("low") is not None
            else ""
        )
        rows.append(
            (
                label,
                number(realised.get("value")),
                interval,
                number((result.estimated_matched or {}).get(name)),
                number((result.estimated_all or {}).get(name)),
                number(result.reference_metrics.get(name)),
            )
        )
    return rows


def _periods(result: PerformanceResult) -> dict[str, Any]:
    """Counts and realised (with interval) and estimated metrics per period."""
    headers = ["period", "predictions", "outcomes", "leavers"]
    for metric in PERIOD_METRICS:
        headers += [METRIC_LABELS[metric], f"estimated {METRIC_LABELS[metric]}"]
    rows = []
    for entry in result.periods:
        realised = entry.get("realised") or {}
        row = [
            entry["period"],
            entry["predictions"],
            entry["counts"].get("rows", 0),
            entry["counts"].get("leavers", ""),
        ]
        for metric in PERIOD_METRICS:
            value = realised.get(metric) or {}
            span = (
                f" ({number(value.get('low'), '.2f')}-{number(value.get('high'), '.2f')})"
                if value.get("low") is not None
                else ""
            )
            shown = number(value.get("value")) + span if value.get("value") is not None else "n/a"
            row += [shown, number((entry.get("estimated_all") or {}).get(metric))]
        rows.append(row)
    return {"headers": headers, "rows": rows}


def _segment(name: str, frame: pd.DataFrame) -> dict[str, Any]:
    """One segment's table, where its misses concentrate, and (for two segments) a chart."""
    from attrition.reports.plots import plot_error_counts, plot_segment_errors

    title = SEGMENT_TITLES.get(name, f"By {name}")
    reading = None
    if name in BANDS:
        # Within a band every decision is the same, so rates are 0 or 1: counts say more.
        missed = int(frame["false_negatives"].sum())
        if missed:
            top = frame.sort_values("false_negatives", ascending=False).iloc[0]
            reading = (
                f"{int(top['false_negatives'])} of the {missed} leavers missed scored "
                f"{top['group']}; raising recall means flagging more of that band."
            )
    else:
        worst = frame.loc[frame["leavers"] >= 10].sort_values("miss_rate", ascending=False)
        if len(worst) and pd.notna(worst["miss_rate"].iloc[0]):
            reading = (
                f"Most leavers missed in {worst['group'].iloc[0]}: "
                f"{worst['miss_rate'].iloc[0]:.0%} of its {int(worst['leavers'].iloc[0])} "
                "leavers were not flagged."
            )
    png = None
    if PLOTTED.get(name) == "counts":
        png = figure_png(plot_error_counts(frame, title))
    elif PLOTTED.get(name) == "rates":
        png = figure_png(plot_segment_errors(frame, title))
    return {
        "name": name,
        "title": title,
        "frame": frame[list(SHOWN_COLUMNS)].rename(columns=SHOWN_COLUMNS),
        "reading": reading,
        "png": png,
    }
