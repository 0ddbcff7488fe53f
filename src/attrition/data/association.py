"""Association between the raw inputs, measured before any encoding.

One-hot encoding splits a categorical or ordinal column into indicator columns whose
pairwise correlations hide a strong association (JobLevel and MonthlyIncome move
together, but no single JobLevel indicator does with income). So every pair of raw
columns is measured on its own scale:

- two numeric columns: the larger of |Pearson| and |Spearman| (a rank association
  counts even when it is not linear);
- a numeric and a categorical column: the correlation ratio (eta), the share of the
  numeric column's spread explained by the categories, square-rooted;
- two categorical columns: Cramér's V of their contingency table.

All three lie in [0, 1] and are compared with the same bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

PEARSON_SPEARMAN = "Pearson/Spearman"
CORRELATION_RATIO = "correlation ratio"
CRAMERS_V = "Cramér's V"


@dataclass(frozen=True)
class Association:
    """The association of two raw columns and how it was measured."""

    first: str
    second: str
    value: float
    method: str

    def text(self) -> str:
        return f"{self.first} and {self.second}: {self.value:.2f} ({self.method})"


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def numeric_association(a: pd.Series, b: pd.Series) -> float:
    """max(|Pearson|, |Spearman|) over rows where both are present; 0 when undefined."""
    both = pd.concat([a, b], axis=1).dropna()
    if len(both) < 3 or both.iloc[:, 0].nunique() < 2 or both.iloc[:, 1].nunique() < 2:
        return 0.0
    x, y = both.iloc[:, 0].astype(float), both.iloc[:, 1].astype(float)
    pearson = x.corr(y)
    spearman = x.rank().corr(y.rank())
    return float(np.nanmax(np.abs([pearson, spearman])))


def correlation_ratio(categories: pd.Series, values: pd.Series) -> float:
    """Eta: sqrt(between-category sum of squares / total sum of squares)."""
    both = pd.concat([categories.astype(object), values], axis=1).dropna()
    if len(both) < 3:
        return 0.0
    groups, numbers = both.iloc[:, 0].astype(str), both.iloc[:, 1].astype(float)
    total = float(((numbers - numbers.mean()) ** 2).sum())
    if total == 0.0:
        return 0.0
    means = numbers.groupby(groups).transform("mean")
    between = float(((means - numbers.mean()) ** 2).sum())
    return math.sqrt(min(between / total, 1.0))


def cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Cramér's V of the contingency table of two categorical columns."""
    both = pd.concat([a.astype(object), b.astype(object)], axis=1).dropna().astype(str)
    table = pd.crosstab(both.iloc[:, 0], both.iloc[:, 1]).to_numpy(dtype=float)
    n = table.sum()
    rows, cols = table.shape
    if n == 0 or min(rows, cols) < 2:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return math.sqrt(min(chi2 / (n * (min(rows, cols) - 1)), 1.0))


def association(frame: pd.DataFrame, first: str, second: str) -> Association:
    """The association of two columns of `frame`, by the measure their kinds call for."""
    a, b = frame[first], frame[second]
    if is_numeric(a) and is_numeric(b):
        return Association(first, second, numeric_association(a, b), PEARSON_SPEARMAN)
    if is_numeric(a) != is_numeric(b):
        categories, values = (b, a) if is_numeric(a) else (a, b)
        return Association(first, second, correlation_ratio(categories, values), CORRELATION_RATIO)
    return Association(first, second, cramers_v(a, b), CRAMERS_V)


def associations(frame: pd.DataFrame) -> list[Association]:
    """Every pair of non-constant columns, strongest first (ties by name)."""
    columns = [str(c) for c in frame.columns if frame[c].nunique(dropna=True) > 1]
    found = [association(frame, a, b) for a, b in combinations(columns, 2)]
    return sorted(found, key=lambda x: (-x.value, x.first, x.second))


def strongest(frame: pd.DataFrame) -> Association | None:
    """The most associated pair of raw columns, or None with fewer than two columns."""
    found = associations(frame)
    return found[0] if found else None


def linked_groups(found: list[Association], bar: float) -> list[list[str]]:
    """Columns joined by associations at or above `bar`, as groups of two or more.

    Groups are connected components (A~B and B~C make one group), each sorted by name.
    """
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for pair in found:
        if pair.value >= bar:
            parent[root(pair.first)] = root(pair.second)
    members: dict[str, list[str]] = {}
    for name in parent:
        members.setdefault(root(name), []).append(name)
    return sorted(sorted(group) for group in members.values() if len(group) > 1)
