"""Classification metrics at a decision threshold, and their bootstrap intervals."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from attrition.stats import (
    METRIC_NAMES,
    bootstrap,
    confusion,
    decision_metrics,
    percentile_interval,
    weighted_auc,
)

__all__ = ["METRIC_NAMES", "classification_metrics", "metric_intervals"]


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, threshold: float
) -> dict[str, float]:
    """Threshold-free scores (ROC AUC, PR AUC, Brier) and scores of the decision at `threshold`.

    Precision, recall and F1 come both class-weighted (the default definition) and for the
    attrition class alone, because a weighted average is dominated by the stayers.
    """
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    decision = (proba >= threshold).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    weighted = skm.precision_recall_fscore_support(
        y_true, decision, average="weighted", zero_division=0
    )
    leaver = skm.precision_recall_fscore_support(
        y_true, decision, average="binary", pos_label=1, zero_division=0
    )
    return {
        "accuracy": float(skm.accuracy_score(y_true, decision)),
        "roc_auc": float(skm.roc_auc_score(y_true, proba)) if both_classes else float("nan"),
        "pr_auc": float(skm.average_precision_score(y_true, proba))
        if both_classes
        else float("nan"),
        "brier": float(skm.brier_score_loss(y_true, proba)),
        "precision_weighted": float(weighted[0]),
        "recall_weighted": float(weighted[1]),
        "f1_weighted": float(weighted[2]),
        "precision_attrition": float(leaver[0]),
        "recall_attrition": float(leaver[1]),
        "f1_attrition": float(leaver[2]),
    }


def metric_intervals(
    y_true: np.ndarray,
    proba: np.ndarray,
    threshold: float,
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, list[float]]:
    """Percentile-bootstrap intervals of ROC AUC and the decision metrics at `threshold`.

    Resamples keep the number of leavers and stayers (stratified by the label), so every
    replicate has both classes. Names follow `classification_metrics`.
    """
    y = np.asarray(y_true).astype(int)
    scores = np.asarray(proba, dtype=float)
    decision = scores >= threshold
    if len(np.unique(y)) < 2 or resamples <= 0:
        return {}

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        found = decision_metrics(confusion(y, decision, weights))
        return {"roc_auc": weighted_auc(scores, y, weights), **found}

    replicates = bootstrap(statistic, len(y), resamples=resamples, seed=seed, strata=y)
    intervals: dict[str, list[float]] = {}
    for name, values in replicates.items():
        low, high = percentile_interval(values, confidence)
        if np.isfinite(low) and np.isfinite(high):
            intervals[name] = [round(float(low), 6), round(float(high), 6)]
    return intervals
