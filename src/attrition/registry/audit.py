"""The registry's memory: audit events and gate reports, stored in MLflow itself.

Each event is its own model-version tag `attrition.audit.<n>` (JSON) on the
version it concerns. Registered-model tags are limited to 5,000 characters in
MLflow's SQL schema, so a growing list there would break; version tag values
are TEXT (validated up to 100,000 characters) and one event is a few hundred.
The tags survive with the registry (SQLite or PostgreSQL), show in the MLflow UI
on the version page, and `attrition models describe` merges them into one trail.

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

from mlflow.tracking import MlflowClient

from attrition.registry.descriptions import refresh_description
from attrition.registry.gates import GateReport, utc_now

AUDIT_PREFIX = "attrition.audit."
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
    events = []
    for key, value in tags.items():
        if not re.fullmatch(re.escape(AUDIT_PREFIX) + r"\d+", key):
            continue
        try:
            events.append(AuditEvent.from_json(value))
        except (ValueError, TypeError):
            continue  # a hand-edited tag must not break the trail
    return events


def append_event(client: MlflowClient, event: AuditEvent) -> AuditEvent:
    """Append `event` to its version's trail and return it with its sequence number.

    Callers hold the registry lock, so reading the count and writing the next tag
    cannot interleave with another writer.
    """
    tags = client.get_model_version(event.model, event.version).tags
    event.seq = max((e.seq for e in _events_in(tags)), default=0) + 1
    client.set_model_version_tag(event.model, event.version, audit_tag(event.seq), event.to_json())
    return event


def read_trail(client: MlflowClient, name: str) -> list[AuditEvent]:
    """Every recorded event of every version of model `name`, oldest first."""
    versions = client.search_model_versions(f"name='{name}'")
    events = [e for mv in versions for e in _events_in(dict(mv.tags))]
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
