"""Validation collects every problem at once and names the column."""

from __future__ import annotations

import pandas as pd
import pytest

from attrition.config import DatasetConfig, load_dataset_config
from attrition.data.validate import validate_frame

OTHER = DatasetConfig(target="left", positive_label=1, id_column="staff_id", sensitive=["sex"])


def make_other(rows: int = 60) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "staff_id": range(1, rows + 1),
            "left": [i % 3 == 0 for i in range(rows)],
            "sex": ["f", "m"] * (rows // 2),
            "tenure": [float(i % 9) for i in range(rows)],
        }
    ).astype({"left": int})


def test_real_file_is_valid(ibm_frame: pd.DataFrame) -> None:
    report = validate_frame(ibm_frame, load_dataset_config(), "ibm.csv")
    assert report.ok, report.summary()


def test_all_problems_reported_together(ibm_frame: pd.DataFrame) -> None:
    bad = ibm_frame.drop(columns=["Gender"]).copy()
    bad["Age"] = bad["Age"].astype(str)
    bad.loc[bad.index[:7], "Age"] = "abc"
    bad.loc[bad.index[:5], "Attrition"] = "Maybe"
    bad.loc[bad.index[1], "EmployeeNumber"] = bad.loc[bad.index[2], "EmployeeNumber"]
    report = validate_frame(bad, load_dataset_config(), "bad.csv")
    text = report.summary()
    assert not report.ok
    assert text.startswith("bad.csv: 4 problem(s)")
    assert "column 'Gender': missing column" in text
    assert "column 'Age': wrong type: 7 value(s) are not numeric (e.g. 'abc')" in text
    assert "column 'Attrition': labels are not binary: 3 distinct values" in text
    assert "column 'EmployeeNumber'" in text and "duplicated" in text


def test_other_schema_valid() -> None:
    assert validate_frame(make_other(), OTHER, "other.csv").ok


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(left=0), "labels are not binary: 1 distinct values"),
        (lambda f: f.assign(left=f["left"] + 5), "positive label '1' not found"),
        (lambda f: f.drop(columns=["left"]), "column 'left': missing column"),
        (lambda f: f.assign(left=[1] * 5 + [0] * 55), "too few rows of one label"),
    ],
)
def test_label_problems(change: object, message: str) -> None:
    report = validate_frame(change(make_other()), OTHER, "other.csv")  # type: ignore[operator]
    assert message in report.summary()


def test_missing_labels_are_reported() -> None:
    frame = make_other().astype({"left": "float"})
    frame.loc[0, "left"] = None
    assert "missing value(s) where none are allowed" in validate_frame(frame, OTHER, "x").summary()
