"""Where the model errs and how fair it is over time, on outcomes joined to predictions.

Segment tables count false positives (stayers flagged) and false negatives
(leavers missed) per department, role, score band and so on; fairness over time
follows the group selection rates and true positive rates per period.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from attrition.config import GateThresholds

SEGMENTS = (
    "Department",
    "JobRole",
    "JobLevel",
    "OverTime",
    "MaritalStatus",
    "BusinessTravel",
    "AgeBand",
    "score_band",
    "risk_band",
    "model_version",
)
SCORE_BANDS = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0000001])
PERIODS = {"day": "D", "week": "W", "month": "M"}


def period_of(created_at: pd.Series, period: str) -> pd.Series:
    """The period label (e.g. 2025-03 for months) of each UTC timestamp."""
    naive = pd.to_datetime(created_at, utc=True).dt.tz_convert(None)
    return naive.dt.to_period(PERIODS[period]).astype(str)


def with_segments(joined: pd.DataFrame, bands: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add the score band (tenths of probability) and derived bands (e.g. AgeBand)."""
    frame = joined.copy()
    index = np.clip(np.searchsorted(SCORE_BANDS, frame["probability"], side="right") - 1, 0, 9)
    frame["score_band"] = [f"{SCORE_BANDS[i]:.1f}-{min(SCORE_BANDS[i + 1], 1):.1f}" for i in index]
    if bands is not None:
        for name in bands.columns:
            if name not in frame.columns:
                frame[name] = bands[name].to_numpy()
    return frame


def segment_table(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Where the model errs within one segmentation: error counts and rates per group."""
    y = frame["left"].astype(bool)
    d = frame["decision"].astype(bool)
    groups = frame[column].astype(object).where(frame[column].notna(), "(missing)").astype(str)
    parts = pd.DataFrame(
        {
            "group": groups,
            "count": 1,
            "leavers": y.astype(int),
            "flagged": d.astype(int),
            "false_positives": (~y & d).astype(int),
            "false_negatives": (y & ~d).astype(int),
            "correct": (y == d).astype(int),
            "mean_score": frame["probability"].astype(float),
        }
    )
    table = parts.groupby("group", sort=False).agg(
        count=("count", "sum"),
        leavers=("leavers", "sum"),
        flagged=("flagged", "sum"),
        false_positives=("false_positives", "sum"),
        false_negatives=("false_negatives", "sum"),
        correct=("correct", "sum"),
        mean_score=("mean_score", "mean"),
    )
    stayers = table["count"] - table["leavers"]
    table["leaver_rate"] = table["leavers"] / table["count"]
    table["accuracy"] = table["correct"] / table["count"]
    table["false_positive_rate"] = table["false_positives"] / stayers.where(stayers > 0)
    table["miss_rate"] = table["false_negatives"] / table["leavers"].where(table["leavers"] > 0)
    table["precision"] = (table["flagged"] - table["false_positives"]) / table["flagged"].where(
        table["flagged"] > 0
    )
    table = table.drop(columns=["correct"]).reset_index()
    order = sorted(range(len(table)), key=lambda i: natural_key(str(table["group"].iloc[i])))
    return table.iloc[order].reset_index(drop=True)


def natural_key(label: str) -> tuple[float, str]:
    """Order group labels by their first number ('<30' before '30-39', '2' before '10')."""
    match = re.search(r"-?\d+(\.\d+)?", label)
    if match is None:
        return (math.inf, label)
    number = float(match.group())
    return (number - 0.5 if label.lstrip().startswith("<") else number, label)


def error_analysis(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Segment tables for every known segmentation present in `frame` with two or more groups."""
    tables = {name: segment_table(frame, name) for name in SEGMENTS if name in frame.columns}
    return {name: table for name, table in tables.items() if len(table) > 1}


def fairness_over_time(
    frame: pd.DataFrame, attributes: list[str], period: str, min_group_size: int
) -> pd.DataFrame:
    """Per period, attribute and group: size, selection rate and true positive rate.

    Each period and attribute also gets a `(spread)` row: the max - min of the
    two rates over groups of at least `min_group_size` employees (statistical
    parity and equal opportunity differences).
    """
    from attrition.fairness import group_labels, group_table

    columns = ["period", "attribute", "group", "count", "leavers", "selection_rate", "tpr"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    labels = period_of(frame["created_at"], period)
    rows: list[pd.DataFrame] = []
    for name in sorted(set(labels)):
        part = frame[labels.to_numpy() == name]
        y = part["left"].to_numpy().astype(bool)
        d = part["decision"].to_numpy().astype(bool)
        for attribute in attributes:
            if attribute not in part.columns:
                continue
            groups = group_labels(part[attribute])
            order = sorted(set(groups.tolist()))
            table = group_table(y, d, groups, order)
            table = table[["group", "count", "leavers", "selection_rate", "tpr"]].copy()
            big = table[table["count"] >= min_group_size]
            spread = pd.DataFrame(
                {
                    "group": ["(spread)"],
                    "count": [int(big["count"].sum())],
                    "leavers": [int(big["leavers"].sum())],
                    "selection_rate": [_spread(big["selection_rate"])],
                    "tpr": [_spread(big["tpr"])],
                }
            )
            table = pd.concat([table, spread], ignore_index=True)
            table.insert(0, "attribute", attribute)
            table.insert(0, "period", name)
            rows.append(table)
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)


def _spread(rates: pd.Series) -> float:
    values = rates.dropna()
    return float(values.max() - values.min()) if len(values) >= 2 else math.nan


def fairness_gaps_by_period(
    frame: pd.DataFrame,
    attributes: list[str],
    period: str,
    thresholds: GateThresholds,
    *,
    n_boot: int = 200,
) -> list[dict[str, Any]]:
    """Per period and attribute, the fairness audit of training applied to realised outcomes.

    One row per period, attribute and difference (statistical parity, equal opportunity,
    predictive parity), with its 95% bootstrap interval and whether it meets the bar;
    groups smaller than `thresholds.min_group_size` are left out of the differences.
    """
    from attrition.fairness import assess_fairness

    present = [a for a in attributes if a in frame.columns]
    if frame.empty or not present:
        return []
    labels = period_of(frame["created_at"], period)
    rows: list[dict[str, Any]] = []
    for name in sorted(set(labels)):
        part = frame[labels.to_numpy() == name]
        audit = part[present].astype(object).where(part[present].notna(), "(missing)")
        assessment = assess_fairness(
            part["left"].to_numpy().astype(int),
            part["decision"].to_numpy().astype(int),
            audit.reset_index(drop=True),
            thresholds,
            n_boot=n_boot,
        )
        for attribute in assessment.attributes:
            for metric, gap in attribute.differences.items():
                rows.append(
                    {
                        "period": name,
                        "attribute": attribute.name,
                        "metric": metric,
                        "value": gap.value,
                        "low": gap.ci_low,
                        "high": gap.ci_high,
                        "threshold": gap.threshold,
                        "passed": gap.passed,
                        "rows": len(part),
                    }
                )
    return rows


def fairness_bars(min_group_size: int, limit: float | None) -> GateThresholds:
    """The training gates' fairness bars, or monitoring's `max_fairness_difference` for all."""
    bars = GateThresholds(min_group_size=min_group_size)
    if limit is None:
        return bars
    return bars.model_copy(
        update={
            "statistical_parity_difference": limit,
            "equal_opportunity_difference": limit,
            "predictive_parity_difference": limit,
        }
    )
