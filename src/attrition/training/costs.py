"""The cost-aware operating point: the threshold that saves the most within HR's capacity.

Flagging an employee costs one outreach; flagging a would-be leaver saves the
replacement cost with probability `retained_share`. On out-of-fold predictions,
flagging every score at or above `t` nets, per employee scored,

    retained_share x replacement_cost x (leavers flagged) / n  -  outreach_cost x (flagged) / n

and the operating threshold is the `t` with the largest net savings among those that
flag at most the capacity share. For calibrated scores this flags exactly the
employees with p x retained_share x replacement_cost > outreach_cost, unless capacity
binds first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from attrition.config import DatasetConfig, DecisionCosts
from attrition.training.search import ThresholdRule


@dataclass(frozen=True)
class DecisionCurve:
    """Net savings of every candidate threshold, and which one is chosen.

    `net_per_employee[i]` and `flagged_share[i]` belong to flagging scores
    `>= thresholds[i]`; thresholds decrease, so the flagged share grows.
    """

    thresholds: np.ndarray
    flagged_share: np.ndarray
    net_per_employee: np.ndarray
    capacity_share: float
    population: int
    chosen: int

    @property
    def threshold(self) -> float:
        return float(self.thresholds[self.chosen])

    def summary(self) -> dict[str, float]:
        """The chosen point: threshold, flagged share and net savings per employee and period."""
        net = float(self.net_per_employee[self.chosen])
        return {
            "threshold": self.threshold,
            "flagged_share": float(self.flagged_share[self.chosen]),
            "capacity_share": self.capacity_share,
            "net_savings_per_employee": net,
            "net_savings_per_period": net * self.population,
            "population": float(self.population),
        }


def decision_curve(labels: Any, proba: Any, costs: DecisionCosts, population: int) -> DecisionCurve:
    """Net savings at every distinct score as threshold, and the best one within capacity.

    "Flag nobody" is the first point (threshold just above the highest score), so a
    threshold is never chosen that loses money on these predictions.

    Raises:
        ValueError: when labels and scores differ in length or are empty.
    """
    y = np.asarray(labels).astype(float)
    p = np.asarray(proba, dtype=float)
    if len(y) != len(p) or len(y) == 0:
        raise ValueError(f"need as many labels as scores, got {len(y)} and {len(p)}")
    order = np.argsort(-p, kind="mergesort")
    scores, outcomes = p[order], y[order]
    # The last row of each run of tied scores: flagging `>= score` flags the whole run.
    ends = np.r_[np.flatnonzero(np.diff(scores) != 0), len(scores) - 1]
    flagged = np.r_[0.0, ends + 1.0]
    leavers = np.r_[0.0, np.cumsum(outcomes)[ends]]
    gain = costs.retained_share * costs.replacement_cost
    net = (gain * leavers - costs.outreach_cost * flagged) / len(y)
    nobody = min(float(np.nextafter(scores[0], np.inf)), 1.0)
    thresholds = np.r_[nobody, scores[ends]]
    share = flagged / len(y)
    capacity = costs.capacity_fraction(population)
    allowed = share <= capacity + 1e-12
    chosen = int(np.argmax(np.where(allowed, net, -np.inf)))
    return DecisionCurve(thresholds, share, net, capacity, population, chosen)


def cost_optimal_threshold(
    labels: Any, proba: Any, *, costs: DecisionCosts, population: int
) -> float:
    """The threshold with the largest net savings within capacity (see `decision_curve`)."""
    return decision_curve(labels, proba, costs, population).threshold


def cost_threshold_rule(config: DatasetConfig, *, population: int) -> ThresholdRule | None:
    """The cost-optimal threshold rule when the config declares decision costs, else None."""
    costs = config.decision_costs
    if costs is None:
        return None
    return lambda labels, proba: cost_optimal_threshold(
        labels, proba, costs=costs, population=costs.population or population
    )
