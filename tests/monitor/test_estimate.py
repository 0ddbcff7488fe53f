"""Label-free estimation: on calibrated scores it lands on the realised metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from attrition.monitor.estimate import (
    ESTIMATED,
    calibration_table,
    estimate_metrics,
    expected_calibration_error,
    expected_confusion,
    expected_roc_auc,
)
from attrition.training.evaluate import classification_metrics


def calibrated(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    proba = rng.beta(1.2, 5.0, rows)
    return proba, (rng.random(rows) < proba).astype(int)


@pytest.mark.parametrize("threshold", [0.15, 0.3, 0.5])
def test_estimate_matches_realised_on_calibrated_scores(threshold: float) -> None:
    proba, labels = calibrated(100_000, seed=1)
    realised = classification_metrics(labels, proba, threshold)
    estimated = estimate_metrics(proba, proba >= threshold)
    for name in ESTIMATED:
        assert estimated[name] == pytest.approx(realised[name], abs=0.01), name


def test_estimate_misses_when_scores_are_not_calibrated() -> None:
    proba, labels = calibrated(50_000, seed=2)
    overconfident = np.clip(proba * 2, 0, 1)
    realised = classification_metrics(labels, overconfident, 0.3)
    estimated = estimate_metrics(overconfident, overconfident >= 0.3)
    assert estimated["precision_attrition"] > realised["precision_attrition"] + 0.1
    assert expected_calibration_error(labels, overconfident) > 0.05


def test_expected_confusion_is_the_expectation_of_the_realised_one() -> None:
    proba = np.array([0.9, 0.2, 0.6, 0.1])
    decision = np.array([1, 1, 0, 0])
    assert expected_confusion(proba, decision) == pytest.approx(
        {"tp": 1.1, "fp": 0.9, "fn": 0.7, "tn": 1.3}
    )


def test_expected_auc_is_the_mean_auc_over_drawn_labels() -> None:
    rng = np.random.default_rng(3)
    proba = np.round(rng.beta(2, 3, 400), 2)  # ties on purpose
    draws = []
    for _ in range(400):
        labels = rng.random(proba.size) < proba
        if 0 < labels.sum() < labels.size:
            draws.append(roc_auc_score(labels, proba))
    assert expected_roc_auc(proba) == pytest.approx(np.mean(draws), abs=0.01)


def test_degenerate_inputs_do_not_crash() -> None:
    none_flagged = estimate_metrics(np.array([0.1, 0.2]), np.array([0, 0]))
    assert none_flagged["precision_attrition"] == 0.0
    assert np.isnan(expected_roc_auc(np.array([0.5])))
    assert calibration_table(np.array([]), np.array([])).empty


def test_calibration_table_bins_hold_equal_counts() -> None:
    proba, labels = calibrated(10_000, seed=4)
    table = calibration_table(labels, proba, bins=10)
    assert table["count"].sum() == 10_000
    assert table["count"].min() >= 900
    assert table["gap"].abs().max() < 0.05
