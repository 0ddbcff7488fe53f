"""The thin MLflow layer: run names, the UI's runs view, dataset inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from attrition.tracking import log_dataset, run_name, runs_view_url, safe_source

UTC_MORNING = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("dataset", "family", "when", "expected"),
    [
        ("ibm_hr_attrition", "logreg", UTC_MORNING, "ibm_hr_attrition-logreg-20260304-0506"),
        ("my data", "light gbm", UTC_MORNING, "my_data-light_gbm-20260304-0506"),
        ("", "logreg", datetime(2026, 1, 1, 1, 0, tzinfo=PLUS_TWO), "unknown-logreg-20251231-2300"),
    ],
)
def test_run_names_are_readable(dataset: str, family: str, when: datetime, expected: str) -> None:
    assert run_name(dataset, family, when) == expected


def test_runs_view_is_the_machine_learning_view() -> None:
    assert (
        runs_view_url("http://127.0.0.1:5001/", "3")
        == "http://127.0.0.1:5001/#/experiments/3/runs?workflowType=machine_learning"
    )
    assert runs_view_url("http://h:1").endswith("/#/experiments?workflowType=machine_learning")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("postgresql://user:secret@db:5432/hr#employees", "postgresql://db:5432/hr#employees"),
        ("/data/employees.csv", "/data/employees.csv"),
        ("sqlite:////tmp/predictions.db", "sqlite:////tmp/predictions.db"),
    ],
)
def test_sources_lose_their_credentials(source: str, expected: str) -> None:
    assert safe_source(source) == expected


def test_datasets_are_run_inputs_with_name_source_and_digest(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(client.create_experiment("inputs"))
    frame = pd.DataFrame({"Age": [30, 41], "OverTime": ["Yes", "No"]})
    digest = log_dataset(
        client, run.info.run_id, frame, name="hr-training", source=str(tmp_path / "hr.csv"),
        context="training",
    )  # fmt: skip
    log_dataset(
        client, run.info.run_id, frame.head(1), name="hr-current",
        source="postgresql://u:pw@db/hr", context="current",
    )  # fmt: skip
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    found = {d.dataset.name: d for d in inputs}
    assert found["hr-training"].dataset.digest == digest
    assert str(tmp_path / "hr.csv") in found["hr-training"].dataset.source
    assert [t.value for t in found["hr-training"].tags] == ["training"]
    current = next(d for name, d in found.items() if name.startswith("hr-current"))
    assert "pw" not in current.dataset.source + current.dataset.name
    assert current.dataset.digest != digest


def test_experiments_open_in_the_training_view(tmp_path: Path) -> None:
    from attrition.tracking import EXPERIMENT_KIND_TAG, ensure_experiment

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    new = ensure_experiment(client, "fresh", str(tmp_path / "art"))
    old = client.create_experiment("older")
    assert ensure_experiment(client, "older", None) == old
    for experiment_id in (new, old):
        tags = client.get_experiment(experiment_id).tags
        assert tags[EXPERIMENT_KIND_TAG] == "classification"
