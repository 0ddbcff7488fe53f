"""What `models describe` shows, decided from version rows and audit events alone."""

from __future__ import annotations

import json

from attrition.registry.audit import GATE_REPORT_TAG, AuditEvent
from attrition.registry.gates import GateReport, GateResult
from attrition.registry.overview import FailingGate, summarise, trail_entry
from attrition.registry.versions import VersionRow


def make_row(version: str, reports: list[GateReport] = ()) -> VersionRow:
    tags = {GATE_REPORT_TAG + r.target_stage: json.dumps(r.to_dict()) for r in reports}
    return VersionRow(version, "Staging", [], 0, None, None, tags)


def make_report(stage: str, results: list[GateResult], forced: bool = False) -> GateReport:
    passed = all(r.passed is not False for r in results)
    return GateReport(stage, "1", results, passed, forced=forced, timestamp="2025-03-01T10:00:00")


ACCURACY_LOW = GateResult("performance.accuracy", 0.81, 0.85, ">", False, "misses")
ROC_OK = GateResult("performance.roc_auc", 0.9, 0.85, ">", True, "meets")
INFO_ONLY = GateResult("fairness.small_groups", "AgeBand 18-25", None, None, None, "reported")


def test_gate_attempts_count_only_gated_results_and_list_the_failing_ones() -> None:
    row = make_row(
        "3",
        [
            make_report("Staging", [ACCURACY_LOW, ROC_OK, INFO_ONLY], forced=True),
            make_report("Production", [ROC_OK]),
        ],
    )

    overview = summarise("m", [row], [])

    production, staging = overview.gates  # target stages in name order
    assert (staging.version, staging.stage, staging.outcome) == ("3", "Staging", "forced")
    assert (staging.passed, staging.gated) == (1, 2)
    assert staging.failing == [FailingGate("performance.accuracy", 0.81, ">", 0.85)]
    assert staging.at == "2025-03-01T10:00:00"
    assert (production.stage, production.outcome, production.passed, production.gated) == (
        "Production",
        "passed",
        1,
        1,
    )
    assert production.failing == []


def test_versions_without_gate_reports_have_no_attempts_and_are_kept_in_order() -> None:
    rows = [make_row("1"), make_row("2", [make_report("Staging", [ROC_OK])])]
    overview = summarise("m", rows, [])
    assert [row.version for row in overview.versions] == ["1", "2"]
    assert [(a.version, a.stage) for a in overview.gates] == [("2", "Staging")]


def test_an_unreadable_gate_tag_is_skipped() -> None:
    row = VersionRow("1", "None", [], 0, None, None, {GATE_REPORT_TAG + "Staging": "{not json"})
    assert summarise("m", [row], []).gates == []


def event(**changes: object) -> AuditEvent:
    base = AuditEvent(
        model="m",
        version="2",
        action="transition",
        from_stage="Staging",
        to_stage="Production",
        actor="ana",
        at="2025-03-02T09:00:00",
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_trail_entry_says_who_moved_what_where() -> None:
    entry = trail_entry(event(reason="quarterly retrain"))
    assert (entry.at, entry.actor, entry.version) == ("2025-03-02T09:00:00", "ana", "2")
    assert entry.change == "transition: Staging -> Production"
    assert (entry.outcome, entry.reason) == ("applied", "quarterly retrain")


def test_trail_entry_notes_an_override_and_the_gate_count_once() -> None:
    entry = trail_entry(event(outcome="applied", forced=True, gates="8/9 gates passed (forced)"))
    assert entry.outcome == "applied (forced); 8/9 gates passed"
    assert trail_entry(event(reason=None)).reason == ""


def test_summarise_keeps_the_trail_in_the_order_given() -> None:
    events = [event(version="1"), event(version="2", action="rollback")]
    trail = summarise("m", [], events).trail
    assert [(e.version, e.change.split(":")[0]) for e in trail] == [
        ("1", "transition"),
        ("2", "rollback"),
    ]
