"""Drift pictures: per-column drift ranked by score, and the predicted-probability shift.

Each measure gets its own axis (a distance and a p-value do not share a scale),
columns are ranked by how far past their threshold they are, and the model's top
drivers are marked. The titles carry the headline of `drift_report.drift_headline`,
so a picture never says "no drift" while a driver moved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from attrition.drift import DriftResult, FeatureDrift

DRIFTED = "#b42318"
STABLE = "#627d98"
TOP_DRIVERS = 5


def ranked(result: DriftResult) -> list[tuple[str, FeatureDrift]]:
    """Columns from the strongest drift to the weakest (score relative to its threshold)."""
    return sorted(result.features.items(), key=lambda item: (-item[1].strength, item[0]))


def driver_ranks(top_drivers: Sequence[str], limit: int = TOP_DRIVERS) -> dict[str, int]:
    """Rank (1 = strongest) of each of the model's first `limit` drivers."""
    return {name: i + 1 for i, name in enumerate(list(top_drivers)[:limit])}


def _axis_value(feature: FeatureDrift) -> float:
    if feature.p_value:
        return -math.log10(min(max(feature.score, 1e-300), 1.0))
    return feature.score


def _axis_threshold(feature: FeatureDrift) -> float:
    return -math.log10(feature.threshold) if feature.p_value else feature.threshold


def _axis_label(measure: str, p_value: bool) -> str:
    name = measure or "drift score"
    return f"-log10 {name} (drift above the line)" if p_value else f"{name} (drift at the line)"


def plot_feature_drift(
    result: DriftResult, top_drivers: Sequence[str] = (), headline: str = ""
) -> Figure:
    """Horizontal bars of drift per column, one panel per measure, ranked, drivers marked."""
    rows = ranked(result)
    drivers = driver_ranks(top_drivers)
    measures: dict[str, list[tuple[str, FeatureDrift]]] = {}
    for name, feature in rows:
        measures.setdefault(feature.measure or feature.method, []).append((name, feature))
    heights = [max(len(items), 1) for items in measures.values()] or [1]
    fig = Figure(figsize=(9, max(3.0, 0.3 * sum(heights) + 1.0 * len(heights) + 1.2)))
    if not rows:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no columns tested", ha="center", va="center")
        return fig
    axes = fig.subplots(len(measures), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (measure, items) in zip(axes[:, 0], measures.items(), strict=True):
        y = np.arange(len(items))
        values = [_axis_value(f) for _, f in items]
        colours = [DRIFTED if f.drifted else STABLE for _, f in items]
        ax.barh(y, values, color=colours)
        limit = _axis_threshold(items[0][1])
        ax.axvline(limit, color="black", linestyle="--", linewidth=1, label="drift threshold")
        labels = [
            f"{name}  [driver #{drivers[name]}]" if name in drivers else name for name, _ in items
        ]
        ax.set_yticks(y, labels, fontsize=9)
        for tick, (name, _) in zip(ax.get_yticklabels(), items, strict=True):
            if name in drivers:
                tick.set_fontweight("bold")
        ax.invert_yaxis()
        ax.set_xlabel(_axis_label(measure, items[0][1].p_value), fontsize=9)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(headline or default_title(result), fontsize=10, wrap=True)
    fig.tight_layout()
    return fig


def default_title(result: DriftResult) -> str:
    """The column count and decision, when no headline was written."""
    return (
        f"{len(result.drifted_features)} of {len(result.features)} columns drifted "
        f"(dataset drift from {result.share_threshold:.0%})"
    )


def plot_prediction_drift(
    reference_scores: np.ndarray,
    current_scores: np.ndarray,
    result: dict[str, Any],
    *,
    threshold: float | None = None,
    predicted_rate: dict[str, Any] | None = None,
) -> Figure:
    """Overlaid densities of reference and current attrition probabilities.

    The title leads with the flagged share at the threshold when it is known,
    because that is what changes for the people the model flags.
    """
    fig = Figure(figsize=(8, 4.2))
    ax = fig.add_subplot()
    bins = np.linspace(0.0, 1.0, 41).tolist()
    ax.hist(reference_scores, bins=bins, density=True, alpha=0.55, label="reference")
    ax.hist(current_scores, bins=bins, density=True, alpha=0.55, label="current")
    ax.set_xlabel("predicted attrition probability")
    ax.set_ylabel("density")
    status = "DRIFT" if result.get("drifted") else "stable"
    lines = [
        f"Scores {status}: PSI {result['psi']:.3f} (limit {result['psi_threshold']:.2f}), "
        f"K-S p {result['ks_pvalue']:.3g}"
    ]
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    if predicted_rate is not None:
        moved = "DRIFT" if predicted_rate.get("drifted") else "within limits"
        lines.insert(
            0,
            f"Flagged share {predicted_rate['reference_rate']:.0%} -> "
            f"{predicted_rate['current_rate']:.0%} at threshold "
            f"{predicted_rate['threshold']:.2f} ({moved})",
        )
    ax.set_title("\n".join(lines), fontsize=10)
    ax.legend()
    fig.tight_layout()
    return fig
