"""The files that show how the model was chosen: the fairness frontier and the decision curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from attrition.reports.decision_plots import plot_decision_curve, plot_frontier
from attrition.reports.format import figure_png
from attrition.training.costs import decision_curve
from attrition.training.facts import RunFacts, json_text


def frontier_files(facts: RunFacts) -> dict[str, str | bytes]:
    """`fairness_frontier.json` and `.png`: every candidate's AUC and largest gated gap."""
    if facts.frontier is None:
        return {}
    found = facts.frontier.to_dict()
    return {
        "fairness_frontier.json": json_text(found),
        "fairness_frontier.png": figure_png(
            plot_frontier(found["candidates"], facts.frontier.policy), dpi=120
        ),
    }


def decision_files(facts: RunFacts) -> tuple[dict[str, str | bytes], dict[str, float]]:
    """`decision_curve.png` and the expected savings, when the config declares decision costs.

    Savings are measured on the out-of-fold predictions the threshold was chosen on and,
    at that threshold, on the test split.
    """
    costs = facts.config.decision_costs
    if costs is None:
        return {}, {}
    curve = decision_curve(
        facts.train.labels.to_numpy(), facts.result.oof_proba, costs, facts.population
    )
    summary = curve.summary()
    y_test = facts.test.labels.to_numpy().astype(float)
    flagged = facts.test_proba >= facts.result.threshold
    gain = costs.retained_share * costs.replacement_cost
    test_net = float(gain * y_test[flagged].sum() - costs.outreach_cost * flagged.sum())
    test_net /= max(len(y_test), 1)
    metrics = {
        "decision_capacity_share": summary["capacity_share"],
        "cv_flagged_share": summary["flagged_share"],
        "cv_expected_net_savings_per_employee": summary["net_savings_per_employee"],
        "cv_expected_net_savings_per_period": summary["net_savings_per_period"],
        "test_flagged_share": float(np.mean(flagged)) if len(flagged) else 0.0,
        "test_expected_net_savings_per_employee": test_net,
        "test_expected_net_savings_per_period": test_net * facts.population,
    }
    figure = plot_decision_curve(
        curve.thresholds,
        curve.net_per_employee * facts.population,
        curve.flagged_share,
        curve.capacity_share,
        facts.result.threshold,
    )
    return {"decision_curve.png": figure_png(figure, dpi=120)}, metrics


def decision_summary(facts: RunFacts, metrics: dict[str, float]) -> dict[str, Any]:
    """What the model card says about the decision economics (empty without costs)."""
    costs = facts.config.decision_costs
    if costs is None:
        return {}
    return {"costs": costs.model_dump(), "population": facts.population, **metrics}
