"""Realised performance: outcomes (who left, when) joined to the predictions that were served.

Each outcome is matched to the employee's latest stored prediction made before
it (and not too long before). Metrics are computed from the served decisions and
probabilities, per period of the prediction date, with bootstrap intervals;
`segments` breaks the errors down by segment and score band and follows
fairness over time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attrition.errors import DataError
from attrition.monitor.estimate import calibration_table, estimate_metrics
from attrition.monitor.segments import (
    error_analysis,
    fairness_bars,
    fairness_gaps_by_period,
    fairness_over_time,
    period_of,
    with_segments,
)
from attrition.stats import (
    METRIC_NAMES,
    bootstrap,
    confusion,
    decision_metrics,
    percentile_interval,
    unit_weights,
    weighted_auc,
)

ID_COLUMNS = ("employee_id",)
OUTCOME_COLUMNS = ("left",)
DATE_COLUMNS = ("date", "outcome_date", "left_date")
YES = {"yes", "y", "true", "t", "1", "left", "leaver"}
NO = {"no", "n", "false", "f", "0", "stayed", "stayer"}


@dataclass
class Outcomes:
    """Known outcomes: `employee_id` (text), `left` (0/1), `date` (UTC) and any extra columns."""

    frame: pd.DataFrame
    source: str


def read_outcomes(
    frame: pd.DataFrame,
    source: str,
    *,
    id_column: str | None = None,
    target: str | None = None,
    positive_label: str | None = None,
) -> Outcomes:
    """Validate an outcomes table: employee id, left yes/no, and the date it became known.

    Column names: `employee_id` (or the dataset's id column, e.g. EmployeeNumber),
    `left` (or the dataset's target, e.g. Attrition) and `date` (or `outcome_date`).
    `left` accepts yes/no, true/false, 1/0 and the dataset's positive label.

    Raises:
        DataError: naming the source, column and problem.
    """
    if frame.empty:
        raise DataError(f"{source}: no outcome rows")
    id_name = _pick(frame, (*ID_COLUMNS, *([id_column] if id_column else [])), source, "id")
    left_name = _pick(frame, (*OUTCOME_COLUMNS, *([target] if target else [])), source, "outcome")
    date_name = _pick(frame, DATE_COLUMNS, source, "date")
    ids = frame[id_name]
    if ids.isna().any():
        raise DataError(f"{source}: column '{id_name}' has {int(ids.isna().sum())} empty ids")
    text = frame[left_name].astype(str).str.strip().str.lower()
    yes = YES | ({positive_label.lower()} if positive_label else set())
    unknown = sorted(set(text) - yes - NO)
    if unknown:
        raise DataError(
            f"{source}: column '{left_name}' must be yes/no (or 1/0, true/false), "
            f"found {unknown[:5]}"
        )
    dates = pd.to_datetime(frame[date_name], errors="coerce", utc=True, format="mixed")
    bad = dates.isna()
    if bad.any():
        example = frame.loc[bad, date_name].iloc[0]
        raise DataError(
            f"{source}: column '{date_name}' has {int(bad.sum())} values that are not dates "
            f"(e.g. {example!r})"
        )
    # A plain date means "known by the end of that day": predictions made that day count.
    midnight = (dates == dates.dt.normalize()).all()
    if midnight:
        dates = dates + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    extra = frame.drop(columns=[id_name, left_name, date_name])
    clean = pd.DataFrame(
        {
            "employee_id": _id_text(ids),
            "left": text.isin(yes).astype(int).to_numpy(),
            "outcome_date": dates.to_numpy(),
        },
        index=frame.index,
    )
    clean["outcome_date"] = pd.to_datetime(clean["outcome_date"], utc=True)
    return Outcomes(pd.concat([clean, extra], axis=1).reset_index(drop=True), source)


def _pick(frame: pd.DataFrame, names: tuple[str, ...], source: str, what: str) -> str:
    for name in names:
        if name in frame.columns:
            return name
    raise DataError(f"{source}: no {what} column (expected one of: {', '.join(names)})")


def _id_text(ids: pd.Series) -> pd.Series:
    """Ids as text, with whole-number floats (1.0 from a CSV with gaps) written as 1."""
    if pd.api.types.is_float_dtype(ids) and np.all(np.mod(ids.dropna(), 1) == 0):
        ids = ids.astype("Int64")
    return ids.astype(str).str.strip()


def join_outcomes(
    outcomes: Outcomes, predictions: pd.DataFrame, max_age_days: int
) -> tuple[pd.DataFrame, int]:
    """Match each outcome to the employee's latest prediction made at most `max_age_days` before.

    Returns the matched rows (one per prediction, its latest outcome) and how
    many outcomes found no prediction.
    """
    needed = ("employee_id", "created_at", "probability", "decision")
    missing = [c for c in needed if c not in predictions.columns]
    if missing:
        raise DataError(f"the prediction store rows lack {missing}")
    stored = predictions[predictions["employee_id"].notna()].copy()
    stored["employee_id"] = _id_text(stored["employee_id"])
    stored = stored.sort_values("created_at", kind="mergesort")
    wanted = outcomes.frame.sort_values("outcome_date", kind="mergesort")
    if stored.empty:
        return stored.assign(left=pd.Series(dtype=int)), len(wanted)
    overlap = [c for c in wanted.columns if c in stored.columns and c != "employee_id"]
    wanted = wanted.rename(columns={c: f"outcome_{c}" for c in overlap})
    joined = pd.merge_asof(
        wanted,
        stored,
        left_on="outcome_date",
        right_on="created_at",
        by="employee_id",
        direction="backward",
        tolerance=pd.Timedelta(days=max_age_days),
    )
    matched = joined[joined["probability"].notna()]
    unmatched = len(joined) - len(matched)
    key = "id" if "id" in matched.columns else "request_id"
    matched = matched.drop_duplicates(subset=[key], keep="last")
    matched = matched.sort_values("created_at", kind="mergesort").reset_index(drop=True)
    matched["decision"] = matched["decision"].astype(int)
    matched["left"] = matched["left"].astype(int)
    return matched, unmatched


# --- metrics ---------------------------------------------------------------------------


def realised_metrics(
    labels: np.ndarray,
    proba: np.ndarray,
    decision: np.ndarray,
    *,
    n_boot: int = 300,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, dict[str, float | None]]:
    """Metrics of served decisions against outcomes, each with a bootstrap interval.

    Names match the training run's test metrics (`accuracy`, `roc_auc`,
    `f1_attrition`, ...). ROC AUC and PR AUC are None when only one class occurred.
    """
    from sklearn import metrics as skm

    y = np.asarray(labels).astype(bool)
    p = np.asarray(proba, dtype=float)
    d = np.asarray(decision).astype(bool)
    n = len(y)
    both = 0 < y.sum() < n
    point = {k: float(v[0]) for k, v in decision_metrics(confusion(y, d, unit_weights(n))).items()}
    point["roc_auc"] = float(skm.roc_auc_score(y, p)) if both else math.nan
    point["pr_auc"] = float(skm.average_precision_score(y, p)) if both else math.nan
    point["brier"] = float(np.mean((p - y) ** 2)) if n else math.nan

    def statistic(w: np.ndarray) -> dict[str, np.ndarray]:
        values = decision_metrics(confusion(y, d, w))
        values["roc_auc"] = weighted_auc(p, y, w) if both else np.full(len(w), np.nan)
        values["brier"] = w @ ((p - y) ** 2) / n
        return values

    draws = bootstrap(statistic, n, resamples=n_boot, seed=seed)
    intervals = {name: percentile_interval(values, confidence) for name, values in draws.items()}
    result: dict[str, dict[str, float | None]] = {}
    for name in METRIC_NAMES:  # PR AUC has no weighted form here: no interval
        low, high = intervals.get(name, (None, None))
        result[name] = {"value": _num(point[name]), "low": _num(low), "high": _num(high)}
    return result


def _num(value: float | np.ndarray | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def counts(labels: np.ndarray, decision: np.ndarray) -> dict[str, int]:
    """Rows, leavers, flagged employees and the confusion matrix."""
    y = np.asarray(labels).astype(bool)
    c = confusion(y, decision, unit_weights(len(y)))
    tp, fp, fn, tn = (int(v[0]) for v in (c.tp, c.fp, c.fn, c.tn))
    return {
        "rows": len(y),
        "leavers": tp + fn,
        "flagged": tp + fp,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def _estimated(frame: pd.DataFrame) -> dict[str, float | None]:
    estimate = estimate_metrics(frame["probability"].to_numpy(), frame["decision"].to_numpy())
    return {k: _num(v) for k, v in estimate.items()}


def metrics_by_period(
    joined: pd.DataFrame, predictions: pd.DataFrame, period: str, *, n_boot: int = 300
) -> list[dict[str, Any]]:
    """Realised metrics (with intervals) and estimates per period of the prediction date.

    `estimated_matched` is the label-free estimate on the very rows that have
    outcomes (like for like); `estimated_all` covers every prediction of the period.
    """
    labels = period_of(joined["created_at"], period) if len(joined) else pd.Series(dtype=str)
    every = period_of(predictions["created_at"], period) if len(predictions) else pd.Series()
    rows = []
    for name in sorted(set(labels) | set(every)):
        part = joined[labels.to_numpy() == name] if len(joined) else joined
        everything = predictions[every.to_numpy() == name]
        entry: dict[str, Any] = {"period": name, "predictions": len(everything)}
        if len(part):
            y, d = part["left"].to_numpy(), part["decision"].to_numpy()
            entry["counts"] = counts(y, d)
            entry["realised"] = realised_metrics(
                y, part["probability"].to_numpy(), d, n_boot=n_boot
            )
            entry["estimated_matched"] = _estimated(part)
        else:
            entry["counts"] = {"rows": 0}
        entry["estimated_all"] = _estimated(everything) if len(everything) else None
        rows.append(entry)
    return rows


# --- everything together ------------------------------------------------------------------


@dataclass
class PerformanceResult:
    """Realised and estimated performance of the served predictions."""

    period: str
    predictions: int
    outcomes: int
    matched: int
    unmatched: int
    overall: dict[str, dict[str, float | None]] | None
    overall_counts: dict[str, int] | None
    estimated_matched: dict[str, float | None] | None
    estimated_all: dict[str, float | None] | None
    periods: list[dict[str, Any]]
    segments: dict[str, pd.DataFrame]
    calibration: pd.DataFrame
    calibration_error: float | None
    fairness: pd.DataFrame
    reference_metrics: dict[str, float]
    reference_calibration_error: float | None
    unavailable_attributes: list[str] = field(default_factory=list)
    fairness_limit: float | None = None
    context: dict[str, Any] = field(default_factory=dict)
    fairness_gaps: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """`performance_metrics.json`."""
        fairness = self.fairness.replace({np.nan: None}).to_dict(orient="records")
        return {
            **self.context,
            "period": self.period,
            "predictions": self.predictions,
            "outcomes": self.outcomes,
            "matched_outcomes": self.matched,
            "unmatched_outcomes": self.unmatched,
            "realised": self.overall,
            "counts": self.overall_counts,
            "estimated_matched": self.estimated_matched,
            "estimated_all": self.estimated_all,
            "reference_test_metrics": self.reference_metrics,
            "reference_calibration_error": self.reference_calibration_error,
            "calibration_error": self.calibration_error,
            "calibration": self.calibration.replace({np.nan: None}).to_dict(orient="records"),
            "periods": self.periods,
            "segments": {
                name: table.replace({np.nan: None}).to_dict(orient="records")
                for name, table in self.segments.items()
            },
            "fairness_over_time": fairness,
            "fairness_gaps_by_period": self.fairness_gaps,
            "fairness_attributes_unavailable": self.unavailable_attributes,
        }


def assess_performance(
    predictions: pd.DataFrame,
    outcomes: Outcomes | None,
    *,
    period: str,
    max_age_days: int,
    sensitive: list[str],
    bands: pd.DataFrame | None = None,
    reference_metrics: dict[str, float] | None = None,
    reference_calibration_error: float | None = None,
    min_group_size: int = 30,
    fairness_limit: float | None = None,
    n_boot: int = 300,
    context: dict[str, Any] | None = None,
) -> PerformanceResult:
    """Join outcomes to stored predictions and compute everything the report shows.

    Without outcomes only the label-free estimate is filled in. `bands` holds
    derived columns (e.g. AgeBand) aligned with `predictions`' rows.
    """
    stored = predictions.reset_index(drop=True)
    if bands is not None:  # a band stored with the prediction is not derived twice
        bands = bands[[c for c in bands.columns if c not in stored.columns]]
        stored = pd.concat([stored, bands.reset_index(drop=True)], axis=1)
    joined, unmatched = (
        join_outcomes(outcomes, stored, max_age_days) if outcomes else (stored.iloc[:0], 0)
    )
    overall = overall_counts = estimated_matched = None
    segments: dict[str, pd.DataFrame] = {}
    calibration = calibration_table(np.array([]), np.array([]))
    ece = None
    fairness = fairness_over_time(joined.iloc[:0], [], period, min_group_size)
    gaps: list[dict[str, Any]] = []
    available = [a for a in sensitive if a in joined.columns or f"outcome_{a}" in joined.columns]
    if len(joined):
        for name in sensitive:  # an attribute given with the outcomes wins over the stored one
            if f"outcome_{name}" in joined.columns:
                joined[name] = joined[f"outcome_{name}"]
        y, p, d = (joined[c].to_numpy() for c in ("left", "probability", "decision"))
        overall = realised_metrics(y, p, d, n_boot=n_boot)
        overall_counts = counts(y, d)
        estimated_matched = _estimated(joined)
        segmented = with_segments(joined)
        segments = error_analysis(segmented)
        calibration = calibration_table(y, p)
        ece = float(np.average(calibration["gap"].abs(), weights=calibration["count"]))
        fairness = fairness_over_time(joined, available, period, min_group_size)
        gaps = fairness_gaps_by_period(
            joined, available, period, fairness_bars(min_group_size, fairness_limit), n_boot=n_boot
        )
    return PerformanceResult(
        period=period,
        predictions=len(stored),
        outcomes=len(outcomes.frame) if outcomes else 0,
        matched=len(joined),
        unmatched=unmatched,
        overall=overall,
        overall_counts=overall_counts,
        estimated_matched=estimated_matched,
        estimated_all=_estimated(stored) if len(stored) else None,
        periods=metrics_by_period(joined, stored, period, n_boot=n_boot),
        segments=segments,
        calibration=calibration,
        calibration_error=ece,
        fairness=fairness,
        reference_metrics=dict(reference_metrics or {}),
        reference_calibration_error=reference_calibration_error,
        unavailable_attributes=[a for a in sensitive if a not in available],
        fairness_limit=fairness_limit,
        context=dict(context or {}),
        fairness_gaps=gaps,
    )
