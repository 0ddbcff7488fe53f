"""Publishing a population: scoring, rejected rows with reasons, drivers, the batches table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attrition.errors import BatchInputError
from attrition.serving.population import (
    DRIVERS,
    headline,
    publish,
    read_population_file,
    score_population,
)
from attrition.serving.prediction_store import PredictionStore

GROUPS = ["Department", "JobRole"]


def test_headline_adds_probabilities_and_gives_a_poisson_binomial_interval() -> None:
    p = np.array([0.1, 0.5, 0.9, 0.3])
    top = headline(p, p >= 0.3)
    assert top.employees == 4 and top.flagged == 3
    assert top.expected_leavers == pytest.approx(1.8)
    spread = 1.959964 * np.sqrt((p * (1 - p)).sum())
    assert (top.low, top.high) == pytest.approx((1.8 - spread, 1.8 + spread))
    assert headline(np.array([0.0, 0.0]), np.array([False, False])).low == 0.0


def test_scoring_keeps_good_rows_and_gives_reasons_for_the_others(
    served: Any, population_frame: pd.DataFrame
) -> None:
    raw = population_frame.copy()
    raw.loc[3, "OverTime"] = "Sometimes"
    raw.loc[7, "EmployeeNumber"] = raw.loc[6, "EmployeeNumber"]
    raw.loc[9, "JobLevel"] = 99
    scored = score_population(served, raw, GROUPS)
    assert scored.rows == 400 and len(scored.frame) == 397
    reasons = scored.rejects.set_index("row")["reason"]
    assert "unknown category 'Sometimes'" in reasons[4]
    assert reasons[8].startswith("duplicate employee id")
    assert "outside the plausible range" in reasons[10]
    expected = served.scorer.many(raw.drop(index=[3, 7, 9])[served.columns])
    np.testing.assert_array_equal(scored.frame["probability"].to_numpy(), expected)
    assert scored.group_by == GROUPS
    assert {"employee_id", *GROUPS} <= set(scored.frame.columns)


def test_drivers_are_kept_for_high_risk_employees_only(
    served: Any, population_frame: pd.DataFrame
) -> None:
    scored = score_population(served, population_frame, GROUPS, driver_limit=25)
    frame = scored.frame
    assert frame.loc[~frame["decision"], DRIVERS].isna().all()
    flagged = frame[frame["decision"]]
    explained = flagged[DRIVERS].dropna()
    assert int(frame["decision"].sum()) > 25 and len(explained) == 25
    assert all(set(text.split("|")) <= set(served.columns) for text in explained if text)
    # Half a random sample (what shares are counted on), half the riskiest of the rest.
    sample = flagged[flagged["drivers_sample"]]
    assert len(sample) == 12 and sample[DRIVERS].notna().all()
    rest = flagged[~flagged["drivers_sample"]]
    explained_rest = rest[rest[DRIVERS].notna()]
    assert explained_rest["probability"].min() >= rest[rest[DRIVERS].isna()]["probability"].max()
    assert not frame.loc[~frame["decision"], "drivers_sample"].any()


def test_a_file_missing_an_input_column_is_refused_with_its_name(
    served: Any, population_frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "extract.csv"
    population_frame.drop(columns=["OverTime"]).to_csv(path, index=False)
    with pytest.raises(BatchInputError, match="OverTime"):
        read_population_file(path, served, GROUPS)


def test_batches_are_stored_newest_first_with_their_rows(
    served: Any, population_frame: pd.DataFrame, tmp_path: Path
) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'predictions.db'}")
    path = tmp_path / "extract.parquet"
    population_frame.to_parquet(path)
    scored = score_population(served, read_population_file(path, served, GROUPS), GROUPS)
    earlier = datetime.now(UTC) - timedelta(days=30)
    first = publish(store, scored, served, source="old", semver="1.0.0", created_at=earlier)
    second = publish(store, scored, served, source="new", semver=None)
    batches = store.batches()
    assert [b["id"] for b in batches] == [second, first]
    assert batches[1]["semver"] == "1.0.0" and batches[1]["created_at"] == earlier
    assert batches[0]["summary"]["employees"] == 400
    assert batches[0]["summary"]["expected_leavers"] == pytest.approx(
        scored.frame["probability"].sum()
    )
    data, rejects = store.batch_data(second) or (b"", None)
    assert rejects is None
    import io

    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(data)), scored.frame)
    assert store.batch_data(12345) is None
    store.dispose()
