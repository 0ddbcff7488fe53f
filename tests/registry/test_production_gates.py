"""The gates to Production: the A/B comparison, Staging record, review, reference, rollback."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from attrition.registry.production_gates import (
    ab_gate,
    paired_bootstrap_auc,
    reference_gate,
    review_gate,
    rollback_gate,
    staging_record_gate,
)


def test_paired_bootstrap_interval() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    good = y + rng.normal(0, 0.7, 400)
    noise = rng.normal(0, 1, 400)
    same = paired_bootstrap_auc(y, good, good, champion_version="1", resamples=200)
    assert same.low == same.high == same.difference == 0.0
    better = paired_bootstrap_auc(y, good, noise, champion_version="1", resamples=500, seed=3)
    assert better.low > 0.1 and better.low < better.difference < better.high
    assert better == paired_bootstrap_auc(
        y, good, noise, champion_version="1", resamples=500, seed=3
    )
    assert better.candidate_auc == pytest.approx(roc_auc_score(y, good))
    with pytest.raises(ValueError, match="both classes"):
        paired_bootstrap_auc(np.zeros(10), np.ones(10), np.ones(10))


def test_ab_gate_non_inferiority() -> None:
    y = np.r_[np.zeros(50), np.ones(50)]
    scores = np.linspace(0, 1, 100)
    comparison = paired_bootstrap_auc(y, scores[::-1], scores, champion_version="3")
    worse = ab_gate(comparison, 0.02)
    assert worse.passed is False and "champion v3" in worse.message and "95%" in worse.message
    assert ab_gate(paired_bootstrap_auc(y, scores, scores), 0.02).passed is True
    first = ab_gate(None, 0.02)
    assert first.passed is None and "first deployment" in first.message
    assert ab_gate(None, 0.02, problem="no test set").passed is False


def test_production_record_review_reference_and_rollback_gates() -> None:
    assert staging_record_gate("Staging", "passed").passed
    assert staging_record_gate("Staging", "forced").passed
    assert not staging_record_gate("Staging", "failed").passed
    assert not staging_record_gate("None", None).passed
    assert review_gate(None).passed and review_gate("approved").passed
    rejected = review_gate("rejected", "bias in AgeBand")
    assert rejected.passed is False and "bias in AgeBand" in rejected.message
    assert reference_gate({"reference/features.parquet", "reference/reference.json"}).passed
    assert "reference/reference.json" in reference_gate({"reference/features.parquet"}).message
    assert "v4" in rollback_gate("4", None, True, False).message
    assert rollback_gate(None, "2", True, False).passed
    first = rollback_gate(None, None, False, False)
    assert first.passed and "First deployment" in first.message
    assert rollback_gate(None, None, True, True).passed
    assert rollback_gate(None, None, True, False).passed is False
