"""`model_metadata.json` pieces: the input schema, the risk bands, the sensitive inputs used."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from attrition.config import Band, DatasetConfig
from attrition.training.metadata import feature_schema, risk_bands, used_sensitive


def learned(low: float, high: float) -> dict[str, Any]:
    return {"minimum": low, "maximum": high, "range_from": "training data"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            pd.Series([1, 2, 3, 4, 2], dtype="int64"),
            {
                "type": "integer",
                "kind": "ordinal",
                "min": 1.0,
                "max": 4.0,
                "typical": 2.0,
                **learned(1.0, 4.0),
            },
        ),
        (
            pd.Series([18, 25, 33, 41, 60, 59], dtype="int64"),
            {
                "type": "integer",
                "kind": "numeric",
                "min": 18.0,
                "max": 60.0,
                "typical": 37.0,
                **learned(13.0, 65.0),
            },
        ),
        (
            pd.Series([1.5, 2.0, None]),
            {
                "type": "number",
                "kind": "numeric",
                "min": 1.5,
                "max": 2.0,
                "typical": 1.75,
                **learned(1.45, 2.05),
            },
        ),
        (
            pd.Series(["Sales", "HR", None, "Sales"]),
            {
                "type": "string",
                "kind": "categorical",
                "categories": ["HR", "Sales"],
                "typical": "Sales",
            },
        ),
        (  # booleans are categories, not 0/1 numbers
            pd.Series([True, False, True]),
            {
                "type": "string",
                "kind": "categorical",
                "categories": ["False", "True"],
                "typical": "True",
            },
        ),
    ],
)
def test_schema_per_column_kind(values: pd.Series, expected: dict[str, Any]) -> None:
    (entry,) = feature_schema(pd.DataFrame({"x": values}), ordinal_max_levels=5)
    assert entry == {"name": "x", **expected}


def test_configured_range_replaces_the_learned_one() -> None:
    frame = pd.DataFrame({"Age": [22, 30, 41], "Score": [0.09, 0.5, 1.0]})
    age, score = feature_schema(frame, 0, {"Age": (16, 75)})
    assert (age["minimum"], age["maximum"], age["range_from"]) == (16.0, 75.0, "dataset config")
    assert (score["minimum"], score["maximum"]) == (0.0, 1.0)


def test_schema_keeps_the_column_order() -> None:
    frame = pd.DataFrame({"b": [1, 2], "a": ["x", "y"], "c": [0.5, 0.7]})
    assert [e["name"] for e in feature_schema(frame, 5)] == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("threshold", "bands"),
    [
        (0.3, {"low": 0.0, "medium": 0.15, "high": 0.3}),
        (0.4172839, {"low": 0.0, "medium": 0.208642, "high": 0.417284}),
    ],
)
def test_risk_bands_are_anchored_on_the_threshold(threshold: float, bands: dict) -> None:
    assert risk_bands(threshold) == bands


def test_sensitive_inputs_are_named_directly_or_through_their_band() -> None:
    config = DatasetConfig(
        target="left",
        positive_label=1,
        sensitive=["gender", "marital", "age_band", "region"],
        exclude_from_model=["gender"],
        bands={"age_band": Band(column="age", edges=[0, 40, 200], labels=["young", "older"])},
    )
    features = pd.DataFrame(columns=["marital", "age", "tenure"])
    assert used_sensitive(config, features) == ["marital", "age_band (via age)"]
    assert used_sensitive(config, features.drop(columns=["age"])) == ["marital"]
