"""`attrition train --mitigate`: refit the chosen pipeline under a fairness constraint."""

from __future__ import annotations

from typing import Any

from attrition.config import DatasetConfig, GateThresholds
from attrition.data.prepare import PreparedData
from attrition.fairness import assess_fairness
from attrition.mitigation import MitigationComparison
from attrition.training.search import TrainResult


def mitigate(
    result: TrainResult,
    train: PreparedData,
    test: PreparedData,
    config: DatasetConfig,
    thresholds: GateThresholds,
    constraint: str,
    seed: int,
) -> tuple[Any, MitigationComparison]:
    """Refit the chosen pipeline under a fairness constraint; compare on the test split.

    The constrained attributes are those whose out-of-fold (training) decisions fail the
    fairness gate, so the test split plays no part in the choice; when none fail, all
    sensitive attributes are constrained.
    """
    from attrition.features import infer_column_kinds
    from attrition.mitigation import compare_mitigation, fit_mitigated
    from attrition.pipeline import build_pipeline

    oof_decisions = (result.oof_proba >= result.threshold).astype(int)
    training_fairness = assess_fairness(
        train.labels.to_numpy(), oof_decisions, train.audit, thresholds, n_boot=0, seed=seed
    )
    failing = [a.name for a in training_fairness.attributes if a.passed is False]
    targeted = failing or list(train.audit.columns)
    base = build_pipeline(
        result.kind, result.params, infer_column_kinds(train.features, config), config, seed
    )
    mitigated = fit_mitigated(
        base,
        train.features,
        train.labels,
        train.audit[targeted],
        constraint,  # type: ignore[arg-type]
        seed=seed,
        threshold=result.threshold,
    )
    comparison = compare_mitigation(
        result.model.predict_proba(test.features)[:, 1],
        mitigated.predict_proba(test.features)[:, 1],
        test.labels.to_numpy(),
        test.audit,
        constraint,  # type: ignore[arg-type]
        before_threshold=result.threshold,
        after_threshold=result.threshold,
        attributes=targeted,
    )
    return mitigated, comparison
