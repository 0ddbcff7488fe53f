"""Small constructed inputs for the pure monitoring functions: no store, no model, no Evidently."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from attrition.drift import DriftResult, FeatureDrift
from attrition.monitor.drift_check import DriftCheck
from attrition.monitor.performance import PerformanceResult
from attrition.monitor.reference import Reference

FEATURES = ("Age", "OverTime", "JobSatisfaction", "MonthlyIncome", "Department")


def make_reference(
    *,
    threshold: float = 0.3,
    summary: dict[str, Any] | None = None,
    scores: tuple[float, ...] = (0.1, 0.2, 0.35, 0.5, 0.9),
    version: str = "3",
) -> Reference:
    """A reference of version `version` with five typed input columns and five test scores."""
    features = pd.DataFrame(
        {
            "Age": pd.Series([30, 41, 25, 52, 38], dtype="int64"),
            "OverTime": ["Yes", "No", "No", "Yes", "No"],
            "JobSatisfaction": pd.Series([1, 4, 3, 2, 4], dtype="int64"),
            "MonthlyIncome": [2500.0, 6100.5, 3100.0, 9800.0, 4700.0],
            "Department": ["Sales", "Research", "Sales", "HR", "Research"],
        }
    )
    predictions = pd.DataFrame(
        {"EmployeeNumber": [1, 2, 3, 4, 5], "label": [0, 0, 1, 1, 0], "proba": list(scores)}
    )
    base = {
        "threshold": threshold,
        "base_rate": 0.16,
        "feature_columns": list(FEATURES),
        "id_column": "EmployeeNumber",
    }
    return Reference(
        model_name="employee_attrition_model",
        version=version,
        run_id="run-abc",
        features=features,
        test_predictions=predictions,
        summary=base if summary is None else summary,
        test_metrics={"roc_auc": 0.85, "recall_attrition": 0.6, "brier": 0.1},
    )


def make_drift_check(
    *,
    drifted: tuple[str, ...] = (),
    columns: tuple[str, ...] = FEATURES,
    dataset_drift: bool = False,
    prediction: dict[str, Any] | None = None,
    rate: dict[str, Any] | None = None,
    scores: tuple[float, ...] = (0.1, 0.4, 0.6, 0.2),
) -> DriftCheck:
    """A drift check in which `drifted` of `columns` drifted."""
    features = {
        name: FeatureDrift(
            "wasserstein", 0.3 if name in drifted else 0.01, 0.1, name in drifted, "num"
        )
        for name in columns
    }
    result = DriftResult(
        dataset_drift=dataset_drift,
        drift_share=len(drifted) / len(columns),
        drifted_features=list(drifted),
        features=features,
        share_threshold=0.5,
        reference_rows=500,
        current_rows=len(scores),
    )
    return DriftCheck(
        features=result,
        prediction=prediction
        or {
            "psi": 0.05,
            "psi_threshold": 0.2,
            "ks_pvalue": 0.4,
            "p_threshold": 0.01,
            "drifted": False,
        },
        predicted_rate=rate
        or {
            "reference_rate": 0.2,
            "current_rate": 0.25,
            "change": 0.05,
            "max_change": 0.1,
            "p_value": 0.3,
            "drifted": False,
        },
        reference_scores=np.array([0.1, 0.2, 0.3]),
        current_scores=np.asarray(scores, dtype=float),
        threshold=0.3,
    )


def make_period(period: str, rows: int, **realised: float | None) -> dict[str, Any]:
    """One period of realised performance with `rows` matched outcomes."""
    return {
        "period": period,
        "counts": {"rows": rows},
        "realised": {name: {"value": value} for name, value in realised.items()},
    }


def make_spreads(*rows: tuple[str, str, float, float]) -> pd.DataFrame:
    """Fairness table holding only `(spread)` rows: (period, attribute, selection, tpr)."""
    return pd.DataFrame(
        [
            {"period": p, "attribute": a, "group": "(spread)", "selection_rate": s, "tpr": t}
            for p, a, s, t in rows
        ],
        columns=["period", "attribute", "group", "selection_rate", "tpr"],
    )


def make_performance(
    *,
    periods: list[dict[str, Any]] | None = None,
    fairness: pd.DataFrame | None = None,
    overall: dict[str, dict[str, float | None]] | None = None,
    matched: int = 0,
    reference: dict[str, float] | None = None,
    estimated_all: dict[str, float | None] | None = None,
) -> PerformanceResult:
    """A performance result with the given periods, fairness spreads and overall metrics."""
    return PerformanceResult(
        period="month",
        predictions=1000,
        outcomes=matched + 5,
        matched=matched,
        unmatched=5,
        overall=overall,
        overall_counts=None,
        estimated_matched=None,
        estimated_all=estimated_all,
        periods=periods or [],
        segments={},
        calibration=pd.DataFrame(),
        calibration_error=0.04,
        fairness=make_spreads() if fairness is None else fairness,
        reference_metrics=reference or {"roc_auc": 0.85, "recall_attrition": 0.6, "brier": 0.1},
        reference_calibration_error=0.03,
    )
