"""The prediction histogram: threshold line and expected vs predicted rates."""

from __future__ import annotations

import numpy as np
import pytest

from attrition.reports.plots import plot_prediction_histogram


def test_histogram_shows_threshold_and_rates() -> None:
    rng = np.random.default_rng(0)
    y_true = (rng.random(1_000) < 0.16).astype(int)
    proba = np.clip(rng.normal(0.15 + 0.35 * y_true, 0.12), 0, 1)
    fig = plot_prediction_histogram(proba, y_true, threshold=0.35, base_rate=0.161)
    ax = fig.axes[0]

    verticals = [line for line in ax.lines if np.asarray(line.get_xdata()).tolist() == [0.35, 0.35]]
    assert len(verticals) == 1
    text = "\n".join(t.get_text() for t in ax.texts)
    assert "expected attrition rate (training base rate): 16.1%" in text
    assert f"predicted attrition rate (p >= threshold): {np.mean(proba >= 0.35):.1%}" in text
    assert f"mean predicted probability: {np.mean(proba):.1%}" in text
    assert {"stayed", "left"} <= {h.split(" ")[0] for h in ax.get_legend_handles_labels()[1]}


def test_histogram_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="equally long"):
        plot_prediction_histogram(np.array([0.1, 0.2]), np.array([0]), 0.5, 0.16)
