"""`attrition monitor drift` against a trained champion: same data is quiet, shifted data is not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.monitor.conftest import Scene
from tests.monitor.helpers import (
    artifact_names,
    invoke,
    monitoring_runs,
    render_html,
    store_predictions,
)

pytestmark = pytest.mark.xdist_group("monitor")
DRIFT_ARTIFACTS = {
    "drift_metrics.json",
    "feature_drift.png",
    "prediction_drift.png",
    "data_drift_report.html",
    "data_drift_report_interactive.html",
}


def drift(scene: Scene, frame: pd.DataFrame, name: str) -> dict:
    path = scene.folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    result = invoke("drift", "--current", str(path), "--out", str(scene.folder / name))
    assert result.exit_code == 0, result.output
    return json.loads((scene.folder / name / "drift_metrics.json").read_text())


def test_same_distribution_is_not_drift(scene: Scene, same_distribution: pd.DataFrame) -> None:
    metrics = drift(scene, same_distribution, "same")
    assert metrics["dataset_drift"] is False
    assert metrics["prediction_drift"] is False
    assert metrics["drifted_features"] == []
    assert metrics["current_rows"] == 5000
    for key, kind in [("drift_share", float), ("features", dict), ("drifted_features", list)]:
        assert isinstance(metrics[key], kind)
    column = metrics["features"]["MonthlyIncome"]
    assert set(column) >= {"method", "score", "threshold", "drifted"}
    assert "Gender" not in metrics["features"]  # excluded from the model: not its input


def test_shifted_columns_and_predictions_are_flagged(scene: Scene, shifted: pd.DataFrame) -> None:
    metrics = drift(scene, shifted, "shifted")
    assert {"OverTime", "JobSatisfaction", "EnvironmentSatisfaction"} <= set(
        metrics["drifted_features"]
    )
    assert len(metrics["drifted_features"]) <= 5
    assert metrics["prediction_drift"] is True
    assert metrics["prediction"]["psi"] > 0.2
    assert metrics["predicted_rate"]["current_rate"] > metrics["predicted_rate"]["reference_rate"]
    page = scene.folder / "shifted" / "data_drift_report.html"
    assert "Plots and per-column scores on this page use a random sample" not in page.read_text()
    assert render_html(page, scene.folder / "drift.png").stat().st_size > 30_000


def test_the_run_is_tagged_and_holds_the_artifacts(
    scene: Scene, same_distribution: pd.DataFrame
) -> None:
    drift(scene, same_distribution.head(1000), "tagged")
    (run,) = monitoring_runs(scene.store.uri, scene.experiment)
    tags = run.data.tags
    assert tags["attrition.model_name"] == "employee_attrition_model"
    assert tags["attrition.model_version"] == scene.store.version
    assert tags["attrition.monitor.kind"] == "drift"
    assert artifact_names(scene.store.uri, run.info.run_id) == DRIFT_ARTIFACTS
    assert run.data.metrics["current_rows"] == 1000
    assert {p.name for p in (scene.folder / "tagged").iterdir()} == DRIFT_ARTIFACTS


def test_stored_predictions_since_the_last_check(
    scene: Scene, same_distribution: pd.DataFrame
) -> None:
    store_predictions(
        scene.predictions_url, same_distribution.head(600), scene.store.uri, scene.store.version
    )
    first = invoke("drift", "--out", str(scene.folder / "stored"))
    assert first.exit_code == 0, first.output
    metrics = json.loads((scene.folder / "stored" / "drift_metrics.json").read_text())
    assert metrics["current_rows"] == 600
    assert metrics["window_end"] is not None
    again = invoke("drift")
    assert again.exit_code == 1
    assert "no predictions stored since" in again.output
    assert len(again.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["OverTime", "JobLevel"]), "missing model input column(s)"),
        (lambda f: f.assign(MonthlyIncome="lots"), "MonthlyIncome (1 non-numeric"),
    ],
)
def test_bad_current_data_is_one_line(
    scene: Scene, same_distribution: pd.DataFrame, change, message: str
) -> None:
    path = scene.folder / "bad.csv"
    frame = change(same_distribution.head(1))
    frame.to_csv(path, index=False)
    result = invoke("drift", "--current", str(path))
    assert result.exit_code == 1
    assert message in result.output and str(path) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_missing_file_and_unknown_version(
    scene: Scene, tmp_path: Path, same_distribution: pd.DataFrame
) -> None:
    missing = invoke("drift", "--current", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1 and "nope.csv: file not found" in missing.output
    path = tmp_path / "some.csv"
    same_distribution.head(5).to_csv(path, index=False)
    unknown = invoke("drift", "--current", str(path), "--version", "99")
    assert unknown.exit_code == 1 and "no version '99'" in unknown.output


def test_no_champion_is_explained(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTRITION_MODEL_NAME", "never_trained")
    result = invoke("drift")
    assert result.exit_code == 1
    assert "model 'never_trained' has no champion" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_worker_process_gives_the_same_answer(
    champion, same_distribution: pd.DataFrame
) -> None:
    from tests.monitor.helpers import champion_model

    from attrition.drift import feature_drift
    from attrition.monitor.rules import DriftRules
    from attrition.monitor.worker import EvidentlyWorker

    _, reference = champion_model(champion.uri, champion.version)
    current = same_distribution[reference.feature_columns].head(2000)
    rules = DriftRules()
    with EvidentlyWorker(parallel=True) as worker:
        assert worker.parallel
        remote, page = worker.run(
            feature_drift, reference.features, current, drift_share=rules.drift_share, html=False
        )()
    local, _ = feature_drift(reference.features, current, drift_share=rules.drift_share, html=False)
    assert page is None
    assert remote.to_dict() == local.to_dict()
    assert np.isclose(remote.drift_share, local.drift_share)


def test_a_failing_worker_reports_the_error() -> None:
    from attrition.drift import feature_drift
    from attrition.monitor.worker import EvidentlyWorker

    reference = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with EvidentlyWorker(parallel=True) as worker:
        collect = worker.run(feature_drift, reference, pd.DataFrame({"b": [1.0]}), html=False)
        with pytest.raises(ValueError, match="lacks reference columns"):
            collect()


def test_an_unused_worker_stops_at_once() -> None:
    import time

    from attrition.monitor.worker import EvidentlyWorker

    worker = EvidentlyWorker(parallel=True)
    start = time.perf_counter()
    worker.close()
    assert time.perf_counter() - start < 3
