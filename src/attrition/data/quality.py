"""Data-quality metrics of the training data, as the data-quality gate reads them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attrition.data.association import Association, associations, linked_groups
from attrition.data.keys import Duplicates

# Pairs of raw inputs kept for the data profile's association table.
TOP_ASSOCIATIONS = 12
# Tukey's "far out" fence: skewed but legitimate values (incomes, tenures) stay inside it.
OUTLIER_IQR_FACTOR = 3.0


@dataclass(frozen=True)
class DataQuality:
    """The gated numbers, with what produced the worst correlation and the duplicate counts."""

    missing_value_rate: float
    outlier_rate: float
    max_abs_correlation: float
    most_correlated_pair: tuple[str, str] | None
    outliers_by_column: dict[str, int]
    duplicate_rate: float = 0.0
    duplicates: dict[str, Any] = field(default_factory=dict)
    raw_association: float | None = None
    raw_pair: tuple[str, str] | None = None
    raw_method: str = ""
    linked_inputs: list[list[str]] = field(default_factory=list)
    strong_pairs: list[str] = field(default_factory=list)
    top_associations: list[dict[str, Any]] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metric names read by the data-quality gate."""
        found = {
            "dq_missing_rate": self.missing_value_rate,
            "dq_outlier_rate": self.outlier_rate,
            "dq_max_abs_correlation": self.max_abs_correlation,
            "dq_duplicate_rate": self.duplicate_rate,
        }
        if self.raw_association is not None:
            found["dq_raw_association"] = self.raw_association
        return found

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def continuous_columns(frame: pd.DataFrame, ordinal_max_levels: int) -> list[str]:
    """Numeric columns with more levels than an ordinal scale (ratings, levels) has."""
    numeric = frame.select_dtypes(include="number")
    return [c for c in numeric.columns if numeric[c].nunique(dropna=True) > ordinal_max_levels]


def missing_value_rate(frame: pd.DataFrame) -> float:
    """Share of empty cells."""
    return float(frame.isna().to_numpy().mean()) if frame.size else 0.0


def outlier_counts(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """Values outside Q1 - 3 IQR .. Q3 + 3 IQR, per continuous column.

    Ordinal columns are left out on purpose: every level of a 1-4 rating is legitimate.
    """
    counts: dict[str, int] = {}
    for name in columns:
        values = frame[name].dropna().astype(float)
        q1, q3 = np.percentile(values, [25, 75]) if len(values) else (0.0, 0.0)
        spread = OUTLIER_IQR_FACTOR * (q3 - q1)
        counts[name] = int(((values < q1 - spread) | (values > q3 + spread)).sum())
    return counts


def max_abs_correlation(frame: pd.DataFrame) -> tuple[float, tuple[str, str] | None]:
    """Largest absolute Pearson correlation between two numeric columns, and the pair."""
    numeric = frame.select_dtypes(include="number")
    numeric = numeric.loc[:, numeric.nunique(dropna=True) > 1]
    if numeric.shape[1] < 2:
        return 0.0, None
    corr = numeric.corr().abs().to_numpy()
    np.fill_diagonal(corr, 0.0)
    corr = np.nan_to_num(corr)
    i, j = np.unravel_index(int(np.argmax(corr)), corr.shape)
    return float(corr[i, j]), (str(numeric.columns[int(i)]), str(numeric.columns[int(j)]))


def assess_quality(
    features: pd.DataFrame,
    model_inputs: pd.DataFrame,
    ordinal_max_levels: int,
    duplicates: Duplicates | None = None,
    bar: float = 0.8,
    found: list[Association] | None = None,
) -> DataQuality:
    """Quality of the training features; association is measured on the raw inputs.

    The raw inputs' strongest association (before any encoding) is the gated figure;
    the correlation left between the encoded inputs the estimator sees is kept beside it.

    Args:
        features: the training features as loaded (model columns, raw values).
        model_inputs: the numeric matrix the estimator sees after the correlation filter,
            with column names; correlation between model inputs is what the gate is about.
        ordinal_max_levels: integer columns with at most this many levels are ordinal.
        duplicates: the repeats counted in the whole table (before the split), if known.
        bar: associations between raw inputs at or over it link those inputs (they are
            explained as one factor).
        found: the association table of exactly `features`' columns, when already
            measured (it is the costly part).
    """
    columns = continuous_columns(features, ordinal_max_levels)
    counts = outlier_counts(features, columns)
    cells = sum(int(features[c].notna().sum()) for c in columns)
    correlation, pair = max_abs_correlation(model_inputs)
    if found is None:
        found = associations(features)
    top = found[0] if found else None
    return DataQuality(
        missing_value_rate=missing_value_rate(features),
        outlier_rate=sum(counts.values()) / cells if cells else 0.0,
        max_abs_correlation=correlation,
        most_correlated_pair=pair,
        outliers_by_column={k: v for k, v in counts.items() if v},
        duplicate_rate=duplicates.duplicate_rate if duplicates else 0.0,
        duplicates=duplicates.to_dict() if duplicates else {},
        raw_association=top.value if top else 0.0,
        raw_pair=(top.first, top.second) if top else None,
        raw_method=top.method if top else "",
        linked_inputs=linked_groups(found, bar),
        strong_pairs=[a.text() for a in found if a.value >= bar],
        top_associations=[asdict(a) for a in found[:TOP_ASSOCIATIONS]],
    )
