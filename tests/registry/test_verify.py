"""The verification core on plain data: chains, gate report hashes, stages, aliases, tags."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from attrition.registry.audit import AuditEvent, chain_record, summary_tag
from attrition.registry.chain import chain_problems, parse_anchor, record_hash
from attrition.registry.verify import (
    GateArtifact,
    VersionFacts,
    check_model,
    check_version,
)

Records = list[dict[str, Any]]


def report(
    stage: str,
    version: str = "1",
    outcome: str = "passed",
    reason: str | None = None,
    model: str = "m",
):
    """A stored gate report: its artifact path and what `verify` reads of it."""
    data = {
        "target_stage": stage,
        "version": version,
        "outcome": outcome,
        "reason": reason,
        "model_name": model,
    }
    body = json.dumps(data, indent=2).encode()
    path = f"gate_reports/{model}_{stage}_{outcome}_{reason}.json"
    return path, GateArtifact(hashlib.sha256(body).hexdigest(), data)


def move(stage: str, frm: str, artifact: tuple[str, GateArtifact] | None, **kw: Any) -> AuditEvent:
    path, art = artifact if artifact else (None, None)
    return AuditEvent(
        model="m",
        version=kw.pop("version", "1"),
        action=kw.pop("action", "transition"),
        from_stage=frm,
        to_stage=stage,
        actor="ann",
        gate_report=path,
        gate_report_sha256=art.sha256 if art else None,
        **kw,
    )


STAGING = report("Staging")
PRODUCTION = report("Production")
FORCED = report("Production", outcome="forced", reason="pilot")
FORCED_NO_REASON = report("Production", outcome="forced", reason=" ")
FAILED = report("Staging", outcome="failed")
OTHER_MODEL = report("Staging", model="other")
REPORTS = dict([STAGING, PRODUCTION, FORCED, FORCED_NO_REASON, FAILED, OTHER_MODEL])


def chained(events: list[AuditEvent], key: bytes | None = None) -> Records:
    records: Records = []
    for event in events:
        chain_record(records, event, key)
    return records


def facts(
    stage: str,
    records: Records,
    aliases: tuple[str, ...] = (),
    tags: dict[str, str] | None = None,
    key: bytes | None = None,
    version: str = "1",
) -> VersionFacts:
    summary = summary_tag([AuditEvent.from_dict(r) for r in records], key)
    return VersionFacts(
        version,
        stage,
        list(aliases),
        {"attrition.audit": summary, **(tags or {})},
        records,
        REPORTS,
    )


def production_trail() -> Records:
    review = move("Staging", "Staging", None, action="review:approved", outcome="recorded")
    return chained(
        [move("Staging", "None", STAGING), review, move("Production", "Staging", PRODUCTION)]
    )


def _edit(records: Records) -> None:
    records[0]["reason"] = "rewritten"


def _drop_middle(records: Records) -> None:
    del records[1]


def _insert(records: Records) -> None:
    fake = copy.deepcopy(records[0])
    fake["seq"], fake["to_stage"] = 2, "Staging"
    fake["hash"] = record_hash(fake)
    records.insert(1, fake)
    for i, record in enumerate(records, start=1):
        record["seq"] = i


@pytest.mark.parametrize(
    ("stage", "events", "aliases", "expected"),
    [
        ("Staging", [move("Staging", "None", STAGING)], ("challenger",), None),
        (
            "Production",
            [move("Staging", "None", STAGING), move("Production", "Staging", FORCED)],
            ("champion",),
            None,
        ),
        (
            "Production",
            [move("Staging", "None", STAGING), move("Production", "Staging", FORCED_NO_REASON)],
            ("champion",),
            "Production is not backed: its gate record is forced",
        ),
        (
            "Production",
            [move("Staging", "None", STAGING)],
            ("champion",),
            "stage Production is not backed by an applied audit record",
        ),
        ("None", [], ("champion",), "@champion is on it but it is in None"),
        (
            "Production",
            [
                move("Staging", "None", STAGING),
                move("Production", "Staging", PRODUCTION, outcome="refused"),
            ],
            (),
            "stage Production is not backed",
        ),
        (
            "Staging",
            [move("Staging", "None", STAGING, version="2")],
            (),
            "its gate report is for another transition",
        ),
        (
            "Production",
            [
                move("Staging", "None", STAGING),
                move("Production", "Staging", PRODUCTION),
                move("Archived", "Production", None, action="archive"),
                move("Production", "Archived", None, action="rollback"),
            ],
            ("champion",),
            None,
        ),
        (
            "Production",
            [
                move("Staging", "None", STAGING),
                move("Production", "Staging", None, action="rollback"),
            ],
            (),
            "restores a version never gated into Production",
        ),
        ("Archived", [move("Staging", "None", STAGING)], (), "stage Archived is not backed"),
        ("Staging", [move("Staging", "None", OTHER_MODEL)], (), "for another transition"),
    ],
    ids=[
        "staging-passed",
        "production-forced-with-reason",
        "forced-without-reason",
        "production-without-record",
        "champion-alias-on-ungated",
        "refused-is-not-applied",
        "report-of-another-version",
        "rollback-of-gated",
        "rollback-of-never-gated",
        "archived-by-hand",
        "report-of-another-model",
    ],
)
def test_stage_and_alias_backing(
    stage: str, events: list[AuditEvent], aliases: tuple[str, ...], expected: str | None
) -> None:
    verdict = check_version(facts(stage, chained(copy.deepcopy(events)), aliases))
    if expected is None:
        assert verdict.verified, verdict.findings
    else:
        assert any(expected in f for f in verdict.findings), verdict.findings


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_edit, "record 1 was edited"),
        (_drop_middle, "missing from the trail"),
        (lambda r: r.pop(), "the summary tag names 3 records"),
        (_insert, "does not follow the previous one"),
        (lambda r: r.__setitem__(0, {**r[0], "hash": None}), "unchained amid chained"),
    ],
    ids=["edited", "deleted-middle", "deleted-last", "inserted", "unchained-insert"],
)
def test_a_tampered_chain_is_named(tamper: Callable[[Records], None], expected: str) -> None:
    records = production_trail()
    summary = facts("Production", records, ("champion",)).tags["attrition.audit"]
    tamper(records)
    verdict = check_version(
        VersionFacts(
            "1", "Production", ["champion"], {"attrition.audit": summary}, records, REPORTS
        )
    )
    assert any(expected in f for f in verdict.findings), verdict.findings


def test_a_deleted_or_hand_written_summary_tag_is_named() -> None:
    records = production_trail()
    for summary in (None, "3 events; last ...", f"chain 3 head {'a' * 64}"):
        tags = {} if summary is None else {"attrition.audit": summary}
        found = check_version(VersionFacts("1", "Production", [], tags, records, REPORTS))
        assert not found.verified and "summary tag" in found.findings[0]


@pytest.mark.parametrize(
    ("reports", "expected"),
    [
        ({STAGING[0]: STAGING[1]}, "its gate report is missing"),
        (
            {**REPORTS, PRODUCTION[0]: GateArtifact("0" * 64, PRODUCTION[1].data)},
            "was changed (hash mismatch)",
        ),
    ],
    ids=["missing", "changed"],
)
def test_a_gate_report_must_match_its_hash(reports: dict[str, GateArtifact], expected: str) -> None:
    base = facts("Production", production_trail(), ("champion",))
    base.reports = reports
    verdict = check_version(base)
    assert any(expected in f for f in verdict.findings), verdict.findings


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"attrition.stage_gate": "passed"}, None),
        ({"attrition.stage_gate": "failed"}, "tag attrition.stage_gate=failed contradicts"),
        ({"attrition.production_gate": "passed"}, None),
        ({"attrition.review": "approved"}, None),
        ({"attrition.review": "rejected"}, "tag attrition.review=rejected contradicts"),
        ({"attrition.signoff.fairness.x": "{}"}, "has no sign-off record"),
    ],
)
def test_status_tags_must_agree_with_the_trail(tags: dict[str, str], expected: str | None) -> None:
    verdict = check_version(facts("Production", production_trail(), ("champion",), tags))
    if expected is None:
        assert verdict.verified, verdict.findings
    else:
        assert any(expected in f for f in verdict.findings), verdict.findings


def test_a_hand_set_stage_gate_on_a_failed_version_is_named() -> None:
    records = chained([move("Staging", "None", FAILED, outcome="refused")])
    verdict = check_version(facts("None", records, (), {"attrition.stage_gate": "passed"}))
    assert verdict.findings == [
        "tag attrition.stage_gate=passed contradicts the trail (its last Staging gate "
        "record: failed)"
    ]


def legacy(*events: AuditEvent) -> Records:
    records = []
    for seq, event in enumerate(events, start=1):
        event.seq = seq
        event.gate_report = event.gate_report_sha256 = None
        event.gates = "9/9 gates passed (passed)"
        records.append({k: v for k, v in json.loads(event.to_json()).items() if k != "hash"})
    return records


def test_a_legacy_trail_is_reported_as_such_and_backs_only_with_a_stored_report() -> None:
    events = [move("Staging", "None", None), move("Production", "Staging", None)]
    records = legacy(*copy.deepcopy(events))
    tags = {"attrition.audit": "2 events; last ..."}
    backed = check_version(VersionFacts("1", "Production", ["champion"], tags, records, REPORTS))
    assert backed.verified and backed.notes == ["legacy, unchained (re-chained at its next event)"]
    unbacked = check_version(VersionFacts("1", "Production", ["champion"], tags, records, {}))
    assert not unbacked.verified
    assert "legacy record 2 has no passing Production gate report" in unbacked.findings[0]
    gap = check_version(VersionFacts("1", "Production", [], tags, records[1:], REPORTS))
    assert "record(s) 1 missing from the trail (deleted)" in gap.findings


def test_migration_rechains_a_legacy_trail_and_marks_it() -> None:
    records = legacy(move("Staging", "None", None))
    chain_record(records, move("Production", "Staging", PRODUCTION), None)
    assert records[0]["legacy"] is True and records[1]["prev_hash"] == records[0]["hash"]
    verdict = check_version(facts("Production", records, ("champion",)))
    assert verdict.verified, verdict.findings


def test_with_a_key_a_recomputed_chain_is_detected() -> None:
    key = b"secret"
    events = [move("Staging", "None", STAGING), move("Production", "Staging", PRODUCTION)]
    signed = chained(copy.deepcopy(events), key)
    assert check_version(facts("Production", signed, ("champion",), key=key), key).verified
    forged = chained(copy.deepcopy(events), None)  # rewritten by someone without the key
    verdict = check_version(facts("Production", forged, ("champion",)), key)
    assert "the last record carries no MAC although a key is set" in verdict.findings
    wrong = chained(copy.deepcopy(events), b"guess")
    verdict = check_version(facts("Production", wrong, ("champion",), key=b"guess"), key)
    assert any("invalid MAC" in f for f in verdict.findings)
    assert any("summary tag's MAC" in f for f in verdict.findings)


def test_without_a_key_a_recomputed_chain_is_not_detectable() -> None:
    """The documented limit: hashing alone cannot tell a consistent rewrite."""
    records = production_trail()
    records[0]["reason"] = "rewritten"
    rebuilt = chained([AuditEvent.from_dict(r) for r in records])
    assert check_version(facts("Production", rebuilt, ("champion",))).verified


def test_anchor_round_trip_and_absence() -> None:
    records = production_trail()
    summary = summary_tag([AuditEvent.from_dict(r) for r in records])
    anchor = parse_anchor(summary)
    assert anchor is not None and (anchor.count, anchor.head) == (3, records[-1]["hash"])
    assert parse_anchor("2 events; last ...") is None
    assert chain_problems(records, anchor, None) == []


def test_model_findings_two_production_versions_and_a_stray_champion() -> None:
    good = facts("Production", production_trail())
    stray = facts("Production", [], ("champion",), version="2")
    verdict = check_model("m", [good, stray])
    assert verdict.findings == [
        "2 Production versions: 1, 2",
    ]
    assert not verdict.clean and not verdict.versions["2"].verified
    assert verdict.versions["1"].verified
    archived = facts("Archived", [], ("champion",), version="3")
    verdict = check_model("m", [good, archived])
    assert "@champion is on version 3, not on the Production version 1" in verdict.findings
    assert verdict.problems()[0].startswith("model m: @champion is on version 3")
