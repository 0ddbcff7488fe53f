"""Plausible input ranges: the stated rule, configured overrides, numbers as people write them."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from attrition.config import DatasetConfig
from attrition.data.ranges import plain_number, plausible_range, tidy
from attrition.data.validate import validate_frame
from attrition.serving.schemas import FeatureSpec, build_request_schemas, error_details


@pytest.mark.parametrize(
    ("seen", "kind", "expected"),
    [
        ((22, 60), {"integer": True}, (18.0, 64.0)),  # 10% of the span each side
        ((1009, 19999), {"integer": True}, (0.0, 21898.0)),  # never below 0 if never negative
        ((0.09, 1.0), {}, (0.0, 1.0)),  # seen inside [0, 1]: stays inside [0, 1]
        ((0.2, 0.6), {}, (0.16, 0.64)),
        ((0, 1), {"integer": True}, (0.0, 1.0)),
        ((-5.0, 5.0), {}, (-6.0, 6.0)),  # negative values seen: may go below 0
        ((1, 4), {"integer": True, "ordinal": True}, (1.0, 4.0)),  # levels: as seen
        ((3.0, 3.0), {}, (2.7, 3.3)),  # one value: 10% of it
    ],
)
def test_the_rule(seen: tuple[float, float], kind: dict, expected: tuple[float, float]) -> None:
    assert plausible_range(*seen, **kind) == expected


def test_a_reversed_or_infinite_range_is_refused() -> None:
    with pytest.raises(ValueError, match="not a range"):
        plausible_range(2.0, 1.0)
    with pytest.raises(ValueError, match="not a range"):
        plausible_range(0.0, float("inf"))


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.9100000000000001, "1.91"), (75.0, "75"), (21898.5, "21898.5"), (1_500_000.0, "1500000")],
)
def test_numbers_as_people_write_them(value: float, text: str) -> None:
    assert plain_number(value) == text
    assert repr(tidy(value)) in (text, f"{text}.0")


def test_served_schema_rejects_what_the_loose_rule_let_through() -> None:
    specs = [
        FeatureSpec("Age", "integer", "numeric", seen_min=22, seen_max=60),
        FeatureSpec("Satisfaction", "number", "numeric", seen_min=0.09, seen_max=1.0),
        FeatureSpec("Rate", "number", "numeric", seen_min=0.5, seen_max=0.75),
    ]
    schemas = build_request_schemas(specs, None, max_batch=2)
    schemas.employee.model_validate({"Age": 18, "Satisfaction": 1.0, "Rate": 0.5})
    with pytest.raises(ValidationError) as caught:
        schemas.employee.model_validate({"Age": 5, "Satisfaction": 1.91, "Rate": 0.9})
    details = {d["loc"][-1]: d["msg"] for d in error_details(caught.value)}
    assert details["Age"].endswith("greater than or equal to 18")
    assert details["Satisfaction"].endswith("less than or equal to 1")
    assert details["Rate"].endswith("less than or equal to 0.775")


CONFIG = DatasetConfig(target="left", positive_label=1, ranges={"age": (16, 75)})


def people(ages: list[int]) -> pd.DataFrame:
    rows = len(ages)
    return pd.DataFrame({"age": ages, "left": [i % 2 for i in range(rows)]})


def test_configured_range_is_checked_on_the_data() -> None:
    assert validate_frame(people([20, 30] * 10), CONFIG, "ok.csv").ok
    report = validate_frame(people([20, 30] * 10 + [5, 90]), CONFIG, "bad.csv")
    assert "column 'age': 2 value(s) outside the configured range [16, 75]" in report.summary()


def test_configured_range_of_an_unknown_column_is_a_problem() -> None:
    config = CONFIG.model_copy(update={"ranges": {"agee": (16, 75)}})
    report = validate_frame(people([20, 30] * 10), config, "typo.csv")
    assert "column 'agee': named in the config's ranges but not in the data" in report.summary()


def test_a_reversed_configured_range_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="low <= high"):
        DatasetConfig(target="left", positive_label=1, ranges={"age": (75, 16)})
