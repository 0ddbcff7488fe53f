"""The monitoring job's pure decisions: findings, exit codes, summary, tags and metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from tests.monitor.factories import make_drift_check, make_performance, make_reference

from attrition.monitor.checks import Champion
from attrition.monitor.job import (
    EXIT_ALERT,
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STAGED,
    JobOptions,
    Observations,
    exit_code,
    job_findings,
    job_metrics,
    job_tags,
    retrain_signals,
    summarize,
    window_estimate,
)
from attrition.monitor.retrain import Candidate, failed_candidate, retrain_reason
from attrition.monitor.rules import SIGNALS, MonitoringConfig, Signal, Verdict, decide

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 3, 8, tzinfo=UTC)


def observations(check: Any = None, notes: list[str] | None = None, **kw: Any) -> Observations:
    latency = kw.pop("latency", {"requests": 0, "overall": None, "by_version": {}, "by_day": {}})
    return Observations(
        champion=Champion(client=None, name="m", version="3", reference=make_reference()),
        since=kw.pop("since", SINCE),
        until=UNTIL,
        window=kw.pop("window", pd.DataFrame({"probability": [0.2] * 7})),
        check=check,
        performance=kw.pop("performance", make_performance()),
        latency=latency,
        notes=notes if notes is not None else [],
    )


def verdict(decision: str, *signals: tuple[str, bool, str]) -> Verdict:
    return Verdict(decision, [Signal(n, f, a, "detail") for n, f, a in signals])


@pytest.mark.parametrize(
    ("decision", "candidate", "code"),
    [
        ("no_action", None, EXIT_OK),
        ("alert", None, EXIT_ALERT),
        ("retrain", None, EXIT_ALERT),  # retraining needed, but nothing was trained
        ("retrain", Candidate(version="4", staged=True), EXIT_STAGED),
        ("retrain", Candidate(version="4", staged=False, failures=["roc_auc"]), EXIT_REFUSED),
        ("retrain", Candidate(error="DataError: no rows"), EXIT_ERROR),
    ],
)
def test_exit_code_table(decision: str, candidate: Candidate | None, code: int) -> None:
    assert exit_code(verdict(decision), candidate) == code
    assert code in EXIT_CODES


def test_every_signal_is_found_and_an_unchecked_drift_carries_its_note() -> None:
    note = "40 current rows < drift.min_rows 100: drift not checked"
    findings = job_findings(observations(notes=[note]), MonitoringConfig())
    assert set(findings) == set(SIGNALS)
    assert findings["dataset_drift"] == (False, note)
    assert findings["estimated_performance_drop"] == (False, "no current rows")
    assert findings["latency"] == (False, "no stored requests")


def test_a_checked_drift_feeds_the_estimate_at_the_reference_threshold() -> None:
    check = make_drift_check(scores=(0.1, 0.2, 0.9, 0.95))
    seen = observations(check, notes=["ignored: drift was checked"])
    estimate = window_estimate(check, seen.champion.reference.threshold)
    assert estimate is not None and 0 < estimate["recall_attrition"] <= 1
    findings = job_findings(seen, MonitoringConfig())
    assert findings["estimated_performance_drop"][1].startswith("estimated ")
    assert "ignored" not in findings["dataset_drift"][1]
    assert window_estimate(None, 0.3) is None
    assert window_estimate(make_drift_check(scores=()), 0.3) is None


def test_the_decision_follows_the_configured_actions() -> None:
    check = make_drift_check(drifted=("Age", "OverTime", "Department"), dataset_drift=True)
    config = MonitoringConfig(actions={"dataset_drift": "retrain", "feature_drift": "alert"})
    result = decide(job_findings(observations(check), config), config)
    assert result.decision == "retrain"
    assert retrain_signals(result) == ["dataset_drift"]
    assert retrain_reason(retrain_signals(result)) == "monitoring: dataset_drift"


def test_retrain_signals_keep_only_fired_retrain_actions() -> None:
    result = verdict(
        "retrain",
        ("dataset_drift", True, "retrain"),
        ("prediction_drift", False, "retrain"),
        ("latency", True, "alert"),
        ("performance_drop", True, "retrain"),
    )
    assert retrain_signals(result) == ["dataset_drift", "performance_drop"]
    assert retrain_reason(retrain_signals(result)) == (
        "monitoring: dataset_drift; performance_drop"
    )


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (ValueError("bad column\nsecond line"), "ValueError: bad column"),
        (RuntimeError(""), "RuntimeError: "),
        (KeyError("Age"), "KeyError: 'Age'"),
    ],
)
def test_a_failed_retraining_keeps_the_first_line_of_its_error(error: Exception, text: str) -> None:
    candidate = failed_candidate(error)
    assert candidate.error == text
    assert candidate.version is None and not candidate.staged


def test_summary_counts_rows_and_names_the_window() -> None:
    check = make_drift_check(scores=(0.1, 0.2, 0.3))
    seen = observations(check, performance=make_performance(matched=12))
    result = verdict("alert", ("latency", True, "alert"))
    summary = summarize(seen, JobOptions(MonitoringConfig(), current="new.csv"), result, None)
    assert summary.exit_code == EXIT_ALERT
    assert summary.rows == {
        "stored_in_window": 7,
        "drift_rows": 3,
        "stored_predictions": 1000,
        "outcomes_matched": 12,
    }
    assert summary.window == {
        "since": SINCE.isoformat(),
        "until": UNTIL.isoformat(),
        "drift_source": "new.csv",
    }
    unchecked = summarize(observations(since=None), JobOptions(MonitoringConfig()), result, None)
    assert unchecked.rows["drift_rows"] == 0
    assert unchecked.window["since"] is None
    assert unchecked.window["drift_source"] == "prediction store"
    as_json = unchecked.to_dict()
    assert as_json["exit_meaning"] == EXIT_CODES[EXIT_ALERT]
    assert as_json["reasons"] == ["latency: detail"]


def test_tags_record_decision_inputs_and_candidate() -> None:
    seen = observations()
    result = verdict("retrain", ("dataset_drift", True, "retrain"))
    staged = Candidate(version="5", staged=True)
    summary = summarize(seen, JobOptions(MonitoringConfig()), result, staged)
    tags = job_tags(seen, JobOptions(MonitoringConfig(), current="x.csv"), summary)
    assert tags["attrition.decision"] == "retrain"
    assert tags["attrition.exit_code"] == str(EXIT_STAGED)
    assert tags["attrition.current_file"] == "x.csv"
    assert tags["attrition.candidate_version"] == "5"
    assert tags["attrition.window_end"] == UNTIL.isoformat()
    plain = job_tags(
        seen,
        JobOptions(MonitoringConfig()),
        summarize(seen, JobOptions(MonitoringConfig()), verdict("no_action"), None),
    )
    assert "attrition.current_file" not in plain and "attrition.candidate_version" not in plain


def test_metrics_join_drift_performance_and_latency() -> None:
    latency = {
        "requests": 10,
        "overall": {"p50_ms": 2.0, "p95_ms": 4.0, "p99_ms": 9.5, "error_rate": 0.1},
        "by_version": {},
    }
    check = make_drift_check(drifted=("Age",), scores=(0.1, 0.5))
    seen = observations(check, latency=latency, performance=make_performance(matched=12))
    summary = summarize(seen, JobOptions(MonitoringConfig()), verdict("alert"), None)
    metrics = job_metrics(seen, summary)
    assert metrics["exit_code"] == EXIT_ALERT
    assert metrics["drifted_features"] == 1 and metrics["current_rows"] == 2
    assert metrics["matched_outcomes"] == 12
    assert (metrics["latency_p50_ms"], metrics["latency_p99_ms"]) == (2.0, 9.5)
    assert metrics["error_rate"] == 0.1
    quiet = job_metrics(observations(), summary)
    assert "drift_share" not in quiet
    assert quiet["latency_p99_ms"] is None and quiet["error_rate"] is None
