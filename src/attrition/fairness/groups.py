"""Per-group tables of the audit: group labels, their order, and the rates of each group.

A group's row holds its confusion counts in the form the gates need as evidence
(employees, leavers, stayers, flagged) beside the rates whose spread is gated, and,
when probabilities are given, the group's calibration gap: its observed leaver
rate minus its mean predicted probability.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from attrition.stats import confusion, group_means, rates, unit_weights

GROUP_COLUMNS: tuple[str, ...] = (
    "group",
    "count",
    "leavers",
    "selection_rate",
    "tpr",
    "fpr",
    "precision",
    "small",
    "stayers",
    "flagged",
    "mean_score",
    "calibration_gap",
)
RATE_COLUMNS: tuple[str, ...] = (
    "selection_rate",
    "tpr",
    "fpr",
    "precision",
    "mean_score",
    "calibration_gap",
)
MISSING_GROUP = "(missing)"


def format_metric(value: float | None) -> str:
    """Format a rate or difference the one way reports and the CLI print it."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.3f}"


def group_labels(column: pd.Series) -> np.ndarray:
    """Group label of every row as text; missing values form their own group."""
    as_text = column.astype(object).where(column.notna(), MISSING_GROUP)
    return np.asarray([str(v) for v in as_text], dtype=object)


def group_table(
    truth: np.ndarray,
    decision: np.ndarray,
    labels: np.ndarray,
    order: list[str],
    scores: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per-group counts and rates, groups in `order`.

    Counts: employees, leavers, stayers, flagged. Rates: selection rate, TPR, FPR,
    precision and, with `scores`, the mean score and the calibration gap.
    """
    codes = pd.Index(order).get_indexer(pd.Index(labels))
    ones = unit_weights(len(codes))
    counts = confusion(truth, decision, ones, codes, len(order))
    found = rates(counts)
    table = pd.DataFrame(
        {
            "group": pd.Series(order, dtype=object),
            "count": (counts.tp + counts.fp + counts.fn + counts.tn)[0].astype(int),
            "leavers": (counts.tp + counts.fn)[0].astype(int),
        }
    )
    for column in ("selection_rate", "tpr", "fpr", "precision"):
        table[column] = found[column][0]
    table["stayers"] = (counts.fp + counts.tn)[0].astype(int)
    table["flagged"] = (counts.tp + counts.fp)[0].astype(int)
    if scores is not None:
        gap, mean_score = calibration_gaps(truth, scores, ones, codes, len(order))
        table["mean_score"] = mean_score[0]
        table["calibration_gap"] = gap[0]
    else:
        table["mean_score"] = np.nan
        table["calibration_gap"] = np.nan
    return table


def calibration_gaps(
    truth: np.ndarray, scores: np.ndarray, weights: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per resample and group: observed leaver rate minus mean score, and the mean score."""
    observed = group_means(truth.astype(float), weights, codes, n_groups)
    predicted = group_means(scores, weights, codes, n_groups)
    return observed - predicted, predicted


def group_order(column: pd.Series, labels: np.ndarray) -> list[str]:
    """Groups in a readable order: category order when given, else natural order."""
    present = set(labels.tolist())
    if isinstance(column.dtype, pd.CategoricalDtype):
        ordered = [str(c) for c in column.cat.categories if str(c) in present]
        return ordered + sorted(present - set(ordered), key=_natural_key)
    return sorted(present, key=_natural_key)


def _natural_key(label: str) -> tuple[float, str]:
    """Sort bands such as '<30', '30-39', '50+' by their first number."""
    if label == MISSING_GROUP:
        return (math.inf, "~")
    match = re.search(r"-?\d+(?:\.\d+)?", label)
    number = float(match.group()) if match else math.inf
    if label.lstrip().startswith("<"):
        number -= 0.5
    return (number, label)


def table_from_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A group table rebuilt from its JSON records (older records lack the newer columns)."""
    groups = pd.DataFrame(records, columns=list(GROUP_COLUMNS))
    for column in RATE_COLUMNS:
        groups[column] = groups[column].astype(float)
    groups["small"] = groups["small"].astype(bool)
    return groups


def binary(values: Any, name: str) -> np.ndarray:
    """0/1 (or boolean) values as a boolean array; a clear error for anything else."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    unique = set(pd.unique(array).tolist())
    if not unique <= {0, 1}:  # True/False compare equal to 1/0
        raise ValueError(f"{name} must hold 0/1 decisions, found {sorted(map(str, unique))[:5]}")
    return array.astype(bool)


def num(value: float | np.ndarray | None) -> float | None:
    """A finite float, or None."""
    return None if value is None or not math.isfinite(value) else float(value)


def jsonable(value: Any) -> Any:
    """A table cell as JSON: numpy scalars unwrapped, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
