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

from attrition.stats import METRIC_NAMES, Confusion, decision_metrics, pair_counts

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
    numerator, denominator = pair_counts(p, p, 1 - p)
    s = np.sort(p)
    self_pairs = float(np.sum(s * (1 - s)))
    return _ratio(float(numerator[0]) - 0.5 * self_pairs, float(denominator[0]) - self_pairs)


def estimate_metrics(proba: np.ndarray, decision: np.ndarray) -> dict[str, float]:
    """Estimated metrics (same names as the training run's test metrics) plus counts."""
    c = expected_confusion(proba, decision)
    counts = Confusion(*(np.array([c[k]]) for k in ("tp", "fp", "fn", "tn")))
    n = c["tp"] + c["fp"] + c["fn"] + c["tn"]
    leavers = c["tp"] + c["fn"]
    p = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    found = {name: float(value[0]) for name, value in decision_metrics(counts).items()}
    found["roc_auc"] = expected_roc_auc(p)
    found["brier"] = float(np.mean(p * (1 - p))) if p.size else math.nan
    return {
        **{name: found[name] for name in ESTIMATED},
        "expected_leavers": leavers,
        "expected_leaver_rate": _ratio(leavers, n),
        "flagged_rate": _ratio(c["tp"] + c["fp"], n),
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
