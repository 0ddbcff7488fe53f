"""The registry's memory: audit events and gate reports, stored in MLflow itself.

The events of a version live in one artifact of its training run,
`audit_trail.jsonl` (one JSON event per line), and the version carries one
compact tag, `attrition.audit`, that says how many events there are and what the
last one was; the MLflow UI's version page stays readable. Earlier releases kept
one tag per event (`attrition.audit.<n>`): those are still read, and moved into
the artifact the next time an event is recorded for that version. A version
without a training run keeps the per-event tags. `attrition models describe`
merges every version's events into one trail.

Gate reports go to the version's run as artifacts (`gate_report.json`, the
latest, and `gate_reports/<time>_<stage>.json`, every attempt) and, compactly,
to the version tag `attrition.gate_report.<stage>`.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.registry.descriptions import refresh_description
from attrition.registry.gates import GateReport, utc_now

AUDIT_PREFIX = "attrition.audit."
SUMMARY_TAG = "attrition.audit"
TRAIL_ARTIFACT = "audit_trail.jsonl"
MAX_SUMMARY_CHARS = 500
GATE_REPORT_TAG = "attrition.gate_report."
STAGE_GATE_TAG = "attrition.stage_gate"
PRODUCTION_GATE_TAG = "attrition.production_gate"
MAX_TAG_CHARS = 90_000


@dataclass
class AuditEvent:
    """One decision about one version: who, when, from, to, why, and the gates' verdict."""

    model: str
    version: str
    action: str
    from_stage: str
    to_stage: str
    actor: str
    reason: str | None = None
    outcome: str = "applied"
    forced: bool = False
    gates: str | None = None
    failed_gates: list[str] = field(default_factory=list)
    at: str = field(default_factory=utc_now)
    seq: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AuditEvent:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def audit_tag(seq: int) -> str:
    """The tag key of the `seq`-th event of a version (zero-padded so keys sort)."""
    return f"{AUDIT_PREFIX}{seq:05d}"


def _events_in(tags: dict[str, str]) -> list[AuditEvent]:
    """Events kept as one tag each (earlier releases, and versions without a run)."""
    events = []
    for key, value in tags.items():
        if not re.fullmatch(re.escape(AUDIT_PREFIX) + r"\d+", key):
            continue
        try:
            events.append(AuditEvent.from_json(value))
        except (ValueError, TypeError):
            continue  # a hand-edited tag must not break the trail
    return events


def _run_of(tags: dict[str, str], run_id: str | None) -> str | None:
    return tags.get("attrition.run_id") or run_id or None


def _artifact_events(
    client: MlflowClient, run_id: str, name: str, version: str
) -> list[AuditEvent]:
    """The events of one version recorded in its run's `audit_trail.jsonl`."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, TRAIL_ARTIFACT, tmp)
        except (MlflowException, OSError):
            return []
        lines = Path(local).read_text(encoding="utf-8").splitlines()
    events = []
    for line in lines:
        try:
            event = AuditEvent.from_json(line)
        except (ValueError, TypeError):
            continue
        if event.model == name and str(event.version) == str(version):
            events.append(event)
    return events


def version_events(
    client: MlflowClient, name: str, version: str, tags: dict[str, str], run_id: str | None
) -> list[AuditEvent]:
    """Every event of one version: its run's artifact and any per-event tags, oldest first."""
    run = _run_of(tags, run_id)
    found = _artifact_events(client, run, name, version) if run else []
    seen = {event.seq for event in found}
    found += [event for event in _events_in(tags) if event.seq not in seen]
    return sorted(found, key=lambda e: e.seq)


def summary_tag(events: list[AuditEvent]) -> str:
    """The compact `attrition.audit` tag: the count and the last event in a few words."""
    if not events:
        return "no events"
    last = events[-1]
    forced = " forced" if last.forced else ""
    return (
        f"{len(events)} event{'s' if len(events) != 1 else ''}; last {last.at}: {last.action}"
        f"{forced} {last.from_stage}->{last.to_stage} by {last.actor} ({last.outcome}); "
        f"full trail in {TRAIL_ARTIFACT}"
    )[:MAX_SUMMARY_CHARS]


def append_event(client: MlflowClient, event: AuditEvent) -> AuditEvent:
    """Append `event` to its version's trail and return it with its sequence number.

    Callers hold the registry lock, so reading the trail and writing it back cannot
    interleave with another writer. Per-event tags of earlier releases move into
    the artifact on the way.
    """
    mv = client.get_model_version(event.model, event.version)
    tags = dict(mv.tags or {})
    run = _run_of(tags, mv.run_id)
    events = version_events(client, event.model, event.version, tags, mv.run_id)
    event.seq = max((e.seq for e in events), default=0) + 1
    events.append(event)
    if run is None:
        client.set_model_version_tag(
            event.model, event.version, audit_tag(event.seq), event.to_json()
        )
        return event
    text = "".join(e.to_json() + "\n" for e in events)
    client.log_text(run, text, TRAIL_ARTIFACT)
    client.set_model_version_tag(event.model, event.version, SUMMARY_TAG, summary_tag(events))
    for key in tags:
        if re.fullmatch(re.escape(AUDIT_PREFIX) + r"\d+", key):
            client.delete_model_version_tag(event.model, event.version, key)
    return event


def read_trail(client: MlflowClient, name: str) -> list[AuditEvent]:
    """Every recorded event of every version of model `name`, oldest first."""
    versions = client.search_model_versions(f"name='{name}'")
    events = [
        e
        for mv in versions
        for e in version_events(client, name, str(mv.version), dict(mv.tags), mv.run_id)
    ]
    return sorted(events, key=lambda e: (e.at, int(e.version), e.seq))


def event_for(report: GateReport, action: str, outcome: str) -> AuditEvent:
    """The audit event of one transition attempt described by its gate report."""
    return AuditEvent(
        model=report.model_name,
        version=report.version,
        action=action,
        from_stage=report.from_stage,
        to_stage=report.target_stage,
        actor=report.actor,
        reason=report.reason,
        outcome=outcome,
        forced=report.forced,
        gates=f"{report.summary()} ({report.outcome})" if report.results else None,
        failed_gates=[r.name for r in report.failures],
    )


def _compact(report: GateReport) -> str:
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)
    if len(text) > MAX_TAG_CHARS:
        for result in data["results"]:
            result["message"] = ""
        text = json.dumps(data, allow_nan=False)
    return text


def store_gate_report(client: MlflowClient, run_id: str | None, report: GateReport) -> None:
    """Log the report to the version's run (latest + history) and tag the version with it.

    Logging by run id works on finished runs, so the training run keeps every attempt.
    """
    name, version, stage = report.model_name, report.version, report.target_stage
    data = report.to_dict()
    if run_id:
        stamp = re.sub(r"[^0-9T]", "", report.timestamp.split("+")[0])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{stamp}_{stage}.json"
            path.write_text(json.dumps(data, indent=2, allow_nan=False), encoding="utf-8")
            client.log_artifact(run_id, str(path), artifact_path="gate_reports")
        client.log_dict(run_id, data, "gate_report.json")
    client.set_model_version_tag(name, version, GATE_REPORT_TAG + stage, _compact(report))
    if stage == "Staging":
        client.set_model_version_tag(name, version, STAGE_GATE_TAG, report.outcome)
    elif stage == "Production":
        client.set_model_version_tag(name, version, PRODUCTION_GATE_TAG, report.outcome)
    refresh_description(client, name, version)


def latest_gate_reports(tags: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The latest stored gate report per target stage, from a version's tags."""
    reports: dict[str, dict[str, Any]] = {}
    for key, value in tags.items():
        if key.startswith(GATE_REPORT_TAG):
            try:
                reports[key.removeprefix(GATE_REPORT_TAG)] = json.loads(value)
            except ValueError:
                continue
    return reports
