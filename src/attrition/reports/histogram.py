"""The run's `prediction_histogram.png`: predicted probabilities by true outcome."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

_STAYED, _LEFT = "#627d98", "#b42318"


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
