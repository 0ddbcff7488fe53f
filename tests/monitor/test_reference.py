"""The monitoring reference: what it derives from its files, and how a version is found."""

from __future__ import annotations

import os

import numpy as np
import pytest
from tests.monitor.factories import FEATURES, make_reference

from attrition.errors import MonitorError
from attrition.monitor.reference import no_progress_bars, resolve_version

PROGRESS = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def test_properties_read_the_summary() -> None:
    reference = make_reference(threshold=0.35)
    assert reference.feature_columns == list(FEATURES)
    assert reference.threshold == 0.35
    assert reference.base_rate == 0.16
    assert reference.id_column == "EmployeeNumber"
    np.testing.assert_allclose(reference.scores, [0.1, 0.2, 0.35, 0.5, 0.9])


@pytest.mark.parametrize(
    ("summary", "columns", "rate"),
    [
        (  # the stored rate wins over the one the scores would give (3/5)
            {"threshold": 0.35, "base_rate": 0.2, "test_predicted_rate": 0.25},
            list(FEATURES),
            0.25,
        ),
        (  # older references: columns from the sample, rate from the scores
            {"threshold": 0.35, "base_rate": 0.2},
            list(FEATURES),
            0.6,
        ),
        (
            {"threshold": 0.6, "base_rate": 0.2, "feature_columns": ["OverTime", "Age"]},
            ["OverTime", "Age"],
            0.2,
        ),
    ],
)
def test_missing_summary_keys_fall_back_to_the_stored_data(
    summary: dict, columns: list[str], rate: float
) -> None:
    reference = make_reference(summary=summary)
    assert reference.feature_columns == columns
    assert reference.predicted_rate == pytest.approx(rate)
    assert reference.id_column is None


def test_progress_bars_are_off_inside_and_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROGRESS, raising=False)
    with no_progress_bars():
        assert os.environ[PROGRESS] == "false"
    assert PROGRESS not in os.environ
    monkeypatch.setenv(PROGRESS, "true")  # the user's choice is left alone
    with no_progress_bars():
        assert os.environ[PROGRESS] == "true"
    assert os.environ[PROGRESS] == "true"


def test_a_model_without_the_version_or_a_champion_is_named(mlflow_store: str) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_store, registry_uri=mlflow_store)
    client.create_registered_model("staff_model")
    with pytest.raises(MonitorError, match="model 'staff_model' has no version '7'"):
        resolve_version(client, "staff_model", "7")
    with pytest.raises(MonitorError, match="has no champion \\(Production\\) version"):
        resolve_version(client, "staff_model")
