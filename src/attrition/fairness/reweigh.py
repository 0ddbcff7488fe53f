"""Reweighing by group and label: training weights that pull each group's leaver rate together.

A model trained on rows where one group leaves far less often learns to score that
group low, so its leavers are flagged less (an equal-opportunity gap). Reweighing
(Kamiran & Calders, 2012) gives each (group, label) cell a weight so that, in the
weighted data, every group has the same leaver rate while keeping its total weight.
With several sensitive attributes the cell weights are found by raking (iterative
proportional fitting) over every attribute in turn. `strength` moves each group's
weighted leaver rate a share of the way from its own rate (0) to the overall rate (1).

The weights only shape training (as `sample_weight`); the sensitive attributes never
become model inputs, and the fitted model scores from its features alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from attrition.fairness.audit import group_labels

RAKING_ROUNDS = 50
_TOLERANCE = 1e-9
_RATE_BOUNDS = (0.01, 0.99)


def group_label_weights(labels: Any, audit: pd.DataFrame, strength: float) -> np.ndarray:
    """Weights (mean 1) under which each group's leaver rate moves toward the overall rate.

    Args:
        labels: 0/1 outcomes, one per row.
        audit: the sensitive attributes, one column each, rows matching `labels`.
        strength: 0 leaves every weight at 1; 1 equalises the groups' weighted leaver
            rates; values in between move part of the way.

    Raises:
        ValueError: for a negative strength or mismatched lengths.
    """
    y = np.asarray(labels).astype(int)
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    if len(y) != len(audit):
        raise ValueError(f"labels have {len(y)} rows but audit has {len(audit)}")
    weights = np.ones(len(y))
    if strength == 0 or audit.shape[1] == 0 or len(y) == 0:
        return weights
    overall = float(y.mean())
    cells = [_cells(audit[name], y, overall, strength) for name in audit.columns]
    for _ in range(RAKING_ROUNDS):
        change = 0.0
        for codes, targets in cells:
            factors = _cell_factors(weights, codes, y, targets)
            weights = weights * factors
            change = max(change, float(np.max(np.abs(factors - 1.0))))
        if change < _TOLERANCE:
            break
    return weights / weights.mean()


def _cells(
    column: pd.Series, y: np.ndarray, overall: float, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Group codes of every row and each group's target leaver rate (NaN: leave the group)."""
    _, codes = np.unique(group_labels(column), return_inverse=True)
    count = np.bincount(codes)
    leavers = np.bincount(codes, weights=y)
    rate = leavers / count
    target = np.clip(rate + strength * (overall - rate), *_RATE_BOUNDS)
    # A group with only one class cannot change its leaver rate by reweighing.
    target[(leavers == 0) | (leavers == count)] = np.nan
    return codes, target


def _cell_factors(
    weights: np.ndarray, codes: np.ndarray, y: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """Per-row factors that give each group its target rate and keep its size as total weight."""
    size = np.bincount(codes, minlength=len(targets)).astype(float)
    pos = np.bincount(codes, weights=weights * y, minlength=len(targets))
    neg = np.bincount(codes, weights=weights * (1 - y), minlength=len(targets))
    keep = np.isnan(targets) | (pos <= 0) | (neg <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(keep, 1.0, targets * size / pos)
        down = np.where(keep, 1.0, (1.0 - targets) * size / neg)
    return np.where(y == 1, up[codes], down[codes])
