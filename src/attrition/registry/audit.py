"""The registry's memory: audit events and gate reports, stored in MLflow itself.

The events of a version live in one artifact of its training run,
`audit_trail.jsonl` (one JSON event per line), and the version carries one
compact tag, `attrition.audit`, that says how many events there are and what the
last one was; the MLflow UI's version page stays readable. Earlier releases kept
one tag per event (`attrition.audit.<n>`): those are still read, and moved into
the artifact the next time an event is recorded for that version. A version
without a training run keeps the per-event tags. `attrition models describe`
merges every version's events into one trail.

The trail is a hash chain per version (`attrition.registry.chain`): each record
links to the previous one and, for a transition, names the gate report artifact it
relies on and that file's SHA-256; the summary tag anchors the head. A trail
written before chaining is re-chained (its records marked `legacy`) the next time
an event is recorded.

Gate reports go to the version's run as artifacts (`gate_report.json`, the
latest, and `gate_reports/<time>_<stage>.json`, every attempt, which is the
evidence the trail points to) and, for display only, to the version tag
`attrition.gate_report.<stage>`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.registry.chain import (
    GENESIS,
    anchor_text,
    audit_key,
    is_chained,
    seal,
)
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
    gate_report: str | None = None
    gate_report_sha256: str | None = None
    signed_off: list[str] = field(default_factory=list)
    legacy: bool = False
    prev_hash: str | None = None
    hash: str | None = None
    mac: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AuditEvent:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEvent:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def audit_tag(seq: int) -> str:
    """The tag key of the `seq`-th event of a version (zero-padded so keys sort)."""
    return f"{AUDIT_PREFIX}{seq:05d}"


def _is_event_tag(key: str) -> bool:
    return re.fullmatch(re.escape(AUDIT_PREFIX) + r"\d+", key) is not None


def _record(text: str) -> dict[str, Any] | None:
    """One stored record as a dict; None for a line that is not a valid event."""
    try:
        data = json.loads(text)
        AuditEvent.from_dict(data)
    except (ValueError, TypeError, AttributeError):
        return None  # a hand-edited line must not break the trail
    return data if isinstance(data, dict) else None


def _tag_records(tags: dict[str, str]) -> list[dict[str, Any]]:
    """Records kept as one tag each (earlier releases, and versions without a run)."""
    found = [_record(value) for key, value in tags.items() if _is_event_tag(key)]
    return [r for r in found if r is not None]


def _run_of(tags: dict[str, str], run_id: str | None) -> str | None:
    return tags.get("attrition.run_id") or run_id or None


def _run_records(client: MlflowClient, run_id: str) -> list[dict[str, Any]]:
    """Every record in a run's `audit_trail.jsonl` (a run may back versions of several models)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, TRAIL_ARTIFACT, tmp)
        except (MlflowException, OSError):
            return []
        lines = Path(local).read_text(encoding="utf-8").splitlines()
    found = [_record(line) for line in lines if line.strip()]
    return [r for r in found if r is not None]


def _belongs(record: dict[str, Any], name: str, version: str) -> bool:
    return record.get("model") == name and str(record.get("version")) == str(version)


def _artifact_records(
    client: MlflowClient, run_id: str, name: str, version: str
) -> list[dict[str, Any]]:
    """The records of one version in its run's `audit_trail.jsonl`, as stored."""
    return [r for r in _run_records(client, run_id) if _belongs(r, name, version)]


def _seq(record: dict[str, Any]) -> int:
    seq = record.get("seq")
    return seq if isinstance(seq, int) else 0


def version_records(
    client: MlflowClient, name: str, version: str, tags: dict[str, str], run_id: str | None
) -> list[dict[str, Any]]:
    """Every stored record of one version (artifact, then per-event tags), oldest first."""
    run = _run_of(tags, run_id)
    found = _artifact_records(client, run, name, version) if run else []
    seen = {_seq(r) for r in found}
    found += [r for r in _tag_records(tags) if _seq(r) not in seen]
    return sorted(found, key=_seq)


def version_events(
    client: MlflowClient, name: str, version: str, tags: dict[str, str], run_id: str | None
) -> list[AuditEvent]:
    """Every event of one version: its run's artifact and any per-event tags, oldest first."""
    records = version_records(client, name, version, tags, run_id)
    return [AuditEvent.from_dict(r) for r in records]


def summary_tag(events: list[AuditEvent], key: bytes | None = None) -> str:
    """The compact `attrition.audit` tag: the chain's head, the count and the last event."""
    if not events:
        return "no events"
    last = events[-1]
    forced = " forced" if last.forced else ""
    anchor = f"{anchor_text(len(events), last.hash, key)}; " if last.hash else ""
    return (
        f"{anchor}{len(events)} event{'s' if len(events) != 1 else ''}; last {last.at}: "
        f"{last.action}{forced} {last.from_stage}->{last.to_stage} by {last.actor} "
        f"({last.outcome}); full trail in {TRAIL_ARTIFACT}"
    )[:MAX_SUMMARY_CHARS]


def chain_record(records: list[dict[str, Any]], event: AuditEvent, key: bytes | None) -> None:
    """Append `event` to `records` as the next link (in place), re-chaining a legacy trail.

    A trail with no chained record was written before chaining: its records are
    chained now, in order, and marked `legacy`. A partly chained trail is kept as
    stored, so a tampered record stays visible to `verify`.
    """
    if records and not any(is_chained(r) for r in records):
        prev = GENESIS
        for i, old in enumerate(records):
            rebuilt = asdict(AuditEvent.from_dict(old))
            rebuilt["legacy"] = True
            records[i] = seal(rebuilt, prev, key)
            prev = records[i]["hash"]
    event.seq = max((_seq(r) for r in records), default=0) + 1
    chained = [r for r in records if is_chained(r)]
    sealed = seal(asdict(event), str(chained[-1]["hash"]) if chained else GENESIS, key)
    event.prev_hash, event.hash, event.mac = sealed["prev_hash"], sealed["hash"], sealed.get("mac")
    records.append(sealed)


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def append_event(client: MlflowClient, event: AuditEvent) -> AuditEvent:
    """Append `event` to its version's trail and return it with its sequence number and hash.

    Callers hold the registry lock, so reading the trail and writing it back cannot
    interleave with another writer. Per-event tags of earlier releases move into
    the artifact on the way.
    """
    mv = client.get_model_version(event.model, event.version)
    tags = dict(mv.tags or {})
    run = _run_of(tags, mv.run_id)
    records = version_records(client, event.model, event.version, tags, mv.run_id)
    key = audit_key()
    chain_record(records, event, key)
    summary = summary_tag([AuditEvent.from_dict(r) for r in records], key)
    if run is None:
        for record in records:
            tag = audit_tag(_seq(record))
            if tags.get(tag) != _dump(record):
                client.set_model_version_tag(event.model, event.version, tag, _dump(record))
        client.set_model_version_tag(event.model, event.version, SUMMARY_TAG, summary)
        return event
    others = [r for r in _run_records(client, run) if not _belongs(r, event.model, event.version)]
    client.log_text(run, "".join(_dump(r) + "\n" for r in others + records), TRAIL_ARTIFACT)
    client.set_model_version_tag(event.model, event.version, SUMMARY_TAG, summary)
    for tag in tags:
        if _is_event_tag(tag):
            client.delete_model_version_tag(event.model, event.version, tag)
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


def event_for(
    report: GateReport, action: str, outcome: str, evidence: tuple[str | None, str] | None = None
) -> AuditEvent:
    """The audit event of one transition attempt described by its gate report.

    `evidence` is the stored report's (artifact path, SHA-256), from `store_gate_report`.
    """
    path, digest = evidence if evidence is not None else (None, None)
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
        gate_report=path,
        gate_report_sha256=digest,
    )


def _compact(report: GateReport) -> str:
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)
    if len(text) > MAX_TAG_CHARS:
        for result in data["results"]:
            result["message"] = ""
        text = json.dumps(data, allow_nan=False)
    return text


def store_gate_report(
    client: MlflowClient, run_id: str | None, report: GateReport
) -> tuple[str | None, str]:
    """Log the report to the version's run (latest + history) and tag the version with it.

    Logging by run id works on finished runs, so the training run keeps every attempt.
    Returns the history artifact's path (None without a run) and the SHA-256 of its
    bytes, for the audit record that relies on it. The tags are for display only.
    """
    name, version, stage = report.model_name, report.version, report.target_stage
    data = report.to_dict()
    body = json.dumps(data, indent=2, allow_nan=False).encode("utf-8")
    artifact = None
    if run_id:
        stamp = re.sub(r"[^0-9T]", "", report.timestamp.split("+")[0])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{stamp}_{stage}.json"
            path.write_bytes(body)
            client.log_artifact(run_id, str(path), artifact_path="gate_reports")
        artifact = f"gate_reports/{path.name}"
        client.log_dict(run_id, data, "gate_report.json")
    client.set_model_version_tag(name, version, GATE_REPORT_TAG + stage, _compact(report))
    if stage == "Staging":
        client.set_model_version_tag(name, version, STAGE_GATE_TAG, report.outcome)
    elif stage == "Production":
        client.set_model_version_tag(name, version, PRODUCTION_GATE_TAG, report.outcome)
    refresh_description(client, name, version)
    return artifact, hashlib.sha256(body).hexdigest()


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
