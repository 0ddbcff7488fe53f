"""A training run logs how its model was chosen: the fairness frontier and, with decision
costs, the decision curve and expected savings (real MLflow store, small generated data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from attrition.config import DecisionCosts, GateThresholds, Settings, load_dataset_config
from attrition.training.facts import TrainOptions
from attrition.training.run import run_training

pytestmark = [pytest.mark.xdist_group("choice-artifacts"), pytest.mark.slow]

COSTS = DecisionCosts(
    outreach_cost=400, retained_share=0.3, replacement_cost=25000, capacity_share=0.12
)


def _train(mlflow_store: str, costs: DecisionCosts | None, policy: str | None):
    from attrition.data.generate import generate_employees

    config = load_dataset_config().model_copy(update={"decision_costs": costs})
    settings = Settings()
    options = TrainOptions(
        trials=1,
        seed=7,
        experiment=settings.experiment,
        profile=False,
        model_family="logreg",
        fairness_policy=policy,
        policy_chosen_by="train --fairness-policy" if policy else "default",
    )
    outcome = run_training(
        generate_employees(700, seed=8),
        "generated:700",
        config,
        GateThresholds(),
        settings,
        options,
    )
    client = MlflowClient(tracking_uri=mlflow_store, registry_uri=mlflow_store)
    return outcome, client, client.get_run(outcome.run_id)


def _artifacts(client: MlflowClient, run_id: str) -> set[str]:
    return {a.path for a in client.list_artifacts(run_id)}


def test_costs_set_the_threshold_and_every_choice_artifact_is_logged(
    mlflow_store: str, tmp_path: Path
) -> None:
    outcome, client, run = _train(mlflow_store, COSTS, "assistive")
    names = _artifacts(client, outcome.run_id)
    assert {"fairness_frontier.json", "fairness_frontier.png", "decision_curve.png"} <= names
    params, metrics = run.data.params, run.data.metrics
    assert params["fairness_policy"] == "assistive"
    assert params["fairness_policy_chosen_by"] == "train --fairness-policy"
    assert params["model_family"] == "logreg" and params["threshold_rule"] == "net savings"

    frontier = json.loads(
        Path(
            client.download_artifacts(outcome.run_id, "fairness_frontier.json", str(tmp_path))
        ).read_text()
    )
    chosen = [c for c in frontier["candidates"] if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["name"] == params["fairness_candidate"]
    assert frontier["gated_metrics"] == ["equal_opportunity_difference", "calibration_difference"]
    # The registered threshold is the chosen candidate's, and it stays within capacity.
    assert outcome.threshold == pytest.approx(chosen[0]["threshold"])
    assert metrics["cv_flagged_share"] <= COSTS.capacity_share + 1e-9
    assert metrics["decision_capacity_share"] == pytest.approx(COSTS.capacity_share)
    assert metrics["cv_expected_net_savings_per_period"] == pytest.approx(
        metrics["cv_expected_net_savings_per_employee"] * 700
    )
    card = Path(
        client.download_artifacts(outcome.run_id, "model_card.md", str(tmp_path))
    ).read_text()
    assert "## Decision economics" in card and "## How the model was chosen" in card
    assert "expected net savings" in card


def test_without_costs_the_f1_threshold_stays_and_no_decision_curve(mlflow_store: str) -> None:
    outcome, client, run = _train(mlflow_store, None, None)
    names = _artifacts(client, outcome.run_id)
    assert "fairness_frontier.json" in names and "decision_curve.png" not in names
    assert run.data.params["fairness_policy"] == "seed"
    assert run.data.params["threshold_rule"] == "best F1"
    assert not any("savings" in k for k in run.data.metrics)
