"""The names of the classification metrics, apart from the code that computes them.

Kept in a module of its own so that config validation and reports can name the
metrics without importing scikit-learn.
"""

METRIC_NAMES = (
    "accuracy",
    "roc_auc",
    "pr_auc",
    "brier",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "precision_attrition",
    "recall_attrition",
    "f1_attrition",
)
