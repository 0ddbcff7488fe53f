"""The raw-input association figure of the data profile: the largest pairs and a heatmap.

The data-quality gate judges the largest association between raw inputs (before any
encoding); the profile shows the same figures: a table of the largest pairs with the
measure used and the bar, and a heatmap over the inputs those pairs involve. The
section is plain HTML with the heatmap inlined as a PNG, so it renders offline and
inside MLflow's sandboxed artifact viewer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attrition.data.association import association
from attrition.reports.format import data_uri, figure_png
from attrition.reports.render import environment

# Inputs shown on the heatmap at most (the members of the largest pairs, in order).
HEATMAP_COLUMNS = 12


def heatmap_columns(pairs: Sequence[Mapping[str, Any]], limit: int = HEATMAP_COLUMNS) -> list[str]:
    """The inputs of the listed pairs, strongest pair first, at most `limit` of them."""
    names = dict.fromkeys(str(c) for p in pairs for c in (p["first"], p["second"]))
    return list(names)[:limit]


def association_matrix(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Pairwise association of `columns` of `frame`, each pair by the measure its kinds need."""
    matrix = pd.DataFrame(np.eye(len(columns)), index=columns, columns=columns)
    for i, first in enumerate(columns):
        for second in columns[i + 1 :]:
            value = association(frame, first, second).value
            matrix.loc[first, second] = matrix.loc[second, first] = value
    return matrix


def plot_association_heatmap(matrix: pd.DataFrame, bar: float) -> Figure:
    """Heatmap of the association matrix; cells at or over the bar are outlined."""
    size = max(4.0, 0.55 * len(matrix) + 2.0)
    fig = Figure(figsize=(size + 1.2, size))
    ax = fig.subplots()
    image = ax.imshow(matrix.to_numpy(), vmin=0.0, vmax=1.0, cmap="Blues")
    labels = [str(c) for c in matrix.columns]
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=10)
    ax.set_yticks(range(len(labels)), labels, fontsize=10)
    values = matrix.to_numpy()
    for (i, j), value in np.ndenumerate(values):
        if i == j:
            continue
        strong = value >= bar
        ax.text(
            j,
            i,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold" if strong else "normal",
            color="white" if value > 0.6 else "black",
        )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="association (0-1)")
    ax.set_title(f"Association between raw inputs (bold: at or over the bar of {bar:g})")
    fig.tight_layout()
    return fig


def association_section(frame: pd.DataFrame, pairs: Sequence[Mapping[str, Any]], bar: float) -> str:
    """The profile's HTML section: the largest pairs (pair, measure, value, bar) and a heatmap.

    Args:
        frame: the raw inputs the pairs were measured on.
        pairs: the largest associations, strongest first, as `Association` dicts
            (`first`, `second`, `value`, `method`), e.g. `DataQuality.top_associations`.
        bar: the data-quality gate's bar for the largest association.
    """
    columns = [c for c in heatmap_columns(pairs) if c in frame.columns]
    image = ""
    if len(columns) > 1:
        fig = plot_association_heatmap(association_matrix(frame, columns), bar)
        image = data_uri(figure_png(fig, dpi=100))
    rows = [
        {
            "pair": f"{p['first']} and {p['second']}",
            "method": p["method"],
            "value": float(p["value"]),
            "over": float(p["value"]) >= bar,
        }
        for p in pairs
    ]
    template = environment().get_template("association_section.html.j2")
    return template.render(rows=rows, bar=bar, image=image)
