"""End to end: `attrition train` on a real temporary MLflow store logs and registers everything."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attrition.cli import app
from attrition.fairness import format_metric

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("training-run")]
runner = CliRunner()
MODEL = "employee_attrition_model"
ARTIFACTS = [
    "model_metadata.json",
    "requirements.txt",
    "metrics.json",
    "validation_metrics.json",
    "test_metrics.json",
    "confusion_matrix.png",
    "roc_curve.png",
    "feature_importance.png",
    "shap_summary.png",
    "fairness_metrics.png",
    "prediction_histogram.png",
    "data_drift_report.html",
    "data_drift_report_interactive.html",
    "fairness_report.html",
    "ydata-profile.html",
    "model_card.md",
    "fairness.json",
    "data_quality.json",
    "association_handling.json",
    "reference/features.parquet",
    "reference/test_set.parquet",
    "reference/test_predictions.parquet",
    "reference/reference.json",
]


def train(*args: str) -> None:
    result = runner.invoke(app, ["train", *args])
    assert result.exit_code == 0, result.output


@dataclass
class Store:
    uri: str
    client: MlflowClient
    versions: list[Any]
    local: Path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One store with two runs on the same generated data and seed (and a third, other seed)."""
    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    patch.setenv("MLFLOW_ARTIFACT_LOCATION", str(root / "artifacts"))
    from attrition.data.generate import generate_employees

    data = root / "employees.csv"
    generate_employees(1500, seed=5).to_csv(data, index=False)
    train("--data", str(data), "--trials", "4", "--seed", "3", "--log-trials")
    train("--data", str(data), "--trials", "4", "--seed", "3", "--no-profile")
    patch.undo()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = sorted(client.search_model_versions(f"name='{MODEL}'"), key=lambda v: int(v.version))
    local = Path(client.download_artifacts(versions[0].run_id, "", str(root / "download")))
    return Store(uri, client, versions, local)


def test_every_artifact_logged(store: Store) -> None:
    local = store.local
    missing = [name for name in ARTIFACTS if not (local / name).exists()]
    assert not missing
    assert (local / "ydata-profile.html").stat().st_size > 10_000
    assert (local / "data_drift_report.html").stat().st_size > 10_000


def test_versions_registered_with_tags(store: Store) -> None:
    versions = store.versions
    assert [str(v.version) for v in versions] == ["1", "2"]
    first = versions[0]
    assert first.current_stage == "None"
    assert first.tags["attrition.run_id"] == first.run_id


def test_same_data_config_seed_same_metrics(store: Store) -> None:
    client = store.client
    runs = [client.get_run(v.run_id) for v in store.versions]
    metrics = [
        {k: v for k, v in r.data.metrics.items() if k.startswith(("test_", "cv_"))} for r in runs
    ]
    assert metrics[0] == metrics[1]
    assert runs[0].data.params["data_hash"] == runs[1].data.params["data_hash"]


def test_model_card_holds_real_numbers(store: Store) -> None:
    client, local = store.client, store.local
    run = client.get_run(store.versions[0].run_id)
    card = (local / "model_card.md").read_text()
    assert f"{run.data.metrics['test_roc_auc']:.3f}" in card
    fairness = json.loads((local / "fairness.json").read_text())
    for attribute in fairness["attributes"]:
        assert attribute["name"] in card
        for group in attribute["groups"]:
            assert f"{group['selection_rate']:.3f}" in card


def test_strong_pairs_handling_is_recorded_in_card_params_and_profile(store: Store) -> None:
    """The generated data link JobLevel and MonthlyIncome at about 0.95, as the IBM file does."""
    local = store.local
    handling = json.loads((local / "association_handling.json").read_text())
    assert ["JobLevel", "MonthlyIncome"] in [sorted(p["pair"]) for p in handling["pairs"]]
    assert all(p["association"] >= handling["bar"] for p in handling["pairs"])
    run = store.client.get_run(store.versions[0].run_id)
    assert run.data.params["associated_inputs"] == handling["associated_inputs"]
    assert run.data.tags["attrition.associated_inputs"] == handling["summary"]
    card = (local / "model_card.md").read_text()
    for pair in handling["pairs"]:
        assert f"chosen **{pair['chosen']}**, {pair['reason']}" in card
        for option in pair["options"]:
            auc = f"{option['cv_roc_auc']:.3f} ± {option['cv_roc_auc_sd']:.3f}"
            assert f"| {option['option']} | {auc} |" in card
    profile = (local / "ydata-profile.html").read_text()
    assert "Associations between raw inputs" in profile
    strongest = json.loads((local / "data_quality.json").read_text())["top_associations"][0]
    assert f"<td>{strongest['first']} and {strongest['second']}</td>" in profile


def test_fairness_evidence_is_every_row_scored_out_of_sample(store: Store) -> None:
    fairness = json.loads((store.local / "fairness.json").read_text())
    assert fairness["evidence"]["rows"] == 1500
    assert "out-of-fold" in fairness["evidence"]["source"]
    assert fairness["test_only"]["rows"] == 300
    for attribute in fairness["attributes"]:
        assert sum(g["count"] for g in attribute["groups"]) == 1500
        for diff in attribute["differences"].values():
            assert diff["verdict"] in ("pass", "fail", "inconclusive", "insufficient_evidence")
            if diff["value"] is not None:
                assert diff["evidence"] is not None and diff["ci_low"] <= diff["ci_high"]
    test_only = fairness["test_only"]["attributes"][0]
    assert sum(g["count"] for g in test_only["groups"]) == 300
    assert fairness["fairness_policy"]["name"] == "seed"
    assert set(fairness["feasibility"]["base_rates"]) == {a["name"] for a in fairness["attributes"]}
    tested = json.loads((store.local / "test_metrics.json").read_text())
    low, high = tested["intervals"]["roc_auc"]
    assert low <= tested["roc_auc"] <= high


def test_fairness_report_matches_logged_metrics(store: Store) -> None:
    client, local = store.client, store.local
    run = client.get_run(store.versions[0].run_id)
    report = (local / "fairness_report.html").read_text()
    logged = {k: v for k, v in run.data.metrics.items() if k.startswith("fairness.")}
    assert {k.split(".")[1] for k in logged} == {"Gender", "AgeBand", "MaritalStatus"}
    for name, value in logged.items():
        assert name in report
        assert format_metric(value) in report


def test_metadata_keeps_excluded_attribute_out(store: Store) -> None:
    meta = json.loads((store.local / "model_metadata.json").read_text())
    names = [f["name"] for f in meta["features"]]
    assert "Gender" not in names and "EmployeeNumber" not in names and "Attrition" not in names
    assert meta["excluded_from_model"] == ["Gender"]
    assert "MaritalStatus" in meta["sensitive_used_by_model"]
    assert "AgeBand (via Age)" in meta["sensitive_used_by_model"]
    assert 0 < meta["threshold"] < 1
    assert meta["training_data"]["train_rows"] == 1200


def test_pyfunc_returns_the_sklearn_probability(store: Store) -> None:
    mlflow.set_tracking_uri(str(store.uri))
    test_set = pd.read_parquet(store.local / "reference/test_set.parquet")
    meta = json.loads((store.local / "model_metadata.json").read_text())
    features = test_set[[f["name"] for f in meta["features"]]]
    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL}/1")
    sk = mlflow.sklearn.load_model(f"models:/{MODEL}/1")
    predicted = pyfunc.predict(features)
    assert isinstance(predicted, pd.Series) and predicted.name == "attrition_probability"
    np.testing.assert_array_equal(predicted.to_numpy(), sk.predict_proba(features)[:, 1])
    outputs = pyfunc.metadata.get_output_schema()
    assert outputs is not None and outputs.input_names() == ["attrition_probability"]
    logged = pd.read_parquet(store.local / "reference/test_predictions.parquet")
    np.testing.assert_allclose(logged["proba"], sk.predict_proba(features)[:, 1])


def test_trials_are_a_table_and_nested_runs_only_with_log_trials(store: Store) -> None:
    client = store.client
    for version, nested in zip(store.versions[:2], (4, 0), strict=True):
        parent = client.get_run(version.run_id)
        children = client.search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        )
        assert len(children) == nested
        trials = pd.read_csv(client.download_artifacts(version.run_id, "trials.csv"))
        assert len(trials) == 4 and {"number", "kind", "state", "cv_roc_auc"} <= set(trials)


def test_other_dataset_trains_with_only_a_config(tmp_path: Path, mlflow_store: str) -> None:
    rng = np.random.default_rng(0)
    rows = 600
    grade = rng.integers(1, 6, rows)
    remote = rng.choice(["full", "hybrid", "office"], rows)
    tenure = rng.gamma(2.0, 3.0, rows).round(1)
    logit = -1.5 - 0.4 * (grade - 3) + 0.9 * (remote == "office") - 0.15 * tenure
    left = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "staff_id": np.arange(10_000, 10_000 + rows),
            "left_company": left,
            "sex": rng.choice(["f", "m", "x"], rows, p=[0.48, 0.48, 0.04]),
            "grade": grade,
            "work_mode": remote,
            "tenure_years": tenure,
            "age": rng.integers(20, 65, rows),
        }
    )
    data = tmp_path / "acme.parquet"
    frame.to_parquet(data)
    config = tmp_path / "acme.yaml"
    config.write_text(
        "name: acme\ntarget: left_company\npositive_label: 1\nid_column: staff_id\n"
        "sensitive: [sex, age_band]\nexclude_from_model: [sex]\n"
        "bands:\n  age_band: {column: age, edges: [0, 35, 50, 200], labels: [young, mid, senior]}\n"
    )
    train("--data", str(data), "--config", str(config), "--trials", "2", "--no-profile")
    client = MlflowClient(tracking_uri=mlflow_store, registry_uri=mlflow_store)
    (version,) = client.search_model_versions(f"name='{MODEL}'")
    run = client.get_run(version.run_id)
    assert run.data.metrics["test_roc_auc"] > 0.6
    assert "fairness.age_band.statistical_parity_difference" in run.data.metrics
    local = Path(client.download_artifacts(version.run_id, "model_metadata.json", str(tmp_path)))
    meta = json.loads(local.read_text())
    assert [f["name"] for f in meta["features"]] == ["grade", "work_mode", "tenure_years", "age"]
