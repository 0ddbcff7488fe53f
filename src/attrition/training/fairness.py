"""The training run's fairness evidence: every labelled row, scored out of sample.

Gating on the 20% test split alone leaves a handful of leavers in the smaller groups,
so a gap's interval is wider than the bar it is judged against. The evidence here is
the training split's cross-fitted out-of-fold predictions plus the final model's
test-split predictions, all at the model's operating threshold: every row scored by a
model that did not train on it. The test split alone is reported beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from attrition.fairness import FairnessAssessment, assess_fairness
from attrition.fairness.feasibility import assess_feasibility
from attrition.fairness.intersection import Intersection, intersection_table
from attrition.fairness.policy import FairnessPolicy, policy_in_force, policy_record
from attrition.training.facts import RunFacts

FAIRNESS_RESAMPLES = 1000
POOLED_SOURCE = (
    "out-of-fold predictions on the training split (cross-fitted) and the final model's "
    "predictions on the test split, at the model's decision threshold"
)
TEST_SOURCE = "the final model's predictions on the held-out test split alone"


def training_policy(facts: RunFacts) -> tuple[FairnessPolicy, str]:
    """The policy declared for this run (train option, else the gates file, else default)."""
    return policy_in_force(
        training=facts.fairness_policy, gates_file=facts.thresholds.fairness_policy
    )


def _assess(
    facts: RunFacts, labels: Any, proba: np.ndarray, audit: pd.DataFrame, policy: FairnessPolicy
) -> FairnessAssessment:
    threshold = facts.result.threshold
    return assess_fairness(
        np.asarray(labels),
        (proba >= threshold).astype(int),
        audit,
        facts.thresholds,
        n_boot=FAIRNESS_RESAMPLES,
        seed=facts.seed,
        scores=proba,
        gated=policy.gated,
    )


def pooled_evidence(facts: RunFacts) -> bool:
    """Whether the out-of-fold predictions are the registered model's own.

    A model refitted after the search (`--mitigate`) has no cross-fitted predictions of its
    own, so its fairness evidence is the test split alone.
    """
    return facts.mitigation is None


Rows = tuple[np.ndarray, np.ndarray, pd.DataFrame]


def _pooled_rows(facts: RunFacts) -> Rows:
    labels = np.concatenate([facts.train.labels.to_numpy(), facts.test.labels.to_numpy()])
    proba = np.concatenate([np.asarray(facts.result.oof_proba), np.asarray(facts.test_proba)])
    return labels, proba, pd.concat([facts.train.audit, facts.test.audit], ignore_index=True)


def _test_rows(facts: RunFacts) -> Rows:
    labels = facts.test.labels.to_numpy()
    return labels, np.asarray(facts.test_proba), facts.test.audit.reset_index(drop=True)


def pooled_fairness(facts: RunFacts) -> FairnessAssessment:
    """Fairness over every labelled row: out-of-fold training plus test predictions."""
    if not pooled_evidence(facts):
        return test_only_fairness(facts)
    policy, _ = training_policy(facts)
    return _assess(facts, *_pooled_rows(facts), policy)


def fairness_intersection(facts: RunFacts) -> Intersection | None:
    """The first two sensitive attributes crossed, on the same rows as the fairness evidence."""
    labels, proba, audit = _pooled_rows(facts) if pooled_evidence(facts) else _test_rows(facts)
    decisions = (proba >= facts.result.threshold).astype(int)
    return intersection_table(labels, decisions, audit, facts.thresholds.min_group_size)


def test_only_fairness(facts: RunFacts) -> FairnessAssessment:
    """Fairness of the test-split decisions alone, reported beside the pooled evidence."""
    policy, _ = training_policy(facts)
    return _assess(facts, *_test_rows(facts), policy)


def fairness_document(
    facts: RunFacts, pooled: FairnessAssessment, test_only: FairnessAssessment
) -> dict[str, Any]:
    """`fairness.json`: the pooled assessment and its source, the test-only one, the policy
    and the feasibility of its criteria."""
    policy, chosen_by = training_policy(facts)
    document = pooled.to_dict()
    if pooled_evidence(facts):
        rows = len(facts.train.labels) + len(facts.test.labels)
        document["evidence"] = {"source": POOLED_SOURCE, "rows": rows}
    else:
        document["evidence"] = {"source": TEST_SOURCE, "rows": len(facts.test.labels)}
    document["test_only"] = {
        "source": TEST_SOURCE,
        "rows": len(facts.test.labels),
        **test_only.to_dict(),
    }
    document["fairness_policy"] = policy_record(policy, chosen_by)
    if pooled.applicable:
        document["feasibility"] = assess_feasibility(
            document["attributes"], policy, facts.thresholds
        )
    return document
