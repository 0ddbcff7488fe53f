"""The monitoring signals, from constructed drift checks and performance results."""

from __future__ import annotations

import math

import pytest
from tests.monitor.factories import (
    make_drift_check,
    make_performance,
    make_period,
    make_spreads,
)

from attrition.monitor.findings import drift_findings, performance_findings
from attrition.monitor.rules import DriftRules, MonitoringConfig, PerformanceRules

DRIFT_SIGNALS = {"dataset_drift", "feature_drift", "prediction_drift", "predicted_rate_shift"}
RULES = DriftRules(feature_drift_min_columns=2)


def config(**performance: object) -> MonitoringConfig:
    return MonitoringConfig(performance=PerformanceRules(**performance))


@pytest.mark.parametrize(
    ("note", "detail"),
    [("", "drift not checked"), ("12 current rows < drift.min_rows 100", "12 current rows")],
)
def test_an_unchecked_drift_fires_nothing_and_says_why(note: str, detail: str) -> None:
    findings = drift_findings(None, RULES, note)
    assert set(findings) == DRIFT_SIGNALS
    for fired, text in findings.values():
        assert fired is False
        assert detail in text


@pytest.mark.parametrize(
    ("drifted", "dataset_drift", "feature_fires"),
    [
        ((), False, False),
        (("Age",), False, False),  # one column is below the two-column alert
        (("Age", "OverTime"), False, True),
        (("Age", "OverTime", "Department"), True, False),  # dataset drift supersedes it
    ],
)
def test_feature_drift_needs_enough_columns_and_no_dataset_drift(
    drifted: tuple[str, ...], dataset_drift: bool, feature_fires: bool
) -> None:
    check = make_drift_check(drifted=drifted, dataset_drift=dataset_drift)
    findings = drift_findings(check, RULES)
    assert findings["dataset_drift"][0] is dataset_drift
    assert findings["feature_drift"][0] is feature_fires
    names = ", ".join(drifted) or "none"
    assert f"{len(drifted)}/5 columns drifted ({names})" in findings["feature_drift"][1]
    assert "dataset drift at 50%" in findings["dataset_drift"][1]
    assert "alert from 2 columns" in findings["feature_drift"][1]


def test_prediction_and_rate_drift_follow_the_check_and_quote_its_numbers() -> None:
    check = make_drift_check(
        prediction={
            "psi": 0.31,
            "psi_threshold": 0.2,
            "ks_pvalue": 0.0004,
            "p_threshold": 0.01,
            "drifted": True,
        },
        rate={
            "reference_rate": 0.2,
            "current_rate": 0.38,
            "change": 0.18,
            "max_change": 0.1,
            "p_value": 0.0001,
            "drifted": True,
        },
    )
    findings = drift_findings(check, RULES)
    fired, detail = findings["prediction_drift"]
    assert fired is True
    assert detail == "PSI 0.310 (limit 0.2), K-S p 0.0004 (limit 0.01)"
    fired, detail = findings["predicted_rate_shift"]
    assert fired is True
    assert detail == "flagged share 20.0% -> 38.0% (limit ±10%, p 0.0001)"
    quiet = drift_findings(make_drift_check(), RULES)
    assert quiet["prediction_drift"][0] is False and quiet["predicted_rate_shift"][0] is False


def test_without_outcomes_or_rows_nothing_fires() -> None:
    findings = performance_findings(None, None, config())
    assert findings == {
        "performance_drop": (False, "no outcomes given"),
        "fairness": (False, "no outcomes given"),
        "estimated_performance_drop": (False, "no current rows"),
    }


@pytest.mark.parametrize(
    ("estimate", "fired"),
    [
        ({"roc_auc": 0.83, "recall_attrition": 0.55}, False),  # within both limits
        ({"roc_auc": 0.79, "recall_attrition": 0.55}, True),  # AUC down 0.06 > 0.05
        ({"roc_auc": 0.84, "recall_attrition": 0.45}, True),  # recall down 0.15 > 0.10
        ({"roc_auc": math.nan, "recall_attrition": 0.59}, False),  # NaN is not judged
        ({"brier": 0.13}, True),  # a loss: rising by 0.03 > 0.02 is the drop
        ({"brier": 0.07}, False),  # a falling loss is better, not a drop
    ],
)
def test_estimated_drop_compares_with_the_test_split(
    estimate: dict[str, float], fired: bool
) -> None:
    rules = config(max_drop={"roc_auc": 0.05, "recall_attrition": 0.10, "brier": 0.02})
    result = make_performance()
    dropped, detail = performance_findings(result, estimate, rules)["estimated_performance_drop"]
    assert dropped is fired
    assert detail.startswith("estimated ")
    for metric, value in estimate.items():
        if math.isfinite(value):
            assert f"{metric} {value:.3f} vs" in detail


def test_only_periods_with_enough_outcomes_are_judged() -> None:
    rules = config(min_outcomes=50)
    periods = [make_period("2026-01", 20, roc_auc=0.5), make_period("2026-02", 10, roc_auc=0.5)]
    result = make_performance(periods=periods, overall={"roc_auc": {"value": 0.5}}, matched=30)
    fired, detail = performance_findings(result, None, rules)["performance_drop"]
    assert fired is False
    assert detail == "30 matched outcomes: no period has 50"


def test_the_latest_judged_period_decides_the_realised_drop() -> None:
    rules = config(min_outcomes=50, max_drop={"roc_auc": 0.05})
    periods = [
        make_period("2026-01", 80, roc_auc=0.70),  # older and worse: not the one judged
        make_period("2026-02", 90, roc_auc=0.84),
        make_period("2026-03", 10, roc_auc=0.40),  # too few outcomes to judge
    ]
    result = make_performance(periods=periods, overall={"roc_auc": {"value": 0.8}}, matched=180)
    fired, detail = performance_findings(result, None, rules)["performance_drop"]
    assert fired is False
    assert detail == "2026-02: realised roc_auc 0.840 vs 0.850 at training (max drop 0.05)"
    periods[1] = make_period("2026-02", 90, roc_auc=0.78)
    fired, detail = performance_findings(result, None, rules)["performance_drop"]
    assert fired is True and "roc_auc 0.780 vs 0.850" in detail


@pytest.mark.parametrize(
    ("spreads", "fired", "shown"),
    [
        ([], False, "no audited attribute with two large groups"),
        ([("2026-02", "Gender", 0.04, 0.06)], False, "2026-02: Gender spread 0.060 (limit 0.1)"),
        ([("2026-02", "Gender", 0.15, 0.02)], True, "Gender spread 0.150"),
        (  # an old wide spread does not count once a newer period is in
            [("2026-01", "AgeBand", 0.4, 0.4), ("2026-02", "AgeBand", 0.05, 0.02)],
            False,
            "2026-02: AgeBand spread 0.050",
        ),
        (
            [("2026-02", "Gender", 0.02, 0.03), ("2026-02", "AgeBand", 0.05, 0.12)],
            True,
            "Gender spread 0.030, AgeBand spread 0.120",
        ),
    ],
)
def test_fairness_fires_on_the_latest_period_widest_spread(
    spreads: list[tuple[str, str, float, float]], fired: bool, shown: str
) -> None:
    rules = config(max_fairness_difference=0.1)
    result = make_performance(
        fairness=make_spreads(*spreads), overall={"roc_auc": {"value": 0.8}}, matched=100
    )
    got, detail = performance_findings(result, None, rules)["fairness"]
    assert got is fired
    assert shown in detail
