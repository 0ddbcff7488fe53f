"""Fairness gates from a run's assessment: verdicts under a policy, old runs, no attributes."""

from __future__ import annotations

import pandas as pd
import pytest

from attrition.config import GateThresholds
from attrition.fairness import POLICIES, assess_fairness
from attrition.registry.fairness_gates import feasibility_section, policy_fairness_gates
from attrition.registry.gates import compare, performance_gates
from attrition.registry.signoffs import apply_signoffs, signoff_gate

T = GateThresholds()


def document(hit_b: int, leavers: int = 50, size: int = 200) -> dict:
    parts = []
    for group, hit in (("A", 40), ("B", hit_b)):
        truth = [1] * leavers + [0] * (size - leavers)
        flagged = [1] * hit + [0] * (leavers - hit) + [1] * 20 + [0] * (size - leavers - 20)
        parts.append(pd.DataFrame({"Gender": group, "y": truth, "d": flagged}))
    frame = pd.concat(parts, ignore_index=True)
    return assess_fairness(frame["y"], frame["d"], frame[["Gender"]], T, n_boot=300).to_dict()


def test_gated_metrics_get_verdicts_and_the_rest_are_reported() -> None:
    results = {r.name: r for r in policy_fairness_gates(document(20), {}, T, POLICIES["seed"])}
    eo = results["fairness.Gender.equal_opportunity_difference"]
    assert eo.verdict == "fail" and eo.passed is False and eo.evidence == 50
    assert eo.interval is not None and eo.interval[0] >= 0.1
    fpr = results["fairness.Gender.false_positive_rate_difference"]
    assert fpr.verdict == "info" and fpr.passed is None


def test_verdict_uses_the_current_threshold_and_minimum_evidence() -> None:
    doc = document(20)
    loose = GateThresholds(equal_opportunity_difference=0.9)
    (eo,) = [
        r
        for r in policy_fairness_gates(doc, {}, loose, POLICIES["seed"])
        if r.name.endswith("equal_opportunity_difference")
    ]
    assert eo.verdict == "pass"
    strict = GateThresholds(min_group_events=60)
    (eo,) = [
        r
        for r in policy_fairness_gates(doc, {}, strict, POLICIES["seed"])
        if r.name.endswith("equal_opportunity_difference")
    ]
    assert eo.verdict == "insufficient_evidence" and eo.passed is None


def test_run_logged_before_verdicts_falls_back_to_point_estimates() -> None:
    old = {"passed": False, "attributes": [{"name": "Gender", "groups": [], "differences": {}}]}
    metrics = {"fairness.Gender.equal_opportunity_difference": 0.2}
    (gate,) = policy_fairness_gates(old, metrics, T, POLICIES["seed"])
    assert gate.passed is False and gate.verdict == "fail" and gate.interval is None
    (missing,) = policy_fairness_gates(None, {}, T, POLICIES["seed"])
    assert missing.name == "fairness.assessment" and missing.passed is False


def test_no_sensitive_attributes_reads_not_applicable_everywhere() -> None:
    doc = assess_fairness([0, 1], [0, 1], pd.DataFrame(index=range(2)), T).to_dict()
    (gate,) = policy_fairness_gates(doc, {}, T, POLICIES["seed"])
    assert gate.verdict == "not_applicable" and gate.passed is None
    assert "No fairness audit was possible" in gate.message
    feasibility = feasibility_section(doc, POLICIES["seed"], T)
    assert feasibility["feasible"] is True and feasibility["base_rates"] == {}
    assert "Not applicable" in feasibility["statement"]


def test_performance_gates_judge_intervals_when_logged() -> None:
    metrics = {"test_accuracy": 0.87, "test_roc_auc": 0.84}
    intervals = {"accuracy": [0.86, 0.89], "roc_auc": [0.79, 0.89]}
    results = {r.name: r for r in performance_gates(metrics, T, intervals, 294)}
    assert results["performance.accuracy"].verdict == "pass"
    assert results["performance.roc_auc"].verdict == "inconclusive"
    assert results["performance.roc_auc"].passed is None
    assert results["performance.roc_auc"].evidence == 294
    # Without an interval the point estimate decides, as before.
    assert compare("x", 0.84, 0.85, ">", "x").verdict == "fail"
    assert compare("x", 0.70, 0.85, ">", "x", [0.60, 0.80]).verdict == "fail"


def test_signed_off_inconclusive_gate_passes_and_clears_the_production_gate() -> None:
    results = performance_gates({"test_roc_auc": 0.84}, T, {"roc_auc": [0.79, 0.89]})
    assert signoff_gate(results).passed is False
    signed = apply_signoffs(
        results, {"performance.roc_auc": {"actor": "alice", "reason": "ok", "at": "now"}}
    )
    roc = next(r for r in signed if r.name == "performance.roc_auc")
    assert roc.passed is True and "Signed off by alice" in roc.message
    assert signoff_gate(signed).passed is True


@pytest.mark.parametrize("policy", list(POLICIES))
def test_every_policy_gates_only_its_metrics(policy: str) -> None:
    results = policy_fairness_gates(document(36), {}, T, POLICIES[policy])
    gated = {r.name.split(".")[-1] for r in results if r.verdict != "info"}
    assert gated == set(POLICIES[policy].gated) - {"calibration_difference"}
