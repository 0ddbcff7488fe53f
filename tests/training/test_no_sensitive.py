"""A dataset declared with `sensitive: []` on purpose: every artifact says no fairness audit
was possible, the fairness gates read not_applicable, and the version reaches Staging
without --force when its other gates pass (real MLflow store)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attrition.cli import app
from attrition.data.generate import generate_employees

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("training-run")]
runner = CliRunner()
MODEL = "employee_attrition_model"


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_no_sensitive_attributes_reaches_staging_without_force(
    tmp_path: Path, mlflow_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "staff.csv"
    frame = generate_employees(900, seed=11).drop(columns=["Gender", "MaritalStatus"])
    frame.to_csv(data, index=False)
    config = tmp_path / "staff.yaml"
    config.write_text(
        "name: staff\ntarget: Attrition\npositive_label: 'Yes'\nid_column: EmployeeNumber\n"
        "drop: [EmployeeCount, StandardHours, Over18]\nsensitive: []\n"
    )
    gates = tmp_path / "gates.yaml"
    gates.write_text("accuracy: 0.5\nf1: 0.5\nroc_auc: 0.55\nprecision: 0.5\nrecall: 0.5\n")
    monkeypatch.setenv("ATTRITION_GATES_CONFIG", str(gates))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        invoke("train", "--data", str(data), "--config", str(config), "--trials", "2")
    plotting = [w for w in caught if "matplotlib" in str(w.filename) or "Axes" in str(w.message)]
    assert plotting == []

    client = MlflowClient(tracking_uri=mlflow_store, registry_uri=mlflow_store)
    (version,) = client.search_model_versions(f"name='{MODEL}'")
    local = Path(client.download_artifacts(version.run_id, "", str(tmp_path / "art")))
    fairness = json.loads((local / "fairness.json").read_text())
    assert fairness["applicable"] is False and fairness["verdict"] == "not_applicable"
    assert fairness["passed"] is None and fairness["attributes"] == []
    assert "sensitive: []" in fairness["reason"]
    report = (local / "fairness_report.html").read_text()
    assert "No fairness audit was possible" in report and "Overall fairness" not in report
    assert "Per-group chart" not in report
    card = (local / "model_card.md").read_text()
    assert "No fairness audit was possible" in card and "sensitive: []" in card

    output = invoke("models", "transition-stage", "--version", "1", "--stage", "Staging")
    assert "None -> Staging" in output and "forced" not in output
    staged = client.get_model_version(MODEL, "1")
    assert staged.current_stage == "Staging"
    gate_report = json.loads(
        Path(
            client.download_artifacts(version.run_id, "gate_report.json", str(tmp_path))
        ).read_text()
    )
    assert gate_report["forced"] is False
    (gate,) = [g for g in gate_report["results"] if g["name"].startswith("fairness.")]
    assert gate["verdict"] == "not_applicable" and gate["passed"] is None
    assert gate_report["feasibility"]["statement"].startswith("Not applicable")

    invoke("review", "--version", "1", "--out", str(tmp_path / "review.html"))
    review = (tmp_path / "review.html").read_text()
    assert "No fairness audit was possible" in review
