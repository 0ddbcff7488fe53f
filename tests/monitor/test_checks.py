"""The numbers the monitoring checks log, and when the champion's model scores current rows."""

from __future__ import annotations

import math
from datetime import UTC

import numpy as np
import pandas as pd
import pytest
from tests.monitor.factories import make_drift_check, make_performance, make_reference

from attrition.monitor.checks import (
    Champion,
    drift_values,
    now_utc,
    performance_values,
    scores_of,
)
from attrition.monitor.current import Current


class Halving:
    """A stand-in estimator: probability = JobSatisfaction / 8."""

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        p = features["JobSatisfaction"].to_numpy(dtype=float) / 8
        return np.column_stack([1 - p, p])


def champion() -> Champion:
    return Champion(
        client=None, name="m", version="3", reference=make_reference(), _model=Halving()
    )


def test_drift_values_are_the_checks_headline_numbers() -> None:
    check = make_drift_check(
        drifted=("Age", "OverTime"),
        dataset_drift=False,
        prediction={"psi": 0.25, "ks_pvalue": 0.003, "drifted": True},
        rate={"current_rate": 0.31, "change": 0.11, "drifted": True},
        scores=(0.2, 0.4, 0.7),
    )
    assert drift_values(check) == {
        "drift_share": pytest.approx(2 / 5),
        "drifted_features": 2,
        "dataset_drift": 0.0,
        "prediction_drift": 1.0,
        "prediction_psi": 0.25,
        "prediction_ks_pvalue": 0.003,
        "predicted_rate": 0.31,
        "predicted_rate_change": 0.11,
        "current_rows": 3,
    }


def test_performance_values_prefix_realised_and_estimated_metrics() -> None:
    result = make_performance(
        matched=40,
        overall={"roc_auc": {"value": 0.81, "low": 0.7}, "recall_attrition": {"value": None}},
        estimated_all={"roc_auc": 0.83, "brier": math.nan},
    )
    values = performance_values(result)
    assert values["matched_outcomes"] == 40 and values["unmatched_outcomes"] == 5
    assert values["stored_predictions"] == 1000 and values["calibration_error"] == 0.04
    assert values["realised_roc_auc"] == 0.81
    assert values["realised_recall_attrition"] is None
    assert values["estimated_roc_auc"] == 0.83
    assert math.isnan(values["estimated_brier"])  # the run's logger drops it, not this
    without = performance_values(make_performance())
    assert not [k for k in without if k.startswith(("realised_", "estimated_"))]


def test_scores_already_known_are_used_as_they_are() -> None:
    known = np.array([0.3, 0.6])
    current = Current(features=pd.DataFrame({"JobSatisfaction": [1, 2]}), scores=known, source="f")
    assert scores_of(champion(), current) is known


def test_unscored_rows_are_scored_only_when_asked() -> None:
    current = Current(features=pd.DataFrame({"JobSatisfaction": [2, 4]}), scores=None, source="f")
    later = scores_of(champion(), current)
    assert callable(later)
    np.testing.assert_allclose(later(), [0.25, 0.5])


def test_now_is_timezone_aware_utc() -> None:
    assert now_utc().tzinfo is UTC
