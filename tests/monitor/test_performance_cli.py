"""`attrition monitor performance`: outcomes joined to stored predictions; error analysis."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest
from tests.monitor.conftest import Scene
from tests.monitor.helpers import (
    artifact_names,
    champion_model,
    invoke,
    monitoring_runs,
    non_white_share,
    render_html,
    store_predictions,
)

from attrition.training.evaluate import classification_metrics

pytestmark = pytest.mark.xdist_group("monitor")


def outcomes_file(scene: Scene, employees: pd.DataFrame, stored: pd.DataFrame) -> str:
    """Who left, known 30 days after the prediction; Gender comes with the outcomes."""
    path = scene.folder / "outcomes.csv"
    pd.DataFrame(
        {
            "EmployeeNumber": employees["EmployeeNumber"].to_numpy(),
            "Attrition": employees["Attrition"].to_numpy(),
            "date": [(t + timedelta(days=30)).date().isoformat() for t in stored["created_at"]],
            "Gender": employees["Gender"].to_numpy(),
        }
    ).to_csv(path, index=False)
    return str(path)


def test_joined_outcomes_give_the_direct_metrics(
    scene: Scene, same_distribution: pd.DataFrame
) -> None:
    employees = same_distribution.head(1500)
    stored = store_predictions(
        scene.predictions_url, employees, scene.store.uri, scene.store.version
    )
    result = invoke(
        "performance", "--outcomes", outcomes_file(scene, employees, stored), "--out", "perf"
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((scene.folder / "perf" / "performance_metrics.json").read_text())
    assert metrics["matched_outcomes"] == 1500 and metrics["unmatched_outcomes"] == 0

    model, reference = champion_model(scene.store.uri, scene.store.version)
    proba = model.predict_proba(employees[reference.feature_columns])[:, 1]
    labels = (employees["Attrition"] == "Yes").astype(int).to_numpy()
    direct = classification_metrics(labels, proba, reference.threshold)
    for name, value in direct.items():
        assert metrics["realised"][name]["value"] == pytest.approx(value, abs=1e-9), name
    assert metrics["counts"]["leavers"] == int(labels.sum())
    assert sum(p["counts"]["rows"] for p in metrics["periods"]) == 1500
    assert metrics["estimated_matched"]["roc_auc"] == pytest.approx(direct["roc_auc"], abs=0.05)
    audited = {row["attribute"] for row in metrics["fairness_over_time"]}
    assert audited == {"Gender", "AgeBand", "MaritalStatus"}
    assert {"Department", "score_band", "JobRole"} <= set(metrics["segments"])

    (run,) = monitoring_runs(scene.store.uri, scene.experiment)
    assert run.data.tags["attrition.monitor.kind"] == "performance"
    assert artifact_names(scene.store.uri, run.info.run_id) == {
        "performance_metrics.json",
        "error_analysis.html",
    }
    assert run.data.metrics["realised_roc_auc"] == pytest.approx(direct["roc_auc"])


def test_fairness_gaps_per_period_come_from_the_stored_attributes(
    scene: Scene, same_distribution: pd.DataFrame
) -> None:
    from attrition.config import GateThresholds
    from attrition.fairness import assess_fairness
    from attrition.monitor.segments import period_of

    employees = same_distribution.head(1200)
    stored = store_predictions(
        scene.predictions_url,
        employees,
        scene.store.uri,
        scene.store.version,
        days=60,
        sensitive=("Gender", "MaritalStatus"),
    )
    outcomes = scene.folder / "outcomes-no-gender.csv"
    pd.read_csv(outcomes_file(scene, employees, stored)).drop(columns=["Gender"]).to_csv(
        outcomes, index=False
    )
    result = invoke("performance", "--outcomes", str(outcomes), "--out", "perf-gaps")
    assert result.exit_code == 0, result.output
    metrics = json.loads((scene.folder / "perf-gaps" / "performance_metrics.json").read_text())
    gaps = pd.DataFrame(metrics["fairness_gaps_by_period"])
    assert {"Gender", "MaritalStatus"} <= set(gaps["attribute"])
    assert "Gender" not in metrics["fairness_attributes_unavailable"]
    assert "Gender: statistical parity" in result.output

    period = gaps.groupby("period")["rows"].max().idxmax()  # the busiest period
    part = stored[period_of(stored["created_at"], metrics["period"]).to_numpy() == period]
    chosen = employees.set_index(employees["EmployeeNumber"].astype(str)).loc[part["employee_id"]]
    direct = assess_fairness(
        part["left"].to_numpy(),
        part["decision"].to_numpy(),
        chosen[["Gender"]].reset_index(drop=True),
        GateThresholds(min_group_size=30),
        n_boot=0,
    )
    gender = gaps[(gaps["period"] == period) & (gaps["attribute"] == "Gender")]
    for metric, difference in direct.attributes[0].differences.items():
        row = gender[gender["metric"] == metric].iloc[0]
        assert difference.value is not None
        assert row["value"] == pytest.approx(difference.value), metric


def test_error_analysis_renders_in_chromium(scene: Scene, same_distribution: pd.DataFrame) -> None:
    employees = same_distribution.head(1200)
    stored = store_predictions(
        scene.predictions_url, employees, scene.store.uri, scene.store.version, days=200
    )
    result = invoke(
        "performance", "--outcomes", outcomes_file(scene, employees, stored), "--out", "p"
    )
    assert result.exit_code == 0, result.output
    page = scene.folder / "p" / "error_analysis.html"
    text = page.read_text()
    for heading in ("By department", "By score band", "Calibration", "Fairness over time"):
        assert heading in text
    assert "<script" not in text and "http" not in text.split("</style>")[0]  # self-contained
    png = render_html(page, scene.folder / "error_analysis.png", height=2400)
    assert non_white_share(png) > 0.03


def test_outcomes_that_all_fail_to_match_exit_1(
    scene: Scene, same_distribution: pd.DataFrame
) -> None:
    store_predictions(
        scene.predictions_url, same_distribution.head(50), scene.store.uri, scene.store.version
    )
    path = scene.folder / "strangers.csv"
    pd.DataFrame({"employee_id": [10**9], "left": ["yes"], "date": ["2030-01-01"]}).to_csv(path)
    result = invoke("performance", "--outcomes", str(path))
    assert result.exit_code == 1, result.output  # nothing was measured
    assert "none of the 1 outcomes matched" in result.output


def test_outcomes_without_stored_predictions_fail_in_one_line(scene: Scene) -> None:
    path = scene.folder / "o.csv"
    pd.DataFrame({"employee_id": [1], "left": ["no"], "date": ["2025-01-01"]}).to_csv(path)
    result = invoke("performance", "--outcomes", str(path))
    assert result.exit_code == 1
    assert "no predictions stored" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_period_is_refused(scene: Scene) -> None:
    path = scene.folder / "x.csv"
    path.write_text("employee_id,left,date\n1,no,2025-01-01\n")
    result = invoke("performance", "--outcomes", str(path), "--period", "fortnight")
    assert result.exit_code == 2 and "--period" in result.output
