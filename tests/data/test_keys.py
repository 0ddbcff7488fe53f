"""Row content keys and the duplicate count: what makes two rows the same."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.data.generate import generate_employees, with_duplicates
from attrition.data.keys import count_duplicates, row_keys


def test_keys_ignore_row_order_column_order_and_number_spelling() -> None:
    a = pd.DataFrame({"tenure": [1, 2, 3], "role": ["Sales", "HR", None]})
    b = pd.DataFrame({"role": ["HR ", np.nan, "Sales"], "tenure": [2.0, 3.0, 1.0]})
    assert sorted(row_keys(a)) == sorted(row_keys(b))
    assert row_keys(a).iloc[0] == row_keys(b).iloc[2]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"x": [1.0], "y": ["a"]}, {"x": [1.5], "y": ["a"]}),
        ({"x": [1.0], "y": ["a"]}, {"x": [1.0], "y": ["b"]}),
        ({"x": [np.nan], "y": ["a"]}, {"x": [0.0], "y": ["a"]}),
        ({"x": [1.0], "y": [None]}, {"x": [1.0], "y": ["None "]}),
    ],
)
def test_different_values_give_different_keys(left: dict, right: dict) -> None:
    assert row_keys(pd.DataFrame(left)).iloc[0] != row_keys(pd.DataFrame(right)).iloc[0]


def test_keys_survive_a_parquet_round_trip(tmp_path) -> None:
    frame = generate_employees(200, seed=2)
    frame.to_parquet(tmp_path / "f.parquet")
    again = pd.read_parquet(tmp_path / "f.parquet")
    assert row_keys(frame).tolist() == row_keys(again).tolist()


def test_duplicates_count_repeats_of_inputs_and_target_and_conflicts() -> None:
    inputs = pd.DataFrame({"x": [1, 1, 1, 2, 3, 3], "y": list("aaabcc")})
    labels = pd.Series([0, 0, 1, 0, 1, 1])
    counted = count_duplicates(inputs, labels)
    assert counted.rows == 6
    assert counted.duplicate_rows == 2  # the second (1, a, 0) and the second (3, c, 1)
    assert counted.duplicate_rate == pytest.approx(2 / 6)
    assert counted.repeated_inputs == 3
    assert counted.conflicting_rows == 1


def test_generated_share_of_duplicates_is_what_was_asked() -> None:
    frame = with_duplicates(generate_employees(700, seed=5), 0.3, seed=5)
    assert len(frame) == 1000
    assert frame["EmployeeNumber"].is_unique
    inputs = frame.drop(columns=["EmployeeNumber", "Attrition"])
    counted = count_duplicates(inputs, frame["Attrition"])
    assert counted.duplicate_rate == pytest.approx(0.3, abs=0.001)
