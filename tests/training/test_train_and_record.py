"""The two halves of a training run, directly: `train_and_evaluate` (pure) and what is recorded.

One small fitted run per module (600 generated employees, one trial); nothing
here touches MLflow except the last test, which uses a fresh SQLite store.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrition.config import GateThresholds, Settings, load_dataset_config
from attrition.errors import DataError
from attrition.training.evaluate import classification_metrics
from attrition.training.facts import RunFacts, TrainOptions
from attrition.training.record import (
    PARAM_MAX_CHARS,
    record_run,
    run_metrics,
    run_params,
    run_tags,
)
from attrition.training.reference import reference_files
from attrition.training.run import train_and_evaluate

pytestmark = pytest.mark.xdist_group("training-parts")

IBM = load_dataset_config()
ROWS = 600


@pytest.fixture(scope="module")
def employees() -> pd.DataFrame:
    from attrition.data.generate import generate_employees

    return generate_employees(ROWS, seed=4)


@pytest.fixture(scope="module")
def trained(
    employees: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RunFacts, list[tuple[str, float | None]], dict[str, float], Path]:
    """A fitted run, the progress messages it sent and its timings, from an empty folder."""
    folder = tmp_path_factory.mktemp("train-and-evaluate")
    messages: list[tuple[str, float | None]] = []
    times: dict[str, float] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        facts = train_and_evaluate(
            employees,
            "generated:600",
            IBM,
            GateThresholds(),
            TrainOptions(trials=1, seed=5, profile=False),
            model_name="staff_model",
            code_version="abc123",
            progress=lambda message, fraction: messages.append((message, fraction)),
            times=times,
        )
    return facts, messages, times, folder


def test_the_split_is_stratified_80_20_and_disjoint(trained) -> None:
    facts, _, _, _ = trained
    assert (len(facts.train.labels), len(facts.test.labels)) == (480, 120)
    assert not set(facts.train.ids) & set(facts.test.ids)
    assert facts.train.labels.mean() == pytest.approx(facts.test.labels.mean(), abs=0.02)
    assert facts.base_rate == pytest.approx(facts.train.labels.mean())
    assert "Gender" not in facts.train.features.columns
    assert "Gender" in facts.test.audit.columns


def test_metrics_are_those_of_the_fitted_model_at_its_threshold(trained) -> None:
    facts, _, _, _ = trained
    proba = facts.model.predict_proba(facts.test.features)[:, 1]
    np.testing.assert_array_equal(facts.test_proba, proba)
    threshold = facts.result.threshold
    assert facts.test_metrics == classification_metrics(
        facts.test.labels.to_numpy(), proba, threshold
    )
    assert facts.cv_metrics == classification_metrics(
        facts.train.labels.to_numpy(), facts.result.oof_proba, threshold
    )
    assert (facts.model_name, facts.code_version, facts.source, facts.seed) == (
        "staff_model",
        "abc123",
        "generated:600",
        5,
    )
    assert facts.mitigation is None and facts.profile is False


def test_progress_and_timings_are_reported_and_nothing_is_written(trained) -> None:
    _, messages, times, folder = trained
    assert [m for m, _ in messages] == [
        "Validating data",
        "Handling strongly associated inputs",
        "Searching models",
        "Search trial 1/1 (logreg)",
        "Fairness-constrained candidates (seed policy)",
    ]
    assert messages[-2][1] == 1.0
    assert set(times) == {"associated inputs", "model search and refit", "constrained candidates"}
    assert min(times.values()) > 0
    assert list(folder.iterdir()) == []


def test_bad_data_fails_before_any_training(employees: pd.DataFrame) -> None:
    messages: list[str] = []
    broken = employees.drop(columns=["Attrition"])
    with pytest.raises(DataError, match="Attrition"):
        train_and_evaluate(
            broken,
            "broken.csv",
            IBM,
            GateThresholds(),
            TrainOptions(trials=1),
            model_name="m",
            code_version="x",
            progress=lambda message, _: messages.append(message),
        )
    assert messages == ["Validating data"]


def test_tags_name_the_data_the_code_and_the_mitigation(trained) -> None:
    facts, _, _, _ = trained
    tags = run_tags(facts, None)
    assert tags == {
        "attrition.dataset": IBM.name,
        "attrition.source": "generated:600",
        "attrition.data_hash": facts.data_hash,
        "attrition.git_commit": "abc123",
        "attrition.model_kind": facts.result.kind,
        "attrition.mitigation": "none",
        "attrition.associated_inputs": facts.association.summary(),
    }
    assert run_tags(facts, "demographic_parity")["attrition.mitigation"] == "demographic_parity"


def test_params_are_text_with_the_chosen_hyperparameters(trained) -> None:
    facts, _, _, _ = trained
    params = run_params(facts, trials=1)
    assert params["seed"] == "5" and params["trials"] == "1"
    assert params["train_rows"] == "480" and params["test_rows"] == "120"
    assert params["threshold"] == str(round(facts.result.threshold, 6))
    assert json.loads(params["dataset_config"])["target"] == "Attrition"
    best = {k.removeprefix("best."): v for k, v in params.items() if k.startswith("best.")}
    assert best == {k: str(v) for k, v in facts.result.params.items()}
    assert all(isinstance(v, str) and len(v) <= PARAM_MAX_CHARS for v in params.values())
    long = replace(facts, source="x" * 10_000, data_hash="y" * 10_000)
    assert len(run_params(long, trials=1)["data_hash"]) == PARAM_MAX_CHARS


def test_metrics_prefix_the_splits_and_drop_non_finite_derived_ones(trained) -> None:
    facts, _, _, _ = trained
    metrics = run_metrics(facts, {"dq_missing_rate": 0.0, "fairness.Gender.spd": math.nan})
    assert metrics["test_roc_auc"] == facts.test_metrics["roc_auc"]
    assert metrics["cv_roc_auc"] == facts.cv_metrics["roc_auc"]
    assert metrics["cv_roc_auc_fold_std"] == facts.result.cv_roc_auc_std
    assert metrics["threshold"] == facts.result.threshold
    assert metrics["dq_missing_rate"] == 0.0
    assert "fairness.Gender.spd" not in metrics
    assert all(math.isfinite(v) for v in metrics.values())


def test_reference_files_describe_the_test_split(trained) -> None:
    import io

    facts, _, _, _ = trained
    files = reference_files(facts)
    predictions = pd.read_parquet(io.BytesIO(files["reference/test_predictions.parquet"]))
    np.testing.assert_allclose(predictions["proba"], facts.test_proba)
    assert predictions["EmployeeNumber"].tolist() == facts.test.ids.tolist()
    test_set = pd.read_parquet(io.BytesIO(files["reference/test_set.parquet"]))
    assert {"label", "Gender", "EmployeeNumber"} <= set(test_set.columns)
    train_ids = pd.read_parquet(io.BytesIO(files["reference/train_ids.parquet"]))
    assert set(train_ids["EmployeeNumber"]) == set(facts.train.ids)
    summary = json.loads(files["reference/reference.json"])
    assert summary["threshold"] == facts.result.threshold
    assert summary["feature_columns"] == list(facts.train.features.columns)
    assert summary["test_predicted_rate"] == pytest.approx(
        float(np.mean(facts.test_proba >= facts.result.threshold))
    )
    assert len(summary["test_prediction_deciles"]) == 11
    assert summary["top_features"] == []
    named = reference_files(facts, ["OverTime", "Age"])["reference/reference.json"]
    assert json.loads(named)["top_features"] == ["OverTime", "Age"]


def test_a_failure_after_registration_leaves_no_version(
    trained, mlflow_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model card fails: the version registered just before is deleted again."""
    from mlflow.tracking import MlflowClient

    from attrition.training import record
    from attrition.training.artifacts import Bundle

    facts, _, _, _ = trained

    def broken_card(*args: object, **kwargs: object) -> str:
        raise RuntimeError("model card template missing")

    monkeypatch.setattr(record, "model_card", broken_card)
    messages: list[str] = []
    with pytest.raises(RuntimeError, match="template missing"):
        record_run(
            facts,
            Bundle(files={"metrics.json": "{}"}, metrics={"dq_missing_rate": 0.0}),
            Settings(),
            TrainOptions(trials=1, seed=5, experiment="record-tests", log_trials=True),
            progress=lambda message, _: messages.append(message),
            times={},
        )
    assert messages == ["Logging to MLflow", "Registering model version"]
    client = MlflowClient(tracking_uri=mlflow_store, registry_uri=mlflow_store)
    assert client.search_model_versions(f"name='{Settings().model_name}'") == []
    runs = client.search_runs([client.get_experiment_by_name("record-tests").experiment_id])
    (run,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert run.info.status == "FAILED"
    assert len(runs) == 1 + len(facts.result.trials)  # the trials are its child runs
    assert run.data.params["seed"] == "5"


def test_the_handling_choice_measures_the_association_table_the_gate_reads(trained) -> None:
    from attrition.data.association import associations
    from attrition.training.artifacts import measured_associations

    facts, _, _, _ = trained
    assert measured_associations(facts) == associations(facts.train.features)
    other = replace(facts, train=replace(facts.train, features=facts.train.features.iloc[:, 1:]))
    assert measured_associations(other) is None
