"""One intersection of two sensitive attributes (for example Gender x AgeBand), reported only.

Intersections are never gated: their cells are small and many. Cells under the minimum
group size keep their head count but have their rates suppressed, so no small cell's
leaver rate or flag rate can be read off the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from attrition.fairness.groups import binary, group_labels, group_order, group_table

RATE_COLUMNS = ("base_rate", "selection_rate")


@dataclass(frozen=True)
class Intersection:
    """Per-cell head count, leaver (base) rate and flag rate; `suppressed` cells have no rates."""

    attributes: tuple[str, str]
    cells: pd.DataFrame
    min_size: int


def intersection_table(
    y_true: Any, y_pred: Any, audit: pd.DataFrame, min_size: int
) -> Intersection | None:
    """The intersection of the first two columns of `audit`, or None with fewer than two."""
    if audit.shape[1] < 2:
        return None
    first, second = (str(c) for c in audit.columns[:2])
    left = group_labels(audit[first])
    right = group_labels(audit[second])
    labels = np.asarray([f"{a} x {b}" for a, b in zip(left, right, strict=True)], dtype=object)
    order = [
        f"{a} x {b}"
        for a in group_order(audit[first], left)
        for b in group_order(audit[second], right)
    ]
    order = [cell for cell in order if cell in set(labels)]
    table = group_table(binary(y_true, "y_true"), binary(y_pred, "y_pred"), labels, order)
    cells = pd.DataFrame(
        {
            "group": table["group"],
            "count": table["count"],
            "base_rate": table["leavers"] / table["count"].where(table["count"] > 0),
            "selection_rate": table["selection_rate"],
        }
    )
    cells["suppressed"] = cells["count"] < min_size
    cells.loc[cells["suppressed"], list(RATE_COLUMNS)] = np.nan
    return Intersection((first, second), cells, min_size)
