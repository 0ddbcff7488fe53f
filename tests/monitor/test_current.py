"""Current rows: selecting and typing the model's inputs, and scoring only what needs it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.monitor.factories import FEATURES, make_reference

from attrition.errors import DataError
from attrition.monitor.current import from_frame, from_store, score, select_features


class Doubling:
    """A stand-in estimator: probability = Age / 100, and it counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        p = features["Age"].to_numpy(dtype=float) / 100
        return np.column_stack([1 - p, p])


def extract(**changes: Any) -> pd.DataFrame:
    """Two raw rows as an HR extract holds them: extra columns, numbers as text."""
    frame = pd.DataFrame(
        {
            "EmployeeNumber": [10, 11],
            "Attrition": ["No", "Yes"],
            "Gender": ["Female", "Male"],
            "Age": ["34", "45"],
            "OverTime": ["Yes", "No"],
            "JobSatisfaction": [2.0, 4.0],
            "MonthlyIncome": ["4100.5", "5200"],
            "Department": ["Sales", "HR"],
        },
        index=[7, 9],
    )
    return frame.assign(**changes)


def test_inputs_are_selected_in_order_and_typed_like_the_reference() -> None:
    selected = select_features(extract(), make_reference(), "hr.csv")
    assert list(selected.columns) == list(FEATURES)
    assert list(selected.index) == [0, 1]
    assert selected["Age"].dtype == "int64" and selected["Age"].tolist() == [34, 45]
    assert selected["JobSatisfaction"].dtype == "int64"
    assert selected["MonthlyIncome"].tolist() == [4100.5, 5200.0]
    assert selected["OverTime"].tolist() == ["Yes", "No"]


def test_text_columns_become_text_and_keep_missing_values() -> None:
    selected = select_features(
        extract(Department=pd.Series([3, None], index=[7, 9], dtype=object)),
        make_reference(),
        "hr.csv",
    )
    assert selected["Department"].iloc[0] == "3"
    assert pd.isna(selected["Department"].iloc[1])


def test_fractional_values_in_an_integer_column_stay_fractional() -> None:
    selected = select_features(extract(Age=[34.5, 45]), make_reference(), "hr.csv")
    assert selected["Age"].tolist() == [34.5, 45.0]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (extract().iloc[0:0], "hr.csv: no data rows"),
        (
            extract().drop(columns=["Age", "OverTime"]),
            "missing model input column(s) Age, OverTime",
        ),
        (extract(Age=["34", "old"]), "Age (1 non-numeric values, e.g. 'old')"),
    ],
)
def test_unusable_extracts_name_the_source_and_the_problem(
    frame: pd.DataFrame, message: str
) -> None:
    with pytest.raises(DataError) as error:
        select_features(frame, make_reference(), "hr.csv")
    assert message in str(error.value)
    assert str(error.value).startswith("hr.csv: ")


def test_a_file_is_scored_with_the_given_model() -> None:
    model = Doubling()
    current = from_frame(extract(), make_reference(), model, "hr.csv")
    np.testing.assert_allclose(current.scores, [0.34, 0.45])
    assert current.rows == 2 and current.source == "hr.csv" and current.stored is None
    np.testing.assert_allclose(score(model, current.features), [0.34, 0.45])


def stored(versions: list[str]) -> pd.DataFrame:
    rows = extract().reset_index(drop=True)
    return rows.assign(model_version=versions, probability=[0.9, 0.8])


def test_stored_rows_keep_the_served_probability_of_the_reference_version() -> None:
    model = Doubling()
    since = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    current = from_store(
        stored(["3", "3"]), make_reference(version="3"), lambda: model, since, None
    )
    np.testing.assert_allclose(current.scores, [0.9, 0.8])
    assert model.calls == 0  # nothing to rescore: the model is never loaded
    assert current.source == "the prediction store since 2026-03-01 12:30:00 UTC"
    assert current.since == since and current.stored is not None and len(current.stored) == 2


def test_rows_served_by_another_version_are_scored_again() -> None:
    model = Doubling()
    current = from_store(stored(["2", "3"]), make_reference(version="3"), lambda: model, None, None)
    np.testing.assert_allclose(current.scores, [0.34, 0.8])
    assert model.calls == 1
    assert current.source == "the prediction store"
