"""Decision thresholds on out-of-fold predictions: the rule every candidate is given.

A rule maps (labels, probabilities) to the threshold above which an employee is flagged.
The default balances missed leavers against false alarms (best attrition-class F1); a
cost rule (`training.costs`) replaces it when decision economics are configured.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import precision_recall_curve

ThresholdRule = Callable[[np.ndarray, np.ndarray], float]


def best_f1_threshold(labels: np.ndarray, proba: np.ndarray) -> float:
    """Threshold maximising the attrition-class F1 on the given (out-of-fold) predictions.

    Leavers are the minority and HR acts on flagged employees, so the threshold
    balances missed leavers against false alarms rather than using 0.5.
    """
    precision, recall, thresholds = precision_recall_curve(labels, proba)
    with np.errstate(all="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))[:-1]
    if len(thresholds) == 0:
        return 0.5
    return float(thresholds[int(np.argmax(f1))])
