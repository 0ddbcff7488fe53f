"""Is the registry's state backed by the audit trail? Findings per version, from plain data.

Pure: the facts of each version (stage, aliases, tags, its trail records and the
gate report artifacts they point to) come from `attrition.registry.governance`,
which reads them from MLflow. A version is verified when:

* its trail is an intact hash chain matching the summary tag's anchor
  (`attrition.registry.chain`), and every gate report a record names still has
  the SHA-256 the record holds;
* its stage is where its last applied audit record left it, and a Staging or
  Production stage was entered through an applied transition whose gate report
  passed or was forced with a reason (or, for Production, a rollback to a version
  that once entered Production that way);
* `@champion` is on it only while it is in Production, `@challenger` only in Staging;
* its status tags (`attrition.stage_gate`, `attrition.production_gate`,
  `attrition.review`, `attrition.signoff.*`) say what its trail says.

Across versions: at most one Production version, and `@champion` on it.
A trail written before hashing is "legacy, unchained" (a note, not a finding),
but its records back nothing without a passing gate report artifact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from attrition.registry.audit import (
    PRODUCTION_GATE_TAG,
    STAGE_GATE_TAG,
    SUMMARY_TAG,
    AuditEvent,
)
from attrition.registry.chain import chain_problems, is_chained, parse_anchor
from attrition.registry.signoffs import SIGNOFF_PREFIX
from attrition.registry.versions import REVIEW_TAG

BACKED_OUTCOMES = ("passed", "forced")
STATUS_TAGS = {"Staging": STAGE_GATE_TAG, "Production": PRODUCTION_GATE_TAG}
REVIEW_ACTIONS = ("review:approved", "review:rejected")
_LEGACY_OUTCOME = re.compile(r"\((passed|forced|failed)\)\s*$")
_LEGACY_SIGNOFF = re.compile(r"accepted inconclusive (.+?) \(")


@dataclass(frozen=True)
class GateArtifact:
    """One gate report file as read: the SHA-256 of its bytes and its parsed content."""

    sha256: str
    data: Mapping[str, Any]


@dataclass
class VersionFacts:
    """What the registry and the run hold about one version."""

    version: str
    stage: str
    aliases: list[str]
    tags: dict[str, str]
    records: list[dict[str, Any]]
    reports: dict[str, GateArtifact] = field(default_factory=dict)


@dataclass
class VersionVerdict:
    """The findings (failures) and notes (information) about one version."""

    version: str
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        """`verified` or the first finding; notes follow in brackets."""
        text = "verified" if self.verified else "; ".join(self.findings)
        return f"{text} [{'; '.join(self.notes)}]" if self.notes else text


@dataclass
class ModelVerdict:
    """Every version's verdict and the findings that span versions."""

    name: str
    versions: dict[str, VersionVerdict]
    findings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings and all(v.verified for v in self.versions.values())

    def problems(self) -> list[str]:
        """Every finding as one line naming its version."""
        lines = [f"model {self.name}: {f}" for f in self.findings]
        for number, verdict in sorted(self.versions.items(), key=lambda kv: int(kv[0])):
            lines += [f"version {number}: {f}" for f in verdict.findings]
        return lines


def events_of(records: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
    return [AuditEvent.from_dict(dict(r)) for r in records]


def report_problem(event: AuditEvent, reports: Mapping[str, GateArtifact]) -> str | None:
    """Why the gate report a hashed record names does not check out; None when it does."""
    if not event.gate_report_sha256:
        return None
    found = reports.get(event.gate_report or "")
    if found is None:
        where = event.gate_report or "no artifact (the version has no run)"
        return f"record {event.seq}: its gate report is missing ({where})"
    if found.sha256 != event.gate_report_sha256:
        return f"record {event.seq}: gate report {event.gate_report} was changed (hash mismatch)"
    return None


def _acceptable(data: Mapping[str, Any], stage: str, event: AuditEvent) -> str | None:
    """Why a gate report does not back `event` entering `stage`; None when it does."""
    same = data.get("target_stage") == stage and str(data.get("version")) == str(event.version)
    if not same or data.get("model_name", event.model) != event.model:
        return "its gate report is for another transition"
    outcome = data.get("outcome")
    if outcome == "passed":
        return None
    if outcome == "forced" and str(data.get("reason") or "").strip():
        return None
    return f"its gate record is {outcome or 'missing'}"


def gate_backing(
    event: AuditEvent, reports: Mapping[str, GateArtifact], stage: str
) -> tuple[str | None, str | None]:
    """(why the applied transition `event` does not back `stage` or None, its gate outcome).

    A hashed record is judged by the report it names. A legacy record has no hash:
    it backs the stage only when some stored gate report for that stage passed (or
    was forced with a reason), so a legacy trail cannot vouch for a never-gated version.
    """
    if event.gate_report_sha256:
        problem = report_problem(event, reports)
        if problem is not None:
            return problem, None
        data = reports[event.gate_report or ""].data
        return _acceptable(data, stage, event), str(data.get("outcome"))
    for artifact in reports.values():
        if _acceptable(artifact.data, stage, event) is None:
            return None, str(artifact.data.get("outcome"))
    return f"legacy record {event.seq} has no passing {stage} gate report to rely on", None


@dataclass
class TrailState:
    """What a version's trail says: its stage, how each stage was entered, review, sign-offs."""

    stage: str = "None"
    entered: dict[str, str | None] = field(default_factory=dict)  # stage -> why not backed
    gate_outcome: dict[str, str | None] = field(default_factory=dict)  # stage -> last outcome
    review: AuditEvent | None = None
    signoffs: dict[str, AuditEvent] = field(default_factory=dict)


def trail_state(
    events: Sequence[AuditEvent], reports: Mapping[str, GateArtifact], version: str
) -> TrailState:
    """Replay a version's events into the state they justify."""
    state = TrailState()
    production_backed = False
    for event in events:
        if event.action == "transition" and event.to_stage in STATUS_TAGS:
            state.gate_outcome[event.to_stage] = _outcome(event, reports)
        if event.action in REVIEW_ACTIONS:
            state.review = event
        if event.action == "review:signoff":
            state.signoffs.update({gate: event for gate in signed_off(event)})
        if event.outcome != "applied":
            continue
        if event.action in ("transition", "archive"):
            state.stage = event.to_stage
            if event.action == "transition" and event.to_stage in STATUS_TAGS:
                why, _ = gate_backing(event, reports, event.to_stage)
                state.entered[event.to_stage] = why
                production_backed |= event.to_stage == "Production" and why is None
        elif event.action == "rollback":
            state.stage = "Production"
            state.entered["Production"] = (
                None
                if production_backed
                else f"rollback record {event.seq} restores a version never gated into Production"
            )
    return state


def signed_off(event: AuditEvent) -> list[str]:
    """The gates a sign-off record names (older records only say so in their reason)."""
    if event.signed_off:
        return list(event.signed_off)
    match = _LEGACY_SIGNOFF.match(event.reason or "")
    return [g.strip() for g in match.group(1).split(",")] if match else []


def _outcome(event: AuditEvent, reports: Mapping[str, GateArtifact]) -> str | None:
    if event.gate_report_sha256:
        found = reports.get(event.gate_report or "")
        ok = found is not None and found.sha256 == event.gate_report_sha256
        return str(found.data.get("outcome")) if ok and found is not None else None
    match = _LEGACY_OUTCOME.search(event.gates or "")
    if match:
        return match.group(1)
    return "passed" if event.outcome == "applied" and not event.forced else None


def check_version(facts: VersionFacts, key: bytes | None = None) -> VersionVerdict:
    """Every finding about one version (see the module docstring for what is checked)."""
    verdict = VersionVerdict(facts.version)
    records = facts.records
    events = events_of(records)
    anchor = parse_anchor(facts.tags.get(SUMMARY_TAG))
    verdict.findings += chain_problems(records, anchor, key)
    if records and not any(is_chained(r) for r in records):
        verdict.notes.append("legacy, unchained (re-chained at its next event)")
    verdict.findings += [p for e in events if (p := report_problem(e, facts.reports))]
    state = trail_state(events, facts.reports, facts.version)
    verdict.findings += _stage_findings(facts, state)
    verdict.findings += _tag_findings(facts.tags, state)
    return verdict


def _stage_findings(facts: VersionFacts, state: TrailState) -> list[str]:
    found = []
    stage = facts.stage or "None"
    if stage != state.stage:
        found.append(
            f"stage {stage} is not backed by an applied audit record "
            f"(the trail leaves it in {state.stage})"
        )
    elif stage in STATUS_TAGS and state.entered.get(stage):
        found.append(f"{stage} is not backed: {state.entered[stage]}")
    if "champion" in facts.aliases and stage != "Production":
        found.append(
            f"@champion is on it but it is in {stage}, without an applied Production "
            "transition or rollback"
        )
    if "challenger" in facts.aliases and stage != "Staging":
        found.append(f"@challenger is on it but it is in {stage}")
    return found


def _tag_findings(tags: Mapping[str, str], state: TrailState) -> list[str]:
    found = []
    for stage, tag in STATUS_TAGS.items():
        value, record = tags.get(tag), state.gate_outcome.get(stage)
        if value is not None and value != record:
            found.append(
                f"tag {tag}={value} contradicts the trail (its last {stage} gate record: "
                f"{record or 'none'})"
            )
    decision = state.review.action.removeprefix("review:") if state.review else None
    if tags.get(REVIEW_TAG) is not None and tags.get(REVIEW_TAG) != decision:
        found.append(
            f"tag {REVIEW_TAG}={tags[REVIEW_TAG]} contradicts the trail "
            f"(recorded review: {decision or 'none'})"
        )
    for key in tags:
        gate = key.removeprefix(SIGNOFF_PREFIX)
        if key.startswith(SIGNOFF_PREFIX) and gate not in state.signoffs:
            found.append(f"tag {key} has no sign-off record in the trail")
    return found


def check_model(name: str, facts: Sequence[VersionFacts], key: bytes | None = None) -> ModelVerdict:
    """Every version's verdict plus the cross-version findings."""
    verdict = ModelVerdict(name, {f.version: check_version(f, key) for f in facts})
    production = [f.version for f in facts if f.stage == "Production"]
    if len(production) > 1:
        verdict.findings.append(f"{len(production)} Production versions: {', '.join(production)}")
    champion = [f.version for f in facts if "champion" in f.aliases]
    if champion and production and champion[0] not in production:
        verdict.findings.append(
            f"@champion is on version {champion[0]}, not on the Production version "
            f"{', '.join(production)}"
        )
    return verdict
