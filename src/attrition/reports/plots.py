"""Figures of the reports.

The training run's confusion matrix, ROC curve and prediction histogram, and
the monitoring figures: performance over time, calibration, errors by segment
and fairness over time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn import metrics as skm

if TYPE_CHECKING:
    from attrition.monitor.performance import PerformanceResult

_STAYED, _LEFT = "#627d98", "#b42318"


def plot_confusion_matrix(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> Figure:
    """Counts of stayed/left against predicted, with row percentages."""
    decision = (np.asarray(proba) >= threshold).astype(int)
    matrix = skm.confusion_matrix(np.asarray(y_true).astype(int), decision, labels=[0, 1])
    fig = Figure(figsize=(5, 4.2))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    totals = matrix.sum(axis=1, keepdims=True).clip(min=1)
    for (i, j), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        share = 100 * count / totals[i, 0]
        ax.text(j, i, f"{count}\n({share:.0f}% of row)", ha="center", va="center", color=colour)
    labels = ["stayed", "left"]
    ax.set_xticks([0, 1], [f"predicted {x}" for x in labels])
    ax.set_yticks([0, 1], [f"actually {x}" for x in labels])
    ax.set_title(f"Confusion matrix (test split, threshold {threshold:.2f})")
    return fig


def plot_roc_curve(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC curve (test split)"
) -> Figure:
    """One or more ROC curves; `curves` maps a label to (y_true, proba)."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    for label, (y_true, proba) in curves.items():
        fpr, tpr, _ = skm.roc_curve(np.asarray(y_true).astype(int), proba)
        auc = skm.auc(fpr, tpr)
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("False positive rate (stayers flagged)")
    ax.set_ylabel("True positive rate (leavers caught)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


def plot_prediction_histogram(
    proba: np.ndarray, y_true: np.ndarray, threshold: float, base_rate: float
) -> Figure:
    """Density of predicted attrition probability for stayers and leavers.

    A vertical line marks the decision threshold; a text box compares the
    expected attrition rate (training base rate) with the predicted rate (share
    at or above the threshold) and the mean predicted probability, so a reader
    sees at once whether the model over- or under-flags.

    Raises:
        ValueError: if the arrays differ in length or are empty.
    """
    scores = np.asarray(proba, dtype=float).ravel()
    labels = np.asarray(y_true).ravel().astype(int)
    if scores.size == 0 or scores.size != labels.size:
        raise ValueError(
            f"proba and y_true must be non-empty and equally long, got {scores.size} "
            f"and {labels.size}"
        )
    bins = np.linspace(0.0, 1.0, 31).tolist()
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot()
    for value, name, colour in ((0, "stayed", _STAYED), (1, "left", _LEFT)):
        group = scores[labels == value]
        if group.size:
            ax.hist(
                group,
                bins=bins,
                density=True,
                alpha=0.55,
                color=colour,
                label=f"{name} (n={group.size:,})",
            )
    ax.axvline(
        threshold, color="black", linestyle="--", linewidth=1.5, label=f"threshold {threshold:.3f}"
    )
    predicted_rate = float(np.mean(scores >= threshold))
    text = (
        f"expected attrition rate (training base rate): {base_rate:.1%}\n"
        f"predicted attrition rate (p >= threshold): {predicted_rate:.1%}\n"
        f"mean predicted probability: {float(np.mean(scores)):.1%}"
    )
    ax.text(
        0.98,
        0.97,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8.5,
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.9, "edgecolor": "#cbd2d9"},
    )
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("predicted attrition probability")
    ax.set_ylabel("density")
    ax.set_title("Predicted probability by true outcome")
    ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    return fig


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
