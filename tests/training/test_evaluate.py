"""Metrics at a threshold, computed both class-weighted and for the attrition class."""

from __future__ import annotations

import numpy as np
import pytest

from attrition.reports.plots import plot_confusion_matrix, plot_roc_curve
from attrition.training.evaluate import METRIC_NAMES, classification_metrics


def test_hand_computed_case() -> None:
    y = np.array([1, 1, 0, 0, 0, 0])
    proba = np.array([0.9, 0.3, 0.6, 0.2, 0.1, 0.05])
    m = classification_metrics(y, proba, threshold=0.5)
    # decisions: 1, 0, 1, 0, 0, 0 -> TP=1, FN=1, FP=1, TN=3
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision_attrition"] == pytest.approx(0.5)
    assert m["recall_attrition"] == pytest.approx(0.5)
    assert m["f1_attrition"] == pytest.approx(0.5)
    # stayers: precision 3/4, recall 3/4; weights 4/6 and 2/6
    assert m["precision_weighted"] == pytest.approx(4 / 6 * 0.75 + 2 / 6 * 0.5)
    assert m["roc_auc"] == pytest.approx(7 / 8)
    assert set(m) == set(METRIC_NAMES)


def test_threshold_moves_decisions_not_ranking() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    proba = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2])
    low, high = classification_metrics(y, proba, 0.3), classification_metrics(y, proba, 0.75)
    assert low["roc_auc"] == high["roc_auc"]
    assert low["recall_attrition"] > high["recall_attrition"]


def test_plots_have_titles() -> None:
    y = np.array([0, 1, 0, 1])
    proba = np.array([0.2, 0.7, 0.4, 0.9])
    assert "Confusion" in plot_confusion_matrix(y, proba, 0.5).axes[0].get_title()
    assert "ROC" in plot_roc_curve({"m": (y, proba)}).axes[0].get_title()
