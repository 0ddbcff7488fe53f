"""Realised performance: reading outcomes, joining them to predictions, metrics and segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from attrition.errors import DataError
from attrition.monitor.performance import (
    assess_performance,
    join_outcomes,
    read_outcomes,
    realised_metrics,
)
from attrition.monitor.segments import fairness_over_time, natural_key, segment_table
from attrition.training.evaluate import classification_metrics

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def predictions(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Stored-prediction rows: one per employee, spread over 90 days."""
    rng = np.random.default_rng(seed)
    proba = rng.beta(1.5, 5, rows)
    return pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "employee_id": [str(i) for i in range(rows)],
            "created_at": [T0 + timedelta(days=float(d)) for d in rng.uniform(0, 90, rows)],
            "probability": proba,
            "decision": (proba >= 0.3).astype(int),
            "model_version": "1",
            "risk_band": np.where(proba >= 0.3, "high", "low"),
            "Department": rng.choice(["Sales", "Research & Development", "Human Resources"], rows),
            "MaritalStatus": rng.choice(["Single", "Married"], rows),
        }
    )


def outcomes_for(stored: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    left = rng.random(len(stored)) < stored["probability"].to_numpy()
    return pd.DataFrame(
        {
            "employee_id": stored["employee_id"].astype(int),
            "left": np.where(left, "Yes", "No"),
            "date": [(t + timedelta(days=60)).date().isoformat() for t in stored["created_at"]],
        }
    )


def test_joined_metrics_equal_direct_computation() -> None:
    stored = predictions()
    raw = outcomes_for(stored)
    parsed = read_outcomes(raw.sample(frac=1, random_state=3), "outcomes.csv")
    joined, unmatched = join_outcomes(parsed, stored, max_age_days=365)
    assert unmatched == 0 and len(joined) == len(stored)
    result = realised_metrics(
        joined["left"].to_numpy(), joined["probability"].to_numpy(), joined["decision"].to_numpy()
    )
    direct = classification_metrics(
        (raw["left"] == "Yes").astype(int).to_numpy(), stored["probability"].to_numpy(), 0.3
    )
    for name, value in direct.items():
        assert result[name]["value"] == pytest.approx(value, abs=1e-12), name
        if name != "pr_auc":  # no bootstrap interval for PR AUC
            assert result[name]["low"] <= value <= result[name]["high"], name


def test_an_outcome_takes_the_latest_prediction_before_it() -> None:
    stored = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "employee_id": ["7", "7", "7"],
            "created_at": [T0, T0 + timedelta(days=10), T0 + timedelta(days=40)],
            "probability": [0.1, 0.8, 0.5],
            "decision": [0, 1, 1],
        }
    )
    raw = pd.DataFrame({"EmployeeNumber": [7], "Attrition": ["Yes"], "date": ["2025-01-20"]})
    parsed = read_outcomes(raw, "o.csv", id_column="EmployeeNumber", target="Attrition")
    joined, unmatched = join_outcomes(parsed, stored, max_age_days=365)
    assert unmatched == 0
    assert joined["probability"].tolist() == [0.8]


def test_a_same_day_prediction_counts_and_old_ones_expire() -> None:
    stored = predictions(3)
    stored["created_at"] = [T0 + timedelta(hours=15), T0 - timedelta(days=500), T0]
    raw = pd.DataFrame(
        {"employee_id": ["0", "1", "99"], "left": ["no", "yes", "no"], "date": ["2025-01-01"] * 3}
    )
    joined, unmatched = join_outcomes(read_outcomes(raw, "o.csv"), stored, max_age_days=365)
    assert joined["employee_id"].tolist() == ["0"]
    assert unmatched == 2


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"left": ["yes"], "date": ["2025-01-01"]}), "no id column"),
        (pd.DataFrame({"employee_id": [1], "date": ["2025-01-01"]}), "no outcome column"),
        (pd.DataFrame({"employee_id": [1], "left": ["yes"]}), "no date column"),
        (
            pd.DataFrame({"employee_id": [1], "left": ["maybe"], "date": ["2025-01-01"]}),
            "'left' must be yes/no",
        ),
        (
            pd.DataFrame({"employee_id": [1], "left": ["yes"], "date": ["soon"]}),
            "'date' has 1 values that are not dates",
        ),
        (pd.DataFrame({"employee_id": [], "left": [], "date": []}), "no outcome rows"),
    ],
)
def test_bad_outcomes_are_named(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message) as error:
        read_outcomes(frame, "outcomes.csv")
    assert "outcomes.csv" in str(error.value)


def test_outcome_values_in_many_spellings() -> None:
    raw = pd.DataFrame(
        {"employee_id": [1.0, 2.0, 3.0, 4.0], "left": ["Yes", 0, "TRUE", "n"], "date": "2025-03-01"}
    )
    parsed = read_outcomes(raw, "o.csv").frame
    assert parsed["left"].tolist() == [1, 0, 1, 0]
    assert parsed["employee_id"].tolist() == ["1", "2", "3", "4"]


def test_segment_table_counts_errors() -> None:
    frame = pd.DataFrame(
        {
            "Department": ["A", "A", "A", "B", "B"],
            "left": [1, 1, 0, 0, 1],
            "decision": [1, 0, 1, 0, 1],
            "probability": [0.9, 0.2, 0.7, 0.1, 0.8],
        }
    )
    table = segment_table(frame, "Department").set_index("group")
    assert table.loc["A", "false_negatives"] == 1
    assert table.loc["A", "false_positives"] == 1
    assert table.loc["A", "miss_rate"] == pytest.approx(0.5)
    assert table.loc["B", "accuracy"] == 1.0


def test_groups_sort_naturally() -> None:
    labels = ["50+", "<30", "30-39", "10", "2"]
    assert sorted(labels, key=natural_key) == ["2", "10", "<30", "30-39", "50+"]


def test_fairness_over_time_spreads_use_large_groups_only() -> None:
    frame = pd.DataFrame(
        {
            "created_at": [T0] * 70,
            "left": [1] * 35 + [0] * 35,
            "decision": [1] * 20 + [0] * 15 + [1] * 5 + [0] * 30,
            "Gender": ["F"] * 30 + ["M"] * 35 + ["X"] * 5,
        }
    )
    table = fairness_over_time(frame, ["Gender"], "month", min_group_size=30)
    spread = table[table["group"] == "(spread)"].iloc[0]
    groups = table[table["group"] != "(spread)"].set_index("group")
    expected = abs(groups.loc["F", "selection_rate"] - groups.loc["M", "selection_rate"])
    assert spread["selection_rate"] == pytest.approx(expected)
    assert spread["count"] == 65  # X (5 employees) is reported, not in the spread


def test_without_outcomes_only_the_estimate_is_filled() -> None:
    result = assess_performance(
        predictions(), None, period="month", max_age_days=365, sensitive=["Gender"]
    )
    assert result.overall is None and result.matched == 0
    assert result.estimated_all is not None and result.estimated_all["roc_auc"] > 0.5
    periods = [p["period"] for p in result.periods]
    assert periods == sorted(periods) and periods[:3] == ["2025-01", "2025-02", "2025-03"]
    assert sum(p["predictions"] for p in result.periods) == 400
    assert result.to_dict()["fairness_attributes_unavailable"] == ["Gender"]
