"""`fairness_metrics.png`: the gated differences with their intervals, beside the base rates.

One row per sensitive attribute: on the left each measured difference between groups as
a point with its 95% bootstrap interval as whiskers and the policy's threshold as a
line; on the right each group's leaver (base) rate and flag rate, so a reader can see
how much of a gap the base rates already carry. A last row reports one intersection of
two attributes, with small cells suppressed. Text is sized to stay readable where the
reports embed the figure (about 900 px wide).
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from attrition.fairness import AttributeFairness, Difference, FairnessAssessment
from attrition.fairness.intersection import Intersection

FONT = 12
VERDICT_COLOURS = {
    "pass": "#2f855a",
    "fail": "#b42318",
    "inconclusive": "#b7791f",
}
OTHER_COLOUR = "#7b8794"
BASE_COLOUR = "#9fb3c8"
FLAG_COLOUR = "#243b53"
WORDS = {
    "statistical_parity_difference": "statistical parity",
    "equal_opportunity_difference": "equal opportunity",
    "predictive_parity_difference": "predictive parity",
    "false_positive_rate_difference": "false positive rate",
    "calibration_difference": "calibration",
    "equalized_odds_difference": "equalized odds",
}


def plot_fairness(
    assessment: FairnessAssessment, intersection: Intersection | None = None
) -> Figure:
    """The gated differences and base rates of every attribute, then `intersection`."""
    if not assessment.attributes:
        fig = Figure(figsize=(9, 1.6))
        reason = assessment.reason or "no sensitive attributes were audited"
        fig.text(0.5, 0.5, f"No fairness audit: {reason}.", ha="center", va="center", wrap=True)
        return fig
    rows = len(assessment.attributes) + (intersection is not None)
    heights = [_height(a) for a in assessment.attributes]
    if intersection is not None:
        heights.append(max(2.4, 0.32 * len(intersection.cells) + 1.2))
    fig = Figure(figsize=(13, sum(heights)), layout="constrained")
    grid = fig.add_gridspec(rows, 2, height_ratios=heights, width_ratios=(1.25, 1))
    for i, attribute in enumerate(assessment.attributes):
        _differences(fig.add_subplot(grid[i, 0]), attribute)
        _base_rates(fig.add_subplot(grid[i, 1]), attribute, assessment.min_group_size)
    if intersection is not None:
        _intersection(fig.add_subplot(grid[rows - 1, :]), intersection)
    return fig


def _height(attribute: AttributeFairness) -> float:
    return max(2.6, 0.5 * max(len(attribute.differences), len(attribute.groups)) + 1.3)


def failing_metrics(attribute: AttributeFairness) -> list[str]:
    """The gated metrics of `attribute` that fail, in words."""
    return [
        WORDS.get(m, m) for m, d in attribute.differences.items() if d.gated and d.verdict == "fail"
    ]


def _title(attribute: AttributeFairness) -> str:
    failing = failing_metrics(attribute)
    if failing:
        return f"{attribute.name}: FAIL on {', '.join(failing)}"
    open_ = [
        WORDS.get(m, m)
        for m, d in attribute.differences.items()
        if d.gated and d.verdict == "inconclusive"
    ]
    if open_:
        return f"{attribute.name}: inconclusive on {', '.join(open_)}"
    gated = [WORDS.get(m, m) for m, d in attribute.differences.items() if d.gated]
    if gated:
        return f"{attribute.name}: pass on {', '.join(gated)}"
    return f"{attribute.name}: not gated"


def _differences(ax: Axes, attribute: AttributeFairness) -> None:
    items: list[tuple[str, Difference]] = list(attribute.differences.items())
    positions = np.arange(len(items))[::-1]
    for y, (_metric, diff) in zip(positions, items, strict=True):
        colour = VERDICT_COLOURS.get(diff.verdict, OTHER_COLOUR) if diff.gated else OTHER_COLOUR
        if diff.value is None:
            ax.text(0.005, y, "undefined", va="center", fontsize=FONT - 1, color=OTHER_COLOUR)
        else:
            low = diff.ci_low if diff.ci_low is not None else diff.value
            high = diff.ci_high if diff.ci_high is not None else diff.value
            ax.errorbar(
                diff.value,
                y,
                xerr=[[max(diff.value - low, 0.0)], [max(high - diff.value, 0.0)]],
                fmt="o" if diff.gated else "s",
                color=colour,
                capsize=5,
                markersize=8,
                linewidth=2,
            )
        ax.plot(
            [diff.threshold, diff.threshold],
            [y - 0.38, y + 0.38],
            color="#b42318",
            linestyle="--",
            linewidth=1.6,
        )
    labels = [
        f"{WORDS.get(m, m)}{'' if d.gated else ' (info)'}\n{(d.verdict or 'n/a').replace('_', ' ')}"
        for m, d in items
    ]
    ax.set_yticks(positions, labels, fontsize=FONT - 1)
    ax.set_xlim(left=0)
    ax.set_xlabel(
        "difference between groups (max - min), 95% interval; dashed: threshold", fontsize=FONT - 1
    )
    ax.tick_params(axis="x", labelsize=FONT - 1)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(textwrap.fill(_title(attribute), 58), fontsize=FONT + 1, loc="left")


def _base_rates(ax: Axes, attribute: AttributeFairness, min_size: int) -> None:
    groups = attribute.groups
    positions = np.arange(len(groups))[::-1]
    counts = groups["count"].to_numpy(dtype=float)
    base = np.divide(
        groups["leavers"].to_numpy(dtype=float),
        counts,
        out=np.full(len(counts), np.nan),
        where=counts > 0,
    )
    flagged = groups["selection_rate"].to_numpy(dtype=float)
    ax.barh(
        positions + 0.2, np.nan_to_num(base), 0.38, color=BASE_COLOUR, label="leaver (base) rate"
    )
    ax.barh(positions - 0.2, np.nan_to_num(flagged), 0.38, color=FLAG_COLOUR, label="flagged rate")
    small = groups["small"].to_numpy(dtype=bool)
    labels = [
        f"{g} (n={n}{', small' if s else ''})"
        for g, n, s in zip(groups["group"], groups["count"], small, strict=True)
    ]
    ax.set_yticks(positions, labels, fontsize=FONT - 1)
    for y, b in zip(positions, base, strict=True):
        if b == b:
            ax.text(b + 0.01, y + 0.2, f"{b:.0%}", va="center", fontsize=FONT - 2)
    ax.set_xlim(0, 1)
    ax.tick_params(axis="x", labelsize=FONT - 1)
    ax.set_xlabel("share of the group", fontsize=FONT - 1)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=FONT - 2)
    note = f"; small: under {min_size}, not gated" if small.any() else ""
    ax.set_title(f"{attribute.name}: base rates per group{note}", fontsize=FONT, loc="left")


def _intersection(ax: Axes, table: Intersection) -> None:
    cells = table.cells
    positions = np.arange(len(cells))[::-1]
    base = cells["base_rate"].to_numpy(dtype=float)
    flagged = cells["selection_rate"].to_numpy(dtype=float)
    ax.barh(
        positions + 0.2, np.nan_to_num(base), 0.38, color=BASE_COLOUR, label="leaver (base) rate"
    )
    ax.barh(positions - 0.2, np.nan_to_num(flagged), 0.38, color=FLAG_COLOUR, label="flagged rate")
    for y, suppressed in zip(positions, cells["suppressed"], strict=True):
        if suppressed:
            ax.text(
                0.01,
                y,
                f"suppressed: under {table.min_size} employees",
                va="center",
                fontsize=FONT - 2,
                color=OTHER_COLOUR,
            )
    ax.set_yticks(
        positions,
        [f"{g} (n={n})" for g, n in zip(cells["group"], cells["count"], strict=True)],
        fontsize=FONT - 1,
    )
    ax.set_xlim(0, 1)
    ax.tick_params(axis="x", labelsize=FONT - 1)
    ax.set_xlabel("share of the cell", fontsize=FONT - 1)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=FONT - 2)
    first, second = table.attributes
    ax.set_title(f"{first} x {second}: reported only, not gated", fontsize=FONT, loc="left")
