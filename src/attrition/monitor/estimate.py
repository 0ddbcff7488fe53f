"""Label-free performance estimation from calibrated scores (confidence-based).

Attrition outcomes arrive months after a prediction. If the model's
probabilities are calibrated, an employee scored p leaves with probability p,
so every prediction contributes p of a leaver and 1 - p of a stayer to the
confusion matrix: flagged employees add p to the true positives and 1 - p to the
false positives, unflagged ones p to the false negatives and 1 - p to the true
negatives. Metrics of that expected matrix estimate the realised ones without a
single label. The estimate is only as good as the calibration, which is why the
reference's calibration error is reported with it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from attrition.stats import METRIC_NAMES

# PR AUC needs a ranking of realised outcomes; every other metric has an expected value.
ESTIMATED = tuple(name for name in METRIC_NAMES if name != "pr_auc")


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else math.nan


def expected_confusion(proba: np.ndarray, decision: np.ndarray) -> dict[str, float]:
    """Expected true/false positives/negatives of the decisions, if `proba` is calibrated."""
    p = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    d = np.asarray(decision).astype(bool)
    return {
        "tp": float(p[d].sum()),
        "fp": float((1 - p[d]).sum()),
        "fn": float(p[~d].sum()),
        "tn": float((1 - p[~d]).sum()),
    }


def expected_roc_auc(proba: np.ndarray) -> float:
    """Expected ROC AUC when each row is a leaver with probability equal to its score.

    The ratio of the expected number of correctly ordered leaver-stayer pairs
    (ties count half, a row is never paired with itself) to the expected number
    of such pairs.
    """
    p = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    if p.size < 2:
        return math.nan
    order = np.argsort(p, kind="mergesort")
    s = p[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    pos = np.add.reduceat(s, starts)
    neg = np.add.reduceat(1 - s, starts)
    below = np.cumsum(neg) - neg
    self_pairs = float(np.sum(s * (1 - s)))
    numerator = float(np.sum(pos * (below + 0.5 * neg))) - 0.5 * self_pairs
    denominator = float(pos.sum() * neg.sum()) - self_pairs
    return _ratio(numerator, denominator)


def estimate_metrics(proba: np.ndarray, decision: np.ndarray) -> dict[str, float]:
    """Estimated metrics (same names as the training run's test metrics) plus counts."""
    c = expected_confusion(proba, decision)
    n = c["tp"] + c["fp"] + c["fn"] + c["tn"]
    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
    leavers, stayers = tp + fn, tn + fp
    precision = {1: _ratio(tp, tp + fp), 0: _ratio(tn, tn + fn)}
    recall = {1: _ratio(tp, leavers), 0: _ratio(tn, stayers)}
    f1 = {1: _ratio(2 * tp, 2 * tp + fp + fn), 0: _ratio(2 * tn, 2 * tn + fn + fp)}
    weights = {1: _ratio(leavers, n), 0: _ratio(stayers, n)}

    def weighted(values: dict[int, float]) -> float:
        # sklearn's zero_division=0 convention: an undefined class score counts as 0
        return sum(weights[k] * (0.0 if math.isnan(v) else v) for k, v in values.items())

    p = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    return {
        "accuracy": _ratio(tp + tn, n),
        "roc_auc": expected_roc_auc(p),
        "brier": float(np.mean(p * (1 - p))) if p.size else math.nan,
        "precision_weighted": weighted(precision),
        "recall_weighted": weighted(recall),
        "f1_weighted": weighted(f1),
        "precision_attrition": 0.0 if math.isnan(precision[1]) else precision[1],
        "recall_attrition": 0.0 if math.isnan(recall[1]) else recall[1],
        "f1_attrition": 0.0 if math.isnan(f1[1]) else f1[1],
        "expected_leavers": leavers,
        "expected_leaver_rate": _ratio(leavers, n),
        "flagged_rate": _ratio(tp + fp, n),
        "rows": float(n),
    }


def calibration_table(labels: np.ndarray, proba: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Reliability by score bin (equal-count bins): mean score, observed leaver rate, count."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(proba, dtype=float)
    if p.size == 0:
        return pd.DataFrame(columns=["bin", "count", "mean_score", "observed_rate", "gap"])
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    frame = pd.DataFrame({"bin": index, "y": y, "p": p})
    table = frame.groupby("bin").agg(
        count=("y", "size"), mean_score=("p", "mean"), observed_rate=("y", "mean")
    )
    table["gap"] = table["observed_rate"] - table["mean_score"]
    low = edges[table.index.to_numpy()]
    high = edges[np.minimum(table.index.to_numpy() + 1, len(edges) - 1)]
    table.insert(0, "scores", [f"{a:.2f}-{b:.2f}" for a, b in zip(low, high, strict=True)])
    return table.reset_index(drop=True)


def expected_calibration_error(labels: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean absolute gap between observed rate and mean score per bin."""
    table = calibration_table(labels, proba, bins)
    if table.empty:
        return math.nan
    return float(np.average(table["gap"].abs(), weights=table["count"]))
