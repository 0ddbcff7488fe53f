"""Association between raw inputs, measured before encoding, on generated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.data.association import (
    CORRELATION_RATIO,
    CRAMERS_V,
    PEARSON_SPEARMAN,
    associations,
    correlation_ratio,
    cramers_v,
    linked_groups,
    strongest,
)
from attrition.data.quality import assess_quality


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Level drives income; role follows department; distance is independent noise."""
    rng = np.random.default_rng(3)
    rows = 800
    level = rng.integers(1, 6, rows)
    department = rng.choice(["Sales", "R&D", "HR"], rows, p=[0.3, 0.6, 0.1])
    role = np.where(
        department == "Sales",
        rng.choice(["Rep", "Executive"], rows),
        np.where(department == "HR", "HR", rng.choice(["Scientist", "Technician"], rows)),
    )
    moved = rng.random(rows) < 0.1  # a few roles sit outside their usual department
    role = np.where(moved, rng.choice(["Rep", "Scientist", "HR"], rows), role)
    return pd.DataFrame(
        {
            "JobLevel": level,
            "MonthlyIncome": level * 4_000 + rng.normal(0, 500, rows),
            "Department": department,
            "JobRole": role,
            "DistanceFromHome": rng.integers(1, 30, rows),
        }
    )


def test_each_kind_of_pair_gets_its_measure(frame: pd.DataFrame) -> None:
    found = {(a.first, a.second): a for a in associations(frame)}
    level_income = found[("JobLevel", "MonthlyIncome")]
    assert level_income.method == PEARSON_SPEARMAN and level_income.value > 0.9
    assert found[("Department", "JobRole")].method == CRAMERS_V
    assert 0.8 < found[("Department", "JobRole")].value < found[("JobLevel", "MonthlyIncome")].value
    assert found[("JobLevel", "Department")].method == CORRELATION_RATIO
    assert found[("JobLevel", "Department")].value < 0.2
    assert found[("MonthlyIncome", "DistanceFromHome")].value < 0.15


def test_one_hot_encoding_would_hide_the_strongest_pair(frame: pd.DataFrame) -> None:
    """No single level indicator correlates with income as strongly as the level does."""
    top = strongest(frame)
    assert top is not None and {top.first, top.second} == {"JobLevel", "MonthlyIncome"}
    indicators = pd.get_dummies(frame["JobLevel"], prefix="JobLevel", dtype=float)
    encoded = indicators.corrwith(frame["MonthlyIncome"]).abs().max()
    assert encoded < top.value - 0.2


def test_measures_on_known_tables() -> None:
    same = pd.Series(["a", "b", "a", "b"] * 10)
    assert cramers_v(same, same) == pytest.approx(1.0)
    assert cramers_v(same, pd.Series(["x", "x", "y", "y"] * 10)) == pytest.approx(0.0)
    assert correlation_ratio(same, pd.Series([1.0, 5.0, 1.0, 5.0] * 10)) == pytest.approx(1.0)
    assert correlation_ratio(same, pd.Series([3.0] * 40)) == 0.0


def test_linked_groups_join_chains(frame: pd.DataFrame) -> None:
    groups = linked_groups(associations(frame), 0.8)
    assert ["JobLevel", "MonthlyIncome"] in groups and ["Department", "JobRole"] in groups
    assert not any("DistanceFromHome" in g for g in groups)
    assert linked_groups(associations(frame), 0.999) == []


def test_quality_reports_the_raw_pair_and_the_encoded_figure(frame: pd.DataFrame) -> None:
    encoded = pd.get_dummies(frame, columns=["JobLevel", "Department", "JobRole"], dtype=float)
    encoded = encoded.drop(columns=["MonthlyIncome"])
    quality = assess_quality(frame, encoded, ordinal_max_levels=5, bar=0.8)
    assert quality.raw_pair == ("JobLevel", "MonthlyIncome")
    assert quality.raw_method == PEARSON_SPEARMAN
    assert quality.metrics()["dq_raw_association"] == quality.raw_association
    assert quality.raw_association is not None and quality.raw_association > 0.9
    assert any(
        t.startswith("JobLevel and MonthlyIncome: 1.00 (Pearson") for t in quality.strong_pairs
    )
    assert quality.linked_inputs == [["Department", "JobRole"], ["JobLevel", "MonthlyIncome"]]
