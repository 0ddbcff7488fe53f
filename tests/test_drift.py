"""Feature drift (Evidently per-column tests), prediction drift (PSI) and their plots."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from attrition.drift import (
    DriftResult,
    detect_drift,
    drift_report_html,
    population_stability_index,
    prediction_drift,
)

NOT_INPUTS = ["Attrition", "EmployeeNumber", "EmployeeCount", "StandardHours", "Over18"]
SHIFTED = ["OverTime", "JobSatisfaction", "EnvironmentSatisfaction"]


def make_employees(rows: int, seed: int) -> pd.DataFrame:
    from attrition.data.generate import generate_employees

    return generate_employees(rows, seed=seed).drop(columns=NOT_INPUTS)


def shift(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """70% overtime and satisfaction one level lower (clipped to 1..4)."""
    rng = np.random.default_rng(seed)
    shifted = frame.copy()
    shifted["OverTime"] = np.where(rng.random(len(frame)) < 0.7, "Yes", "No")
    for column in ("JobSatisfaction", "EnvironmentSatisfaction"):
        shifted[column] = (shifted[column] - 1).clip(1, 4)
    return shifted


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return make_employees(5_000, seed=101)


@pytest.fixture(scope="module")
def same_result(reference: pd.DataFrame) -> DriftResult:
    return detect_drift(reference, make_employees(100_000, seed=202))


@pytest.fixture(scope="module")
def shifted_result(reference: pd.DataFrame) -> DriftResult:
    return detect_drift(reference, shift(make_employees(5_000, seed=303)))


def test_same_distribution_has_no_dataset_drift(same_result: DriftResult) -> None:
    assert same_result.dataset_drift is False
    assert same_result.drifted_features == []
    assert same_result.current_rows == 100_000


def test_shifted_columns_are_flagged(shifted_result: DriftResult) -> None:
    assert set(SHIFTED) <= set(shifted_result.drifted_features)
    assert shifted_result.drift_share == pytest.approx(
        len(shifted_result.drifted_features) / len(shifted_result.features)
    )


def test_large_reference_uses_distances_and_ordinals_are_categories(
    same_result: DriftResult,
) -> None:
    satisfaction = same_result.features["JobSatisfaction"]
    assert (satisfaction.column_type, satisfaction.method) == ("cat", "jensenshannon")
    assert same_result.features["OverTime"].method == "jensenshannon"
    assert same_result.features["MonthlyIncome"].method == "wasserstein"
    assert same_result.features["MonthlyIncome"].threshold == pytest.approx(0.1)


def test_small_reference_uses_p_value_tests() -> None:
    result = detect_drift(make_employees(400, seed=1), make_employees(400, seed=2))
    assert result.features["Age"].method == "ks"
    assert result.features["JobRole"].method == "chisquare"
    assert result.features["Age"].threshold == pytest.approx(0.05)


def test_to_dict_is_json_safe(shifted_result: DriftResult) -> None:
    data = json.loads(json.dumps(shifted_result.to_dict()))
    assert {"dataset_drift", "drift_share", "drifted_features", "features"} <= set(data)
    assert set(data["features"]["OverTime"]) >= {"method", "score", "threshold", "drifted"}
    assert data["features"]["OverTime"]["drifted"] is True


def test_explicit_types_and_threshold_override(reference: pd.DataFrame) -> None:
    current = make_employees(2_000, seed=5)
    result = detect_drift(reference, current, numerical=["JobSatisfaction"], stattest_threshold=0.5)
    assert result.features["JobSatisfaction"].column_type == "num"
    assert all(f.threshold == 0.5 for f in result.features.values())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["Age"]), "lacks reference columns: \\['Age'\\]"),
        (lambda f: f.assign(Age=np.nan), "'Age' has no values in the current"),
    ],
)
def test_bad_current_data_names_the_column(change: object, message: str) -> None:
    reference = make_employees(200, seed=1)
    current = change(make_employees(200, seed=2))  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        detect_drift(reference, current)


def test_drift_report_html_is_offline_and_says_when_sampled(reference: pd.DataFrame) -> None:
    columns = ["Age", "OverTime", "JobSatisfaction", "MonthlyIncome"]
    current = shift(make_employees(3_000, seed=9))[columns]
    page = drift_report_html(reference[columns], current, max_current_rows=1_000)
    assert "<html" in page and "drawDashboard" in page
    assert not re.search(r"<script[^>]+src=", page)
    assert "1,000 of 3,000 current rows" in page
    assert "JobSatisfaction" in page


def test_psi_is_zero_for_identical_and_large_for_shifted_scores() -> None:
    rng = np.random.default_rng(0)
    scores = rng.beta(2, 8, 5_000)
    assert population_stability_index(scores, scores) == pytest.approx(0.0, abs=1e-12)
    assert population_stability_index(scores, np.clip(scores + 0.15, 0, 1)) > 0.2


def test_prediction_drift_needs_a_material_and_significant_shift() -> None:
    rng = np.random.default_rng(1)
    reference = rng.beta(2, 8, 5_000)
    same = prediction_drift(reference, rng.beta(2, 8, 100_000))
    shifted = prediction_drift(reference, rng.beta(4, 6, 5_000))
    assert same["drifted"] is False and same["psi"] < 0.05
    assert shifted["drifted"] is True and shifted["psi"] > shifted["psi_threshold"]
    assert json.loads(json.dumps(shifted))["ks_pvalue"] < 0.01
