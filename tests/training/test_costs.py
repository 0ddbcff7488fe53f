"""The cost-aware operating point against its analytical optimum."""

from __future__ import annotations

import numpy as np
import pytest

from attrition.config import DatasetConfig, DecisionCosts
from attrition.errors import ConfigError
from attrition.training.costs import cost_optimal_threshold, cost_threshold_rule, decision_curve

LEVELS = np.round(np.arange(0.05, 1.0, 0.1), 2)  # 0.05, 0.15, ..., 0.95


def calibrated(per_level: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Scores at ten levels; at each level exactly that share of employees leaves."""
    scores, labels = [], []
    for p in LEVELS:
        leavers = round(float(p) * per_level)
        scores += [p] * per_level
        labels += [1] * leavers + [0] * (per_level - leavers)
    return np.array(labels), np.array(scores)


@pytest.mark.parametrize(
    ("outreach", "retained", "replacement"),
    [(1000.0, 0.25, 20000.0), (300.0, 0.5, 1000.0), (50.0, 0.1, 5000.0)],
)
def test_threshold_flags_exactly_where_p_times_savings_beats_the_outreach_cost(
    outreach: float, retained: float, replacement: float
) -> None:
    labels, scores = calibrated()
    costs = DecisionCosts(
        outreach_cost=outreach, retained_share=retained, replacement_cost=replacement
    )
    breakeven = outreach / (retained * replacement)
    expected = LEVELS[LEVELS * retained * replacement > outreach].min()
    assert not np.isclose(LEVELS, breakeven).any()  # no level sits exactly at the break-even
    threshold = cost_optimal_threshold(labels, scores, costs=costs, population=len(labels))
    assert threshold == pytest.approx(expected)
    # Net savings per employee at the optimum, by hand: every flagged level contributes.
    flagged = expected <= LEVELS
    by_hand = np.sum((LEVELS[flagged] * retained * replacement - outreach) * 200) / len(labels)
    curve = decision_curve(labels, scores, costs, len(labels))
    assert curve.summary()["net_savings_per_employee"] == pytest.approx(by_hand)


def test_capacity_binds_before_the_cost_optimum() -> None:
    labels, scores = calibrated()
    # Unconstrained the optimum flags 8 of the 10 levels (p >= 0.25); capacity allows 30%.
    share = DecisionCosts(
        outreach_cost=1000, retained_share=0.25, replacement_cost=20000, capacity_share=0.3
    )
    assert cost_optimal_threshold(labels, scores, costs=share, population=2000) == 0.75
    # 500 employees per period out of 2,000 scored: 25%, so only the top two levels fit.
    count = DecisionCosts(
        outreach_cost=1000, retained_share=0.25, replacement_cost=20000, capacity=500
    )
    curve = decision_curve(labels, scores, count, population=2000)
    assert curve.threshold == 0.85 and curve.summary()["flagged_share"] == pytest.approx(0.2)


def test_nobody_is_flagged_when_every_outreach_loses_money() -> None:
    labels, scores = calibrated()
    costs = DecisionCosts(outreach_cost=10_000, retained_share=0.1, replacement_cost=1000)
    curve = decision_curve(labels, scores, costs, len(labels))
    assert curve.threshold > scores.max() and curve.summary()["flagged_share"] == 0.0


def test_without_costs_there_is_no_rule_and_both_capacities_are_refused() -> None:
    config = DatasetConfig(target="y", positive_label=1)
    assert cost_threshold_rule(config, population=10) is None
    with pytest.raises(ValueError, match="not both"):
        DecisionCosts(
            outreach_cost=1, retained_share=0.5, replacement_cost=10, capacity=5, capacity_share=0.1
        )


def test_dataset_config_file_with_costs_loads(tmp_path) -> None:
    from attrition.config import load_dataset_config

    path = tmp_path / "costs.yaml"
    path.write_text(
        "target: left\npositive_label: 1\nsensitive: []\n"
        "decision_costs: {outreach_cost: 200, retained_share: 0.3, replacement_cost: 15000,"
        " capacity: 40}\n"
    )
    costs = load_dataset_config(path).decision_costs
    assert costs is not None and costs.capacity_fraction(400) == pytest.approx(0.1)
    path.write_text("target: left\npositive_label: 1\ndecision_costs: {outreach_cost: -1}\n")
    with pytest.raises(ConfigError, match="decision_costs"):
        load_dataset_config(path)
