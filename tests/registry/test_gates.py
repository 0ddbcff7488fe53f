"""The pure gate core: each Staging gate's value, threshold, verdict and sentence; reports."""

from __future__ import annotations

import json
import math

import pytest

from attrition.config import GateThresholds
from attrition.registry.gates import (
    build_report,
    compare,
    data_quality_gates,
    documentation_gates,
    duplicate_gate,
    fairness_gates,
    performance_gates,
    staging_gates,
)

T = GateThresholds()


@pytest.mark.parametrize(
    ("value", "threshold", "comparison", "passed"),
    [
        (0.86, 0.85, ">", True),
        (0.85, 0.85, ">", False),  # the bar is "> 0.85": equal is not enough
        (0.20, 0.85, ">", False),
        (0.04, 0.05, "<", True),
        (0.05, 0.05, "<", False),
        (math.nan, 0.05, "<", False),
        (None, 0.85, ">", False),
    ],
)
def test_compare(value: float | None, threshold: float, comparison: str, passed: bool) -> None:
    result = compare("g", value, threshold, comparison, "Thing")
    assert result.passed is passed
    assert result.threshold == threshold and result.comparison == comparison
    if value is None or math.isnan(value):
        assert result.value is None and result.message == "Thing was not logged"
    else:
        assert (
            f"{value:.3f}" in result.message and ("meets" if passed else "misses") in result.message
        )


def test_performance_gates_weighted_with_attrition_class_reported() -> None:
    metrics = {
        "test_accuracy": 0.87,
        "test_roc_auc": 0.84,
        "test_f1_weighted": 0.86,
        "test_precision_weighted": 0.86,
        "test_recall_weighted": 0.87,
        "test_f1_attrition": 0.5,
        "test_precision_attrition": 0.6,
        "test_recall_attrition": 0.4,
    }
    results = {r.name: r for r in performance_gates(metrics, T)}
    assert [n for n, r in results.items() if r.passed is False] == ["performance.roc_auc"]
    info = results["performance.f1_attrition"]
    assert info.passed is None and info.value == 0.5 and "not gated" in info.message
    assert results["performance.f1"].value == 0.86


def test_performance_gates_on_attrition_class_when_configured() -> None:
    thresholds = GateThresholds(average="attrition")
    metrics = {"test_f1_attrition": 0.5, "test_f1_weighted": 0.9}
    results = {r.name: r for r in performance_gates(metrics, thresholds)}
    assert results["performance.f1"].value == 0.5 and results["performance.f1"].passed is False
    assert "performance.f1_attrition" not in results


def test_fairness_gates_use_absolute_difference_and_report_undefined() -> None:
    metrics = {
        "fairness.Gender.statistical_parity_difference": -0.12,
        "fairness.Gender.equal_opportunity_difference": 0.05,
        "fairness.AgeBand.predictive_parity_difference": math.nan,
        "fairness.AgeBand.n_groups": 4.0,  # not a gated metric
        "test_accuracy": 0.9,
    }
    results = {r.name: r for r in fairness_gates(metrics, T)}
    assert set(results) == {
        "fairness.Gender.statistical_parity_difference",
        "fairness.Gender.equal_opportunity_difference",
        "fairness.AgeBand.predictive_parity_difference",
    }
    assert results["fairness.Gender.statistical_parity_difference"].passed is False
    assert results["fairness.Gender.equal_opportunity_difference"].passed is True
    undefined = results["fairness.AgeBand.predictive_parity_difference"]
    assert undefined.passed is None and "not gated" in undefined.message


def test_missing_fairness_assessment_fails() -> None:
    (result,) = fairness_gates({"test_accuracy": 0.9}, T)
    assert result.name == "fairness.assessment" and result.passed is False


@pytest.mark.parametrize(
    ("metric", "value", "gate"),
    [
        ("dq_missing_rate", 0.06, "data_quality.missing_rate"),
        ("dq_outlier_rate", 0.011, "data_quality.outlier_rate"),
        ("dq_max_abs_correlation", 0.81, "data_quality.max_abs_correlation"),
        ("dq_duplicate_rate", 0.3, "data_quality.duplicate_rate"),
    ],
)
def test_data_quality_gates(metric: str, value: float, gate: str) -> None:
    good = {
        "dq_missing_rate": 0.0,
        "dq_outlier_rate": 0.0,
        "dq_max_abs_correlation": 0.3,
        "dq_duplicate_rate": 0.01,
    }
    assert all(r.passed for r in data_quality_gates(good, T))
    failed = [r.name for r in data_quality_gates({**good, metric: value}, T) if r.failed]
    assert failed == [gate]


def test_duplicate_gate_threshold_comes_from_the_gates_file() -> None:
    strict = T.model_copy(update={"duplicate_rate": 0.005})
    metrics = {"dq_duplicate_rate": 0.01}
    assert duplicate_gate(metrics["dq_duplicate_rate"], T.duplicate_rate).passed is True
    assert duplicate_gate(metrics["dq_duplicate_rate"], strict.duplicate_rate).passed is False


def test_duplicate_rate_of_an_older_run_is_reported_not_gated() -> None:
    (result,) = [r for r in data_quality_gates({}, T) if r.name == "data_quality.duplicate_rate"]
    assert result.passed is None and "not measured" in result.message


def test_documentation_gates() -> None:
    results = documentation_gates({"model_card.md", "roc_curve.png"})
    assert [(r.name, r.passed) for r in results] == [
        ("documentation.model_card", True),
        ("documentation.fairness_report", False),
    ]
    assert "fairness_report.html" in results[1].message and "missing" in results[1].message


def test_staging_gates_cover_every_family() -> None:
    families = {r.name.split(".")[0] for r in staging_gates({}, set(), T)}
    assert families == {"performance", "fairness", "data_quality", "documentation"}


def test_report_outcome_and_json() -> None:
    results = [
        compare("performance.accuracy", 0.8, 0.85, ">", "Test accuracy"),
        compare("performance.roc_auc", math.nan, 0.85, ">", "Test ROC AUC"),
        compare("performance.f1", 0.9, 0.8, ">", "Test F1"),
    ]
    refused = build_report("Staging", "2", results, actor="ana", model_name="m", from_stage="None")
    assert not refused.passed and refused.outcome == "failed"
    assert refused.summary() == "1/3 gates passed"
    forced = build_report("Staging", "2", results, forced=True, reason="pilot")
    assert forced.outcome == "forced" and forced.forced
    data = json.loads(json.dumps(forced.to_dict(), allow_nan=False))
    assert data["failed_gates"] == ["performance.accuracy", "performance.roc_auc"]
    assert data["results"][1]["value"] is None and data["reason"] == "pilot"
    passing = build_report("Staging", "2", results[2:], forced=True, reason="x")
    assert passing.passed and not passing.forced and passing.outcome == "passed"


def test_raw_association_over_the_bar_passes_only_when_handled() -> None:
    from attrition.registry.gates import correlation_gate

    under = correlation_gate({"dq_raw_association": 0.5, "dq_max_abs_correlation": 0.4}, 0.8)
    assert under.passed is True and under.value == 0.5
    handled = correlation_gate({"dq_raw_association": 0.95, "dq_max_abs_correlation": 0.6}, 0.8)
    assert handled.passed is True and handled.value == 0.95
    assert "0.950" in handled.message and "handled" in handled.message
    kept = correlation_gate({"dq_raw_association": 0.95, "dq_max_abs_correlation": 0.9}, 0.8)
    assert kept.passed is False and "not handled" in kept.message
    old = correlation_gate({"dq_max_abs_correlation": 0.9}, 0.8)
    assert old.passed is False and old.value == 0.9
