"""Figures of the monitoring reports: performance over time, calibration, errors, fairness."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attrition.monitor.performance import PerformanceResult

SHOWN = (("roc_auc", "ROC AUC"), ("recall_attrition", "Recall (leavers)"))


def plot_performance_over_time(result: PerformanceResult) -> Figure:
    """Realised ROC AUC and leaver recall per period (95% intervals) beside their estimates."""
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    axes = fig.subplots(1, len(SHOWN), squeeze=False)[0]
    labels = [p["period"] for p in result.periods]
    x = np.arange(len(labels))
    for ax, (metric, title) in zip(axes, SHOWN, strict=True):
        realised = [((p.get("realised") or {}).get(metric) or {}) for p in result.periods]
        value = np.array([np.nan if r.get("value") is None else r["value"] for r in realised])
        low = np.array([np.nan if r.get("low") is None else r["low"] for r in realised])
        high = np.array([np.nan if r.get("high") is None else r["high"] for r in realised])
        estimate = np.array(
            [
                np.nan
                if not p.get("estimated_all") or p["estimated_all"].get(metric) is None
                else p["estimated_all"][metric]
                for p in result.periods
            ]
        )
        if np.isfinite(value).any():
            ax.fill_between(x, low, high, alpha=0.2, color="#486581", label="95% interval")
            ax.plot(x, value, marker="o", color="#243b53", label="realised")
        ax.plot(x, estimate, marker="s", linestyle="--", color="#f0b429", label="estimated")
        reference = result.reference_metrics.get(metric)
        if reference is not None:
            ax.axhline(reference, color="grey", linestyle=":", label="test split")
        ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.set_title(title)
        ax.legend(fontsize=7, loc="lower left")
    return fig


def plot_calibration(calibration: pd.DataFrame) -> Figure:
    """Observed leaver rate against the mean score per bin; the diagonal is perfect."""
    fig = Figure(figsize=(4.8, 4.4), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    if not calibration.empty:
        sizes = 20 + 200 * calibration["count"] / calibration["count"].max()
        ax.scatter(calibration["mean_score"], calibration["observed_rate"], s=sizes, zorder=3)
        ax.plot(calibration["mean_score"], calibration["observed_rate"], color="#486581")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("share who left")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Calibration (dot size = employees)")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_segment_errors(table: pd.DataFrame, title: str) -> Figure:
    """False positive rate and miss rate per group of one segmentation."""
    fig = Figure(figsize=(8, max(2.4, 0.35 * len(table) + 1.2)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(table))
    ax.barh(y - 0.2, table["miss_rate"].fillna(0), 0.4, color="#b42318", label="miss rate")
    ax.barh(y + 0.2, table["false_positive_rate"].fillna(0), 0.4, color="#f0b429", label="FP rate")
    ax.set_yticks(y, [f"{g} (n={c})" for g, c in zip(table["group"], table["count"], strict=True)])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("miss rate: leavers not flagged; FP rate: stayers flagged")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_error_counts(table: pd.DataFrame, title: str) -> Figure:
    """Where the errors are: leavers missed and stayers flagged per score band (counts)."""
    fig = Figure(figsize=(8, max(2.4, 0.35 * len(table) + 1.2)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(table))
    ax.barh(y - 0.2, table["false_negatives"], 0.4, color="#b42318", label="leavers missed")
    ax.barh(y + 0.2, table["false_positives"], 0.4, color="#f0b429", label="stayers flagged")
    ax.set_yticks(y, [f"{g} (n={c})" for g, c in zip(table["group"], table["count"], strict=True)])
    ax.invert_yaxis()
    ax.set_xlabel("employees")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_fairness_over_time(fairness: pd.DataFrame, limit: float | None = None) -> Figure:
    """Spread between groups of selection rate and TPR per period, one line per attribute."""
    spread = fairness[fairness["group"] == "(spread)"]
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, squeeze=False)[0]
    periods = sorted(spread["period"].unique())
    x = np.arange(len(periods))
    for ax, (column, title) in zip(
        axes,
        (("selection_rate", "Statistical parity difference"), ("tpr", "Equal opportunity diff.")),
        strict=True,
    ):
        for attribute, part in spread.groupby("attribute"):
            values = part.set_index("period")[column].reindex(periods).astype(float)
            ax.plot(x, values.to_numpy(), marker="o", label=str(attribute))
        if limit is not None:
            ax.axhline(limit, color="#b42318", linestyle="--", linewidth=1, label="limit")
        ax.set_xticks(x, periods, rotation=45, ha="right", fontsize=8)
        top = float(np.nan_to_num(spread[column].astype(float).max(skipna=True)))
        ax.set_ylim(0, max(0.3, top * 1.15))
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig
