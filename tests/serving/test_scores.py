"""The score columns every batch engine writes: bands and decisions from probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.serving.scores import bands_of, scores_table

BANDS = {"low": 0.0, "medium": 0.15, "high": 0.3}


@pytest.mark.parametrize(
    ("probability", "band"),
    [
        (0.0, "low"),
        (0.149, "low"),
        (0.15, "medium"),
        (0.2999, "medium"),
        (0.3, "high"),
        (1.0, "high"),
    ],
)
def test_a_probability_falls_in_the_band_whose_lower_edge_it_reaches(
    probability: float, band: str
) -> None:
    assert bands_of(np.array([probability]), BANDS).tolist() == [band]


def test_below_every_edge_is_the_lowest_band() -> None:
    assert bands_of(np.array([0.05]), {"medium": 0.1, "high": 0.3}).tolist() == ["medium"]


def test_scores_table_columns_types_and_decision_at_the_threshold() -> None:
    p = np.array([0.1, 0.3, 0.31])
    table = scores_table(p, 0.3, bands_of(p, BANDS), "4", None, pd.RangeIndex(3))
    assert list(table.columns) == [
        "attrition_probability",
        "decision",
        "risk_band",
        "model_version",
        "model_semver",
    ]
    assert table["decision"].dtype == np.int8
    assert table["decision"].tolist() == [0, 1, 1]
    assert table["model_semver"].tolist() == ["", "", ""]
