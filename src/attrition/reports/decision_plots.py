"""Figures of how the model was chosen: the fairness frontier and the decision curve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

_POINT, _CHOSEN, _LIMIT = "#486581", "#b42318", "#9aa5b1"


def plot_frontier(candidates: Sequence[Mapping[str, Any]], policy: str) -> Figure:
    """Out-of-fold ROC AUC against the largest gated fairness gap, one point per candidate.

    `candidates` are the entries of `fairness_frontier.json`: bars are the 95%
    intervals, the chosen candidate is ringed, and dashed lines mark gate thresholds.
    """
    fig = Figure(figsize=(6.5, 4.8))
    ax = fig.subplots()
    limits: set[float] = set()
    for entry in candidates:
        gap = entry.get("largest_gated_gap") or {}
        x = gap.get("value")
        auc = float(entry["roc_auc"])
        low, high = entry["roc_auc_interval"]
        x_plot = 0.0 if x is None else float(x)
        x_low, x_high = _bounds(gap.get("interval"), x_plot)
        colour = _CHOSEN if entry.get("chosen") else _POINT
        ax.errorbar(
            [x_plot],
            [auc],
            xerr=[[x_plot - x_low], [x_high - x_plot]],
            yerr=[[auc - float(low)], [float(high) - auc]],
            fmt="o",
            color=colour,
            capsize=3,
        )
        if entry.get("chosen"):
            ax.scatter([x_plot], [auc], s=260, facecolors="none", edgecolors=_CHOSEN, zorder=3)
        label = entry["name"] + (" (chosen)" if entry.get("chosen") else "")
        if x is None:
            label += ", no gated gap"
        ax.annotate(label, (x_plot, auc), textcoords="offset points", xytext=(8, 6), fontsize=8)
        if gap.get("threshold") is not None:
            limits.add(float(gap["threshold"]))
    for limit in sorted(limits):
        ax.axvline(limit, linestyle="--", color=_LIMIT)
        ax.annotate(f"gate {limit:g}", (limit, ax.get_ylim()[0]), fontsize=8, color=_LIMIT)
    ax.set_xlabel("Largest gated fairness gap (out-of-fold, 95% interval)")
    ax.set_ylabel("ROC AUC (out-of-fold, 95% interval)")
    ax.set_title(f"Fairness frontier ({policy} policy)")
    return fig


def plot_decision_curve(
    thresholds: ArrayLike,
    net_per_period: ArrayLike,
    flagged_share: ArrayLike,
    capacity_share: float,
    chosen: float,
) -> Figure:
    """Expected net savings per period against the threshold; capacity and the choice marked."""
    t = np.clip(np.asarray(thresholds, dtype=float), 0.0, 1.0)
    net = np.asarray(net_per_period, dtype=float)
    share = np.asarray(flagged_share, dtype=float)
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.subplots()
    ax.plot(t, net, color=_POINT, label="net savings per period")
    over = share > capacity_share + 1e-12
    if over.any():
        edge = float(t[over].max())
        ax.axvspan(0.0, edge, color=_LIMIT, alpha=0.25, label="over capacity")
        ax.axvline(edge, color=_LIMIT, linestyle="--")
    ax.axvline(chosen, color=_CHOSEN, label=f"chosen threshold {chosen:.3f}")
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("Threshold (flag employees scoring at or above it)")
    ax.set_ylabel("Expected net savings per period")
    ax.set_title(f"Decision curve (out-of-fold; capacity {capacity_share:.0%} of employees)")
    ax.legend(loc="best", fontsize=8)
    return fig


def _bounds(interval: Any, value: float) -> tuple[float, float]:
    if not interval or interval[0] is None or interval[1] is None:
        return value, value
    low, high = float(interval[0]), float(interval[1])
    return min(low, value), max(high, value)
