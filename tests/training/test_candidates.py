"""Fairness-constrained candidates: judged on out-of-fold predictions, the rule that chooses.

The biased data has two groups with very different leaver rates and a model input
(`site`) that mostly reveals the group, so the unconstrained model scores one group's
leavers far higher than the other's: a large equal-opportunity gap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.config import DatasetConfig, GateThresholds
from attrition.data.prepare import prepare
from attrition.fairness.policy import EQUAL_OPPORTUNITY, POLICIES, FairnessPolicy
from attrition.stats import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS
from attrition.training.candidates import UNCONSTRAINED
from attrition.training.constrained import constrained_choice
from attrition.training.frontier import FrontierPoint, GatedGap, choose
from attrition.training.run import split
from attrition.training.search import train_model

pytestmark = pytest.mark.xdist_group("candidates")

CONFIG = DatasetConfig(
    name="biased",
    target="left",
    positive_label=1,
    sensitive=["group"],
    exclude_from_model=["group"],
)
# Equal opportunity alone: reweighing by group and label moves each group's scores toward
# the overall leaver rate, which trades within-group calibration for it (the assistive
# policy gates both, and on this data no candidate passes both).
EQUAL_OPPORTUNITY_ONLY = FairnessPolicy(
    "equal-opportunity", (EQUAL_OPPORTUNITY,), "Leavers of every group found alike."
)
# Stated cost: reweighing at full strength may lose at most this much out-of-fold ROC AUC.
MAX_AUC_COST = 0.05


def biased(rows: int = 2400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=rows)
    site = np.where(rng.random(rows) < 0.9, group, np.where(group == "a", "b", "a"))
    skill = rng.normal(size=rows)
    tenure = rng.normal(size=rows)
    logit = -2.2 + 1.0 * skill - 0.6 * tenure + 1.8 * (group == "a")
    left = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {"group": group, "site": site, "skill": skill, "tenure": tenure, "left": left}
    )


@pytest.fixture(scope="module")
def chosen():
    parts = split(prepare(biased(), CONFIG), seed=1)
    result = train_model(
        parts.train.features, parts.train.labels, CONFIG, trials=1, seed=1, kinds=("logreg",)
    )
    choice = constrained_choice(
        result, parts.train, parts.test, CONFIG, GateThresholds(), EQUAL_OPPORTUNITY_ONLY, seed=1
    )
    return parts, result, choice


def test_full_reweighing_shrinks_the_equal_opportunity_gap_at_a_stated_auc_cost(chosen) -> None:
    _, _, choice = chosen
    points = {p.name: p for p in choice.frontier.points}
    plain, strong = points[UNCONSTRAINED], points["reweigh s=1"]
    plain_gap, strong_gap = plain.largest, strong.largest
    assert plain_gap is not None and strong_gap is not None
    assert plain_gap.metric == "equal_opportunity_difference"
    assert plain_gap.value is not None and strong_gap.value is not None
    assert plain_gap.value > 0.2 and plain_gap.verdict == FAIL  # the constructed bias is large
    assert strong_gap.value < plain_gap.value / 2
    assert plain.roc_auc - strong.roc_auc < MAX_AUC_COST
    assert not strong.fails


def test_every_point_has_intervals_verdicts_and_the_choice_follows_the_rule(chosen) -> None:
    _, _, choice = chosen
    frontier = choice.frontier.to_dict()
    assert frontier["fairness_policy"] == "equal-opportunity"
    assert [c["name"] for c in frontier["candidates"]] == [
        UNCONSTRAINED,
        "reweigh s=0.5",
        "reweigh s=1",
    ]
    for entry in frontier["candidates"]:
        low, high = entry["roc_auc_interval"]
        assert low <= entry["roc_auc"] <= high
        gap = entry["largest_gated_gap"]
        assert gap["interval"][0] <= gap["value"] <= gap["interval"][1]
        assert set(entry["verdicts"].values()) <= {
            PASS,
            FAIL,
            INCONCLUSIVE,
            NOT_APPLICABLE,
            "insufficient_evidence",
        }
    index, _ = choose(choice.frontier.points)
    assert sum(c["chosen"] for c in frontier["candidates"]) == 1
    assert (
        frontier["candidates"][index]["chosen"]
        and frontier["chosen"] == frontier["candidates"][index]["name"]
    )


def test_the_chosen_model_scores_without_the_sensitive_attribute(chosen) -> None:
    parts, _, choice = chosen
    model = choice.result.model
    assert "group" not in [str(c) for c in model.feature_names_in_]
    proba = model.predict_proba(parts.test.features)[:, 1]
    np.testing.assert_array_equal(proba, model.predict_proba(parts.test.features)[:, 1])
    chosen = choice.candidates[choice.frontier.chosen]
    assert chosen.name != UNCONSTRAINED  # the unconstrained model fails its gate here
    np.testing.assert_array_equal(choice.result.oof_proba, chosen.oof_proba)
    assert choice.result.threshold == chosen.threshold
    assert not choice.result.calibrated


def _point(name: str, auc: float, verdicts: list[str]) -> FrontierPoint:
    gaps = [
        GatedGap("g", f"m{i}", 0.1 * (i + 1), (0.0, 0.3), 0.1, verdict)
        for i, verdict in enumerate(verdicts)
    ]
    return FrontierPoint(name, {}, 0.5, auc, (auc - 0.02, auc + 0.02), gaps)


def test_choose_takes_the_best_auc_without_a_fail_else_the_unconstrained_model() -> None:
    points = [
        _point(UNCONSTRAINED, 0.85, [FAIL, PASS]),
        _point("reweigh s=0.5", 0.84, [INCONCLUSIVE, PASS]),
        _point("reweigh s=1", 0.83, [PASS, NOT_APPLICABLE]),
    ]
    assert choose(points)[0] == 1
    failing = [_point("reweigh s=1", 0.86, [FAIL]), _point(UNCONSTRAINED, 0.85, [FAIL])]
    index, reason = choose(failing)
    assert index == 1 and "unconstrained" in reason


def test_without_sensitive_attributes_only_the_unconstrained_model_is_judged() -> None:
    config = CONFIG.model_copy(update={"sensitive": [], "exclude_from_model": []})
    frame = biased(rows=600, seed=3).drop(columns=["group"])
    parts = split(prepare(frame, config), seed=2)
    result = train_model(
        parts.train.features, parts.train.labels, config, trials=1, seed=2, kinds=("logreg",)
    )
    choice = constrained_choice(
        result, parts.train, parts.test, config, GateThresholds(), POLICIES["seed"], seed=2
    )
    assert [p.name for p in choice.frontier.points] == [UNCONSTRAINED]
    assert choice.frontier.chosen_point.largest is None
    assert choice.result is result


def test_a_gap_over_the_bar_fails_the_choice_even_on_thin_evidence() -> None:
    from types import SimpleNamespace

    from attrition.training.frontier import _gap

    thin = SimpleNamespace(
        value=0.4,
        threshold=0.1,
        ci_low=0.25,
        ci_high=0.7,
        evidence=12,
        verdict="insufficient_evidence",
    )
    gap = _gap("AgeBand", "equal_opportunity_difference", thin, 20)
    assert gap.verdict == FAIL and gap.audit_verdict == "insufficient_evidence"
    crossing = SimpleNamespace(value=0.12, threshold=0.1, ci_low=0.05, ci_high=0.2, evidence=12)
    gap = _gap("AgeBand", "equal_opportunity_difference", crossing, 20)
    assert gap.verdict == INCONCLUSIVE and gap.audit_verdict == "insufficient_evidence"
    assert _gap("AgeBand", "calibration_difference", None, 20).verdict == NOT_APPLICABLE
