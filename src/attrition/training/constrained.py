"""Choose among the unconstrained model and its fairness-constrained candidates.

`constrained_choice` builds the candidates (`candidates`), judges them on out-of-fold
predictions (`frontier`), and returns the chosen one as the run's `TrainResult`. With
`train --mitigate` the exponentiated-gradient candidate joins the frontier, and its
before/after comparison on the test split is kept for the fairness report; that
comparison is made after the choice and never influences it.
"""

from __future__ import annotations

from dataclasses import dataclass

from attrition.config import DatasetConfig, GateThresholds
from attrition.data.prepare import PreparedData
from attrition.fairness.policy import FairnessPolicy
from attrition.mitigation import MitigationComparison, compare_mitigation
from attrition.training.candidates import (
    Candidate,
    as_result,
    mitigated,
    reweighed,
    training_problem,
    unconstrained,
)
from attrition.training.frontier import Frontier, frontier
from attrition.training.search import ThresholdRule, TrainResult


@dataclass(frozen=True)
class Choice:
    """The chosen model as a search result, the frontier that chose it, and any comparison."""

    result: TrainResult
    frontier: Frontier
    comparison: MitigationComparison | None = None
    candidates: tuple[Candidate, ...] = ()


def constrained_choice(
    result: TrainResult,
    train: PreparedData,
    test: PreparedData,
    config: DatasetConfig,
    thresholds: GateThresholds,
    policy: FairnessPolicy,
    *,
    seed: int,
    mitigate: str | None = None,
    threshold_rule: ThresholdRule | None = None,
) -> Choice:
    """Judge the unconstrained model and its constrained candidates; return the chosen one."""
    task = training_problem(train, config, result, seed)
    candidates: list[Candidate] = [
        unconstrained(result, task),
        *reweighed(result, task, train.audit, config, seed=seed, threshold_rule=threshold_rule),
    ]
    if mitigate and train.audit.shape[1] > 0:
        candidates.append(
            mitigated(
                result,
                task,
                train.audit,
                config,
                mitigate,
                seed=seed,
                threshold_rule=threshold_rule,
            )
        )
    judged = frontier(candidates, task.y, train.audit, thresholds, policy, seed=seed)
    chosen = as_result(result, candidates[judged.chosen])
    comparison = None
    if mitigate and train.audit.shape[1] > 0:
        after = candidates[-1]
        comparison = compare_mitigation(
            result.model.predict_proba(test.features)[:, 1],
            after.fitted().predict_proba(test.features)[:, 1],
            test.labels.to_numpy(),
            test.audit,
            mitigate,  # type: ignore[arg-type]
            before_threshold=result.threshold,
            after_threshold=after.threshold,
            attributes=[str(c) for c in train.audit.columns],
        )
    return Choice(chosen, judged, comparison, tuple(candidates))
