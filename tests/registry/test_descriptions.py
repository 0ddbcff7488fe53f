"""Descriptions of runs and versions: headline metrics, gate status, the review report."""

from __future__ import annotations

from attrition.registry.descriptions import describe


def test_description_names_metrics_gates_and_the_review_report() -> None:
    text = describe(
        {"test_roc_auc": 0.8234, "test_f1_weighted": 0.8, "threshold": 0.31},
        {"Staging": "forced"},
        model_name="m",
        version="4",
        review_report=True,
    )
    assert "**m v4** - test split: ROC AUC 0.823, F1 (weighted) 0.800 (threshold 0.310)." in text
    assert "Gates - Staging: forced." in text
    assert "`review_report.html` in this run's artifacts" in text


def test_description_before_any_gate_or_review_says_how() -> None:
    text = describe({}, {}, model_name="m", version="2", review_report=False)
    assert "no test metrics logged" in text
    assert "not run yet" in text
    assert "`attrition review --version 2`" in text
