"""`attrition monitor run`: decide, retrain through the Staging gates, report, exit codes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.monitor.conftest import Receiver, Scene
from tests.monitor.helpers import (
    MODEL,
    SEED_ARTIFACTS,
    artifact_names,
    invoke,
    monitoring_runs,
    store_predictions,
)

pytestmark = pytest.mark.xdist_group("monitor")
PERMISSIVE_GATES = """\
accuracy: 0.0
f1: 0.0
roc_auc: 0.0
precision: 0.0
recall: 0.0
statistical_parity_difference: 1.0
equal_opportunity_difference: 1.0
predictive_parity_difference: 1.0
missing_value_rate: 1.0
outlier_rate: 1.0
max_abs_correlation: 1.0
"""


def setup_job(scene: Scene, stored: pd.DataFrame, config: str) -> tuple[str, str, str]:
    """Store `stored` as served predictions; write outcomes, newest data and the config."""
    served = store_predictions(
        scene.predictions_url, stored, scene.store.uri, scene.store.version, days=90
    )
    outcomes = scene.folder / "outcomes.csv"
    pd.DataFrame(
        {
            "employee_id": served["employee_id"],
            "left": served["left"],
            "date": [(t + timedelta(days=20)).isoformat() for t in served["created_at"]],
        }
    ).to_csv(outcomes, index=False)
    from attrition.data.generate import generate_employees

    data = scene.folder / "newest.csv"
    generate_employees(1500, seed=21).to_csv(data, index=False)
    path = scene.folder / "monitoring.yaml"
    path.write_text(config)
    return str(path), str(data), str(outcomes)


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "monitor_summary.json").read_text())


def stage_of(scene: Scene, version: str) -> str:
    client = MlflowClient(tracking_uri=scene.store.uri, registry_uri=scene.store.uri)
    return client.get_model_version(MODEL, version).current_stage


def champion_version(scene: Scene) -> str:
    client = MlflowClient(tracking_uri=scene.store.uri, registry_uri=scene.store.uri)
    return str(client.get_model_version_by_alias(MODEL, "champion").version)


@pytest.mark.slow
def test_drift_retrains_and_a_passing_candidate_lands_in_staging(
    scene: Scene, shifted: pd.DataFrame
) -> None:
    (scene.folder / "gates.yaml").write_text(PERMISSIVE_GATES)
    config, data, outcomes = setup_job(
        scene, shifted.head(1500), "retrain:\n  trials: 1\n  gates_config: gates.yaml\n"
    )
    result = invoke(
        "run", "--config", config, "--data", data, "--outcomes", outcomes, "--out", "job"
    )
    assert result.exit_code == 3, result.output
    summary = summary_of(scene.folder / "job")
    assert summary["decision"] == "retrain"
    fired = {s["name"] for s in summary["signals"] if s["fired"]}
    assert "prediction_drift" in fired
    candidate = summary["candidate"]
    assert candidate["staged"] is True and candidate["failures"] == []
    assert stage_of(scene, candidate["version"]) == "Staging"
    assert champion_version(scene) == scene.store.version  # never promoted by the job

    (run,) = monitoring_runs(scene.store.uri, scene.experiment)
    names = artifact_names(scene.store.uri, run.info.run_id)
    assert set(SEED_ARTIFACTS) | {"monitor_summary.json"} <= names
    assert run.data.tags["attrition.candidate_version"] == candidate["version"]
    assert run.data.tags["attrition.model_version"] == scene.store.version
    assert {p.name for p in (scene.folder / "job").iterdir()} >= set(SEED_ARTIFACTS)
    performance = json.loads((scene.folder / "job" / "performance_metrics.json").read_text())
    assert performance["matched_outcomes"] == 1500


@pytest.mark.slow
def test_a_candidate_failing_the_default_gates_stays_out_of_staging(
    scene: Scene, shifted: pd.DataFrame
) -> None:
    config, data, _ = setup_job(scene, shifted.head(1500), "retrain:\n  trials: 1\n")
    result = invoke("run", "--config", config, "--data", data, "--out", "job")
    assert result.exit_code == 4, result.output
    candidate = summary_of(scene.folder / "job")["candidate"]
    assert candidate["staged"] is False
    assert any("(needs " in failure for failure in candidate["failures"])
    assert stage_of(scene, candidate["version"]) == "None"
    assert "refused for Staging" in result.output
    assert champion_version(scene) == scene.store.version


def test_same_distribution_needs_no_action(scene: Scene, same_distribution: pd.DataFrame) -> None:
    config, data, _ = setup_job(scene, same_distribution.head(1500), "retrain:\n  trials: 1\n")
    result = invoke("run", "--config", config, "--data", data, "--out", "job")
    assert result.exit_code == 0, result.output
    summary = summary_of(scene.folder / "job")
    assert summary["decision"] == "no_action", summary["reasons"]
    assert summary["candidate"] is None
    assert summary["rows"]["drift_rows"] == 1500
    again = invoke("run", "--config", config, "--out", "again")
    assert again.exit_code == 0, again.output
    assert "drift not checked" in " ".join(summary_of(scene.folder / "again")["notes"])


def test_retraining_without_data_is_an_alert(scene: Scene, shifted: pd.DataFrame) -> None:
    config, _, _ = setup_job(scene, shifted.head(800), "")
    result = invoke("run", "--config", config, "--out", "job")
    assert result.exit_code == 2, result.output
    summary = summary_of(scene.folder / "job")
    assert summary["decision"] == "retrain" and summary["candidate"] is None
    assert any("no --data" in note for note in summary["notes"])


def test_alerts_are_posted_and_a_dead_webhook_is_not_fatal(
    scene: Scene, shifted: pd.DataFrame, receiver: Receiver
) -> None:
    config, _, _ = setup_job(scene, shifted.head(800), "actions:\n  prediction_drift: alert\n")
    result = invoke("run", "--config", config, "--webhook", receiver.url(), "--out", "job")
    assert result.exit_code == 2, result.output
    (payload,) = [json.loads(body) for _, _, body in receiver.received]
    assert payload["decision"] == "alert" and payload["exit_code"] == 2
    assert summary_of(scene.folder / "job")["webhook"]["sent"] is True

    store_predictions(
        scene.predictions_url, shifted.head(300), scene.store.uri, scene.store.version, days=0
    )
    dead = invoke("run", "--config", config, "--webhook", "http://127.0.0.1:9/x", "--out", "dead")
    assert dead.exit_code == 2, dead.output
    assert "webhook to 127.0.0.1:9 failed" in dead.output
    assert summary_of(scene.folder / "dead")["webhook"]["sent"] is False


def test_bad_config_is_one_line(scene: Scene) -> None:
    path = scene.folder / "bad.yaml"
    path.write_text("drift:\n  psi: 3\n")
    result = invoke("run", "--config", str(path))
    assert result.exit_code == 1
    assert "drift.psi" in result.output
    assert len(result.output.strip().splitlines()) == 1
