"""Feature kinds and the custom transformers the model pipelines are built from.

Every transformer follows the scikit-learn estimator contract so that it can sit
inside a `Pipeline` and be fitted only on the rows of each CV fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import skew
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from attrition.config import DatasetConfig
from attrition.data.pair_handling import COMBINE, DROP, PairHandling

# One interaction: (column, equals) pairs; equals None means "use the numeric value".
InteractionSpec = Sequence[tuple[str | int, Any]]


@dataclass(frozen=True)
class ColumnKinds:
    """Model input columns by how they are encoded.

    `ordinal` holds integer columns with few levels (ratings, levels): they are
    one-hot encoded for linear models because their effect is rarely linear.
    `combined` holds groups of strongly associated numeric inputs that reach the model
    as one derived column (`PairComponent`); `ignored` inputs are still accepted (so
    serving takes the same columns) but no longer reach the model on their own.
    """

    numeric: list[str]
    ordinal: list[str]
    categorical: list[str]
    combined: list[list[str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """Every raw input the model accepts, whether it reaches the estimator or not."""
        members = [c for group in self.combined for c in group]
        return [*self.numeric, *self.ordinal, *self.categorical, *members, *self.ignored]


def _is_integral(values: pd.Series) -> bool:
    present = pd.to_numeric(values.dropna(), errors="coerce").astype(float)
    return bool(np.all(np.isfinite(present)) and np.all(present == np.round(present)))


def infer_column_kinds(features: pd.DataFrame, config: DatasetConfig) -> ColumnKinds:
    """Classify the model's input columns as numeric, ordinal or categorical.

    Target, id, dropped and excluded columns are left out even if present, so
    they cannot reach a model built from the result.
    """
    leave_out = {config.target, *config.drop, *config.exclude_from_model}
    if config.id_column:
        leave_out.add(config.id_column)
    numeric: list[str] = []
    ordinal: list[str] = []
    categorical: list[str] = []
    for name in features.columns:
        if name in leave_out:
            continue
        column = features[name]
        dtype = column.dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(
                dtype, pd.PeriodDtype | pd.IntervalDtype
            ):
                raise ValueError(f"column '{name}' has unsupported type {dtype}")
            categorical.append(str(name))
        elif column.nunique() <= config.ordinal_max_levels and _is_integral(column):
            ordinal.append(str(name))
        else:
            numeric.append(str(name))
    return ColumnKinds(numeric=numeric, ordinal=ordinal, categorical=categorical)


def interaction_specs(config: DatasetConfig) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """The config's interactions as plain tuples, the form `InteractionFeatures` takes."""
    return tuple(
        tuple((term.column, term.equals) for term in inter.terms) for inter in config.interactions
    )


def interaction_columns(specs: Sequence[InteractionSpec]) -> list[str | int]:
    """Input columns the interactions read, in first-use order."""
    return list(dict.fromkeys(column for spec in specs for column, _ in spec))


def _indicator(values: pd.Series, equals: Any) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype) and isinstance(equals, int | float):
        hit = values.to_numpy(dtype=float, na_value=np.nan) == float(equals)
    else:
        text = values.astype("string").str.strip()
        hit = (text == str(equals).strip()).fillna(False).to_numpy(dtype=bool)
    return hit.astype(float)


class InteractionFeatures(TransformerMixin, BaseEstimator):
    """Products of numeric columns and `column == value` indicators.

    Args:
        interactions: one sequence of `(column, equals)` terms per output feature;
            `equals=None` uses the column's numeric value. Columns are names for
            DataFrame input and positions for arrays.
        center: subtract the training mean from numeric terms first; this keeps
            the product from duplicating its main effects (lower correlation)
            without changing what a linear model can express.
    """

    def __init__(self, interactions: Sequence[InteractionSpec] = (), center: bool = False):
        self.interactions = interactions
        self.center = center

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values stay missing in the product
        return tags

    def _column(self, X: Any, key: str | int) -> pd.Series:
        if isinstance(X, pd.DataFrame):
            if key not in X.columns:
                raise ValueError(f"interaction column '{key}' is missing from the input")
            return X[key]
        array = np.asarray(X)
        if not isinstance(key, int | np.integer) or not 0 <= key < array.shape[1]:
            raise ValueError(
                f"interaction column {key!r} is not a position in input with "
                f"{array.shape[1]} feature(s)"
            )
        return pd.Series(array[:, key])

    def _numeric(self, X: Any, key: str | int) -> np.ndarray:
        values = self._column(X, key)
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
            values.dtype
        ):
            converted = pd.to_numeric(values, errors="coerce")
            if converted.isna().sum() > values.isna().sum():
                raise ValueError(
                    f"interaction column '{key}' is not numeric; give `equals` to use it "
                    "as an indicator"
                )
            values = converted
        return values.to_numpy(dtype=float, na_value=np.nan)

    def fit(self, X: Any, y: Any = None) -> InteractionFeatures:
        """Check the terms against the input and learn the centring means."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=True)
        else:
            X = validate_data(self, X, reset=True, ensure_all_finite="allow-nan")
        self.means_: list[list[float]] = []
        for spec in self.interactions:
            if len(spec) < 1:
                raise ValueError("an interaction needs at least one term")
            means = []
            for column, equals in spec:
                if equals is None:
                    values = self._numeric(X, column)
                    mean = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
                    means.append(mean if self.center else 0.0)
                else:
                    self._column(X, column)
                    means.append(0.0)
            self.means_.append(means)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return one float column per interaction."""
        check_is_fitted(self, "means_")
        if not isinstance(X, pd.DataFrame):
            X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        else:
            validate_data(self, X, skip_check_array=True, reset=False)
        out = np.ones((len(X), len(self.interactions)), dtype=float)
        for j, (spec, means) in enumerate(zip(self.interactions, self.means_, strict=True)):
            for (column, equals), mean in zip(spec, means, strict=True):
                term = (
                    self._numeric(X, column) - mean
                    if equals is None
                    else _indicator(self._column(X, column), equals)
                )
                out[:, j] *= term
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names such as `OverTime=Yes x JobLevel`."""
        check_is_fitted(self, "means_")
        names = [
            " x ".join(str(c) if e is None else f"{c}={e}" for c, e in spec)
            for spec in self.interactions
        ]
        return np.asarray(names, dtype=object)


class SkewedLog1p(TransformerMixin, BaseEstimator):
    """Apply `log1p` to non-negative columns whose training skewness exceeds a threshold.

    Income and tenure columns are right-skewed; on the log scale their effect on
    the log-odds of leaving is close to linear.
    """

    def __init__(self, threshold: float = 0.75):
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> SkewedLog1p:
        """Decide per column whether to take logs."""
        X = validate_data(self, X, dtype=np.float64, reset=True)
        if not np.isfinite(self.threshold):
            raise ValueError(f"threshold must be finite, got {self.threshold!r}")
        with np.errstate(all="ignore"):
            skewness = np.nan_to_num(skew(X, axis=0), nan=0.0)
        self.log_columns_ = (X.min(axis=0) >= 0) & (skewness > self.threshold)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return the input with logged columns replaced by `log1p(max(x, 0))`."""
        check_is_fitted(self, "log_columns_")
        X = validate_data(self, X, dtype=np.float64, reset=False, copy=True)
        X[:, self.log_columns_] = np.log1p(np.clip(X[:, self.log_columns_], 0, None))
        return X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Same names as the input: the transform is column-wise."""
        check_is_fitted(self, "log_columns_")
        return np.asarray(_check_feature_names_in(self, input_features), dtype=object)


def _abs_correlation(X: np.ndarray) -> np.ndarray:
    if X.shape[1] == 0:
        return np.zeros((0, 0))
    with np.errstate(all="ignore"):
        corr = np.corrcoef(X, rowvar=False) if X.shape[0] > 1 else np.zeros((X.shape[1],) * 2)
    corr = np.abs(np.nan_to_num(np.atleast_2d(corr), nan=0.0))
    np.fill_diagonal(corr, 0.0)
    return corr


def max_abs_correlation(X: Any) -> float:
    """Largest absolute Pearson correlation between two distinct columns (0 if fewer than 2)."""
    corr = _abs_correlation(np.asarray(X, dtype=float))
    return float(corr.max()) if corr.size else 0.0


class CorrelationFilter(TransformerMixin, BaseEstimator):
    """Drop columns until every pair left has absolute correlation below `threshold`.

    Greedy: the most correlated pair loses the member with the higher mean absolute
    correlation to all columns. Unsupervised (`y` is ignored). Constant columns
    correlate with nothing and are kept; `max_abs_correlation_` is the largest
    correlation left among the kept columns on the training rows.
    """

    def __init__(self, threshold: float = 0.8):
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> CorrelationFilter:
        """Choose the columns to keep from the training rows."""
        X = validate_data(self, X, dtype=np.float64, reset=True)
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold!r}")
        corr = _abs_correlation(X)
        # The member of a pair more correlated with everything else is the more
        # redundant one; CV preferred this over keeping the more target-correlated one.
        spread = corr.mean(axis=0) if corr.size else np.zeros(0)
        keep = np.ones(X.shape[1], dtype=bool)
        while keep.sum() > 1:
            idx = np.flatnonzero(keep)
            sub = corr[np.ix_(idx, idx)]
            if sub.max() < self.threshold:
                break
            a, b = idx[list(np.unravel_index(np.argmax(sub), sub.shape))]
            keep[a if spread[a] > spread[b] else b] = False
        self.support_ = keep
        kept = corr[np.ix_(keep, keep)]
        self.max_abs_correlation_ = float(kept.max()) if kept.size else 0.0
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return the kept columns."""
        check_is_fitted(self, "support_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X[:, self.support_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the kept columns."""
        check_is_fitted(self, "support_")
        names = _check_feature_names_in(self, input_features)
        return np.asarray(names, dtype=object)[self.support_]


def handled_kinds(kinds: ColumnKinds, handlings: Sequence[PairHandling]) -> ColumnKinds:
    """`kinds` after the handlings: dropped inputs ignored, combined ones moved to a group.

    Raises:
        ValueError: naming a column that is not a model input, or a combined one that is
            not numeric.
    """
    for handling in handlings:
        named = [*kinds.numeric, *kinds.ordinal, *kinds.categorical]
        missing = [c for c in handling.columns if c not in named]
        if missing:
            raise ValueError(f"cannot {handling.action} '{missing[0]}': not a model input")
        if handling.action == DROP:
            gone = {handling.columns[0]}
            kinds = replace(
                kinds,
                numeric=[c for c in kinds.numeric if c not in gone],
                ordinal=[c for c in kinds.ordinal if c not in gone],
                categorical=[c for c in kinds.categorical if c not in gone],
                ignored=[*kinds.ignored, *gone],
            )
        elif handling.action == COMBINE:
            gone = set(handling.columns)
            if gone & set(kinds.categorical):
                raise ValueError(f"cannot combine '{sorted(gone)[0]}': only numbers combine")
            kinds = replace(
                kinds,
                numeric=[c for c in kinds.numeric if c not in gone],
                ordinal=[c for c in kinds.ordinal if c not in gone],
                combined=[*kinds.combined, list(handling.columns)],
            )
    return kinds


class PairComponent(TransformerMixin, BaseEstimator):
    """The first principal component of standardised numeric columns, as one column.

    Two inputs that measure nearly the same thing (job level and income) become one
    input, so no model can give them opposite weights. Standardising first keeps the
    larger-scaled column from dominating; the sign makes the first loading positive,
    so the component grows with the first input.
    """

    def fit(self, X: Any, y: Any = None) -> PairComponent:
        """Learn the means, scales and loadings on the training rows."""
        X = validate_data(self, X, dtype=np.float64, reset=True)
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        z = (X - self.mean_) / self.scale_
        covariance = np.atleast_2d(np.cov(z, rowvar=False)) if len(X) > 1 else np.eye(X.shape[1])
        _, vectors = np.linalg.eigh(np.nan_to_num(covariance))
        loadings = vectors[:, -1]
        first = np.flatnonzero(np.abs(loadings) > 1e-12)
        sign = -1.0 if first.size and loadings[first[0]] < 0 else 1.0
        self.loadings_ = sign * loadings
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return the component scores as one column."""
        check_is_fitted(self, "loadings_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (((X - self.mean_) / self.scale_) @ self.loadings_).reshape(-1, 1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """One name, such as `JobLevel + MonthlyIncome (1st component)`."""
        check_is_fitted(self, "loadings_")
        names = _check_feature_names_in(self, input_features)
        return np.asarray([" + ".join(map(str, names)) + " (1st component)"], dtype=object)
