"""Classification metrics at a decision threshold, and the core evaluation plots."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from attrition.metric_names import METRIC_NAMES

__all__ = ["METRIC_NAMES", "classification_metrics", "plot_confusion_matrix", "plot_roc_curve"]


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, threshold: float
) -> dict[str, float]:
    """Threshold-free scores (ROC AUC, PR AUC, Brier) and scores of the decision at `threshold`.

    Precision, recall and F1 come both class-weighted (the seed's definition) and for the
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


def plot_confusion_matrix(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> Figure:
    """Counts of stayed/left against predicted, with row percentages."""
    decision = (np.asarray(proba) >= threshold).astype(int)
    matrix = skm.confusion_matrix(np.asarray(y_true).astype(int), decision, labels=[0, 1])
    fig = Figure(figsize=(5, 4.2))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    totals = matrix.sum(axis=1, keepdims=True).clip(min=1)
    for (i, j), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        share = 100 * count / totals[i, 0]
        ax.text(j, i, f"{count}\n({share:.0f}% of row)", ha="center", va="center", color=colour)
    labels = ["stayed", "left"]
    ax.set_xticks([0, 1], [f"predicted {x}" for x in labels])
    ax.set_yticks([0, 1], [f"actually {x}" for x in labels])
    ax.set_title(f"Confusion matrix (test split, threshold {threshold:.2f})")
    return fig


def plot_roc_curve(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC curve (test split)"
) -> Figure:
    """One or more ROC curves; `curves` maps a label to (y_true, proba)."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    for label, (y_true, proba) in curves.items():
        fpr, tpr, _ = skm.roc_curve(np.asarray(y_true).astype(int), proba)
        auc = skm.auc(fpr, tpr)
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("False positive rate (stayers flagged)")
    ax.set_ylabel("True positive rate (leavers caught)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig
