"""Data-quality metrics: missing cells, far-out values, correlation between model inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.data.quality import assess_quality, max_abs_correlation, outlier_counts


def test_ordinal_levels_are_never_outliers() -> None:
    rating = pd.DataFrame({"rating": [1] * 97 + [4] * 3})
    quality = assess_quality(rating, rating, ordinal_max_levels=5)
    assert quality.outlier_rate == 0.0


def test_far_out_value_counted() -> None:
    values = pd.DataFrame({"income": [*range(100, 200), 10_000]})
    assert outlier_counts(values, ["income"]) == {"income": 1}
    quality = assess_quality(values, values, ordinal_max_levels=5)
    assert quality.outlier_rate == pytest.approx(1 / 101)
    assert quality.outliers_by_column == {"income": 1}


def test_missing_rate() -> None:
    frame = pd.DataFrame({"a": [1.0, None, 3.0, 4.0], "b": ["x", "y", None, None]})
    assert assess_quality(frame, frame, 5).missing_value_rate == pytest.approx(3 / 8)


def test_max_abs_correlation_finds_the_pair() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    frame = pd.DataFrame(
        {"x": x, "minus_x": -x + rng.normal(scale=0.01, size=500), "z": rng.normal(size=500)}
    )
    value, pair = max_abs_correlation(frame)
    assert value > 0.99
    assert set(pair or ()) == {"x", "minus_x"}


def test_real_file_quality(ibm_frame: pd.DataFrame) -> None:
    features = ibm_frame.drop(
        columns=["Attrition", "EmployeeNumber", "EmployeeCount", "StandardHours", "Over18"]
    )
    quality = assess_quality(features, features, ordinal_max_levels=5)
    assert quality.missing_value_rate == 0.0
    assert 0.0 < quality.outlier_rate < 0.01
    assert quality.most_correlated_pair == ("JobLevel", "MonthlyIncome")
