"""Feature and prediction drift between a reference table and a current one.

Used twice: training data vs test split at training time, and the Production
model's reference vs new employees when monitoring. The per-column tests are
Evidently's and chosen the way Evidently chooses them: for a reference of up to
1,000 rows p-value tests (K-S for numbers, chi-square or a z-test for
categories, drift when p < 0.05); above that distances with a fixed threshold
(normed Wasserstein for numbers, Jensen-Shannon for categories, drift when
>= 0.1). Distances do not turn every tiny difference between two large samples
into "drift", which p-values do. Integer columns with few levels (e.g.
satisfaction 1-4) are treated as categories.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

ORDINAL_MAX_LEVELS = 5
HTML_MAX_CURRENT_ROWS = 20_000


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one column: Evidently's method, its score, threshold and verdict."""

    method: str
    score: float
    threshold: float
    drifted: bool
    column_type: str
    measure: str = ""
    reference_value: str = ""
    current_value: str = ""
    move: float = 0.0

    @property
    def p_value(self) -> bool:
        """Whether the score is a p-value (drift below the threshold) rather than a distance."""
        return "p_value" in self.measure or "p-value" in self.measure

    @property
    def strength(self) -> float:
        """Score relative to its threshold, 1 at the threshold and larger when drift is stronger.

        Makes distances and p-values rankable on one scale: score / threshold for a
        distance, log(p) / log(threshold) for a p-value.
        """
        if self.p_value:
            p = min(max(self.score, 1e-300), 1.0)
            return math.log(p) / math.log(self.threshold) if 0 < self.threshold < 1 else 0.0
        return self.score / self.threshold if self.threshold > 0 else 0.0


@dataclass(frozen=True)
class DriftResult:
    """Dataset-level drift verdict and the per-column details behind it.

    `drift_share` is the share of drifted columns; the dataset drifts when it
    reaches `share_threshold`.
    """

    dataset_drift: bool
    drift_share: float
    drifted_features: list[str]
    features: dict[str, FeatureDrift]
    share_threshold: float = 0.5
    reference_rows: int = 0
    current_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (plain floats, bools and strings only)."""
        return {
            "dataset_drift": bool(self.dataset_drift),
            "drift_share": float(self.drift_share),
            "share_threshold": float(self.share_threshold),
            "drifted_features": list(self.drifted_features),
            "n_features": len(self.features),
            "n_drifted": len(self.drifted_features),
            "reference_rows": int(self.reference_rows),
            "current_rows": int(self.current_rows),
            "features": {name: _json_safe(asdict(f)) for name, f in self.features.items()},
        }


@dataclass(frozen=True)
class _ColumnPlan:
    name: str
    column_type: Any  # evidently ColumnType
    method: str
    measure: str = ""


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    categorical: list[str] | None = None,
    numerical: list[str] | None = None,
    drift_share: float = 0.5,
    stattest_threshold: float | None = None,
) -> DriftResult:
    """Test every shared column for drift and decide on dataset drift.

    Args:
        reference: the table the model was built on (e.g. training features).
        current: the table to check; every reference column must be present.
        categorical: columns to treat as categories (others are inferred).
        numerical: columns to treat as numbers (others are inferred).
        drift_share: share of drifted columns at which the dataset drifts.
        stattest_threshold: one threshold for every column instead of the
            method defaults (a p-value for p-value tests, a distance otherwise).

    Raises:
        ValueError: on a missing, empty or non-numeric column, or a bad share.
    """
    from evidently.legacy.calculations.stattests import get_stattest

    if not 0.0 < drift_share <= 1.0:
        raise ValueError(f"drift_share must be in (0, 1], got {drift_share}")
    features: dict[str, FeatureDrift] = {}
    for plan in _plan(reference, current, categorical, numerical):
        ref, cur = _clean(reference[plan.name]), _clean(current[plan.name])
        test = get_stattest(ref, cur, plan.column_type, plan.method)
        outcome = test(ref, cur, plan.column_type, stattest_threshold)
        before, after, move = column_move(ref, cur, plan.column_type.value == "cat")
        features[plan.name] = FeatureDrift(
            method=plan.method,
            score=float(outcome.drift_score),
            threshold=float(outcome.actual_threshold),
            drifted=bool(outcome.drifted),
            column_type=plan.column_type.value,
            measure=plan.measure,
            reference_value=before,
            current_value=after,
            move=move,
        )
    drifted = [name for name, f in features.items() if f.drifted]
    share = len(drifted) / len(features) if features else 0.0
    return DriftResult(
        dataset_drift=bool(features) and share >= drift_share,
        drift_share=share,
        drifted_features=drifted,
        features=features,
        share_threshold=drift_share,
        reference_rows=len(reference),
        current_rows=len(current),
    )


def drift_report_html(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    categorical: list[str] | None = None,
    numerical: list[str] | None = None,
    drift_share: float = 0.5,
    stattest_threshold: float | None = None,
    max_current_rows: int | None = HTML_MAX_CURRENT_ROWS,
    seed: int = 0,
) -> str:
    """Evidently's data drift report as one self-contained HTML page.

    The page embeds Evidently's JavaScript bundle and icon font, so it renders
    offline. The methods match `detect_drift`'s. A current table longer than
    `max_current_rows` is sampled for the page only (Evidently's plots are the
    slow part); a banner says so, and `detect_drift` always uses every row.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    plans = _plan(reference, current, categorical, numerical)
    shown = current
    if max_current_rows is not None and len(current) > max_current_rows:
        shown = current.sample(n=max_current_rows, random_state=seed)
    names = [p.name for p in plans]
    definition = DataDefinition(
        numerical_columns=[p.name for p in plans if p.column_type.value == "num"],
        categorical_columns=[p.name for p in plans if p.column_type.value == "cat"],
    )
    preset = DataDriftPreset(
        columns=names,
        drift_share=drift_share,
        per_column_method={p.name: p.method for p in plans},
        threshold=stattest_threshold,
    )
    snapshot = Report([preset]).run(
        Dataset.from_pandas(shown[names], data_definition=definition),
        Dataset.from_pandas(reference[names], data_definition=definition),
    )
    page = str(snapshot.get_html_str(as_iframe=False))
    if shown is not current:
        banner = (
            '<p style="font-family:sans-serif;background:#fff4cc;padding:.5rem 1rem">'
            f"Plots and per-column scores on this page use a random sample of {len(shown):,} "
            f"of {len(current):,} current rows; the drift decision recorded with the run "
            "uses every row.</p>"
        )
        page = page.replace("<body>", f"<body>{banner}", 1)
    return page


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    drift_share: float = 0.5,
    stattest_threshold: float | None = None,
    html: bool = True,
    html_max_rows: int | None = HTML_MAX_CURRENT_ROWS,
) -> tuple[DriftResult, str | None]:
    """Per-column drift on every row, and Evidently's HTML page on a sample when asked."""
    options: dict[str, Any] = {"drift_share": drift_share, "stattest_threshold": stattest_threshold}
    result = detect_drift(reference, current, **options)
    page = None
    if html:
        page = drift_report_html(reference, current, max_current_rows=html_max_rows, **options)
    return result, page


def column_move(
    reference: pd.Series, current: pd.Series, categorical: bool
) -> tuple[str, str, float]:
    """How one column moved, in words a reviewer reads: before, after and the size of the move.

    A category column moves by the category whose share changed most (the size is
    that change in share); a number column by its mean (the size is the change in
    reference standard deviations).
    """
    if categorical:
        before = reference.astype(str).value_counts(normalize=True)
        after = current.astype(str).value_counts(normalize=True)
        levels = before.index.union(after.index)
        share = before.reindex(levels, fill_value=0.0)
        change = after.reindex(levels, fill_value=0.0) - share
        # Two levels always move by the same amount: name the rarer one ("Yes 26% -> 78%").
        order = pd.DataFrame({"size": -change.abs().round(9), "share": share}).sort_values(
            ["size", "share"], kind="stable"
        )
        level = str(order.index[0])
        share_before, share_after = float(before.get(level, 0.0)), float(after.get(level, 0.0))
        return (
            f"{level}: {share_before:.0%}",
            f"{level}: {share_after:.0%}",
            share_after - share_before,
        )
    mean_before, mean_after = float(reference.mean()), float(current.mean())
    spread = float(reference.std()) or 1.0
    return (
        f"mean {_number(mean_before)}",
        f"mean {_number(mean_after)}",
        (mean_after - mean_before) / spread,
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def population_stability_index(
    reference: np.ndarray, current: np.ndarray, bins: int = 10, floor: float = 1e-4
) -> float:
    """PSI of `current` against `reference`, binned on the reference quantiles.

    Rule of thumb: < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 significant.
    Empty bins are floored so that the index stays finite.
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size == 0 or cur.size == 0:
        raise ValueError("PSI needs at least one finite reference and one current value")
    inner = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=inner.size + 1)
    cur_share = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=inner.size + 1)
    p = np.clip(ref_share / ref.size, floor, None)
    q = np.clip(cur_share / cur.size, floor, None)
    return float(np.sum((q - p) * np.log(q / p)))


def prediction_drift(
    reference_scores: np.ndarray,
    current_scores: np.ndarray,
    *,
    psi_threshold: float = 0.2,
    p_threshold: float = 0.01,
) -> dict[str, Any]:
    """Drift of the predicted attrition probabilities.

    Drift needs both a material shift (PSI above `psi_threshold`) and evidence
    it is not sampling noise (two-sample K-S p-value below `p_threshold`):
    with 100,000 rows K-S alone flags negligible shifts, and with a few dozen
    rows PSI alone is noisy.
    """
    ref = np.asarray(reference_scores, dtype=float)
    cur = np.asarray(current_scores, dtype=float)
    psi = population_stability_index(ref, cur)
    ks = stats.ks_2samp(ref[np.isfinite(ref)], cur[np.isfinite(cur)])
    spread = float(np.std(ref)) or 1.0
    return {
        "psi": psi,
        "psi_threshold": float(psi_threshold),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "p_threshold": float(p_threshold),
        "wasserstein_normed": float(stats.wasserstein_distance(ref, cur)) / spread,
        "reference_mean": float(np.mean(ref)),
        "current_mean": float(np.mean(cur)),
        "reference_rows": int(ref.size),
        "current_rows": int(cur.size),
        "drifted": bool(psi > psi_threshold and ks.pvalue < p_threshold),
    }


def _plan(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    categorical: list[str] | None,
    numerical: list[str] | None,
) -> list[_ColumnPlan]:
    """Type every column and pick Evidently's default method for it."""
    from evidently.legacy.calculations.stattests import get_stattest
    from evidently.legacy.core import ColumnType

    cat, num = set(categorical or ()), set(numerical or ())
    if both := sorted(cat & num):
        raise ValueError(f"columns listed as both categorical and numerical: {both}")
    unknown = sorted((cat | num) - set(reference.columns))
    if unknown:
        raise ValueError(f"columns not in the reference data: {unknown}")
    missing = [c for c in reference.columns if c not in current.columns]
    if missing:
        raise ValueError(f"current data lacks reference columns: {missing}")
    plans = []
    for name in reference.columns:
        kind = _column_kind(reference[name], name in cat, name in num)
        if kind is None:
            continue
        column_type = ColumnType.Categorical if kind == "cat" else ColumnType.Numerical
        ref, cur = _clean(reference[name]), _clean(current[name])
        if ref.empty or cur.empty:
            side = "reference" if ref.empty else "current"
            raise ValueError(f"column {name!r} has no values in the {side} data")
        if kind == "num" and not pd.api.types.is_numeric_dtype(cur):
            raise ValueError(f"column {name!r} is numerical in the reference but not in current")
        test = get_stattest(ref, cur, column_type, None)
        plans.append(_ColumnPlan(name, column_type, test.name, test.display_name))
    return plans


def _column_kind(series: pd.Series, as_cat: bool, as_num: bool) -> str | None:
    if as_cat:
        return "cat"
    if as_num:
        return "num"
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            return None
        return "cat"
    values = series.dropna()
    is_integral = pd.api.types.is_integer_dtype(dtype) or bool(
        np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)
    )
    if is_integral and values.nunique() <= ORDINAL_MAX_LEVELS:
        return "cat"
    return "num"


def _clean(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        series = series.replace([-np.inf, np.inf], np.nan)
    return series.dropna()


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, bool | np.bool_):
            safe[key] = bool(value)
        elif isinstance(value, float | np.floating):
            safe[key] = float(value) if math.isfinite(value) else None
        else:
            safe[key] = value
    return safe
