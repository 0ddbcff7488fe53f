"""One model's registry record in summary: versions, latest gate results, audit trail.

`summarise` is the pure part (tested directly): it turns version rows and audit
events into what `attrition models describe` shows. `model_overview` reads them
from the registry first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlflow.tracking import MlflowClient

from attrition.registry.audit import AuditEvent, latest_gate_reports, read_trail
from attrition.registry.versions import VersionRow, version_rows


@dataclass(frozen=True)
class FailingGate:
    """One gate that failed: its value against the threshold it needed."""

    name: str
    value: Any
    comparison: str | None
    threshold: Any


@dataclass(frozen=True)
class GateAttempt:
    """The latest gate report of one version for one target stage."""

    version: str
    stage: str
    at: str | None
    outcome: str
    passed: int
    gated: int
    failing: list[FailingGate]


@dataclass(frozen=True)
class TrailEntry:
    """One audit event as a line of the trail: who moved what where, the outcome and why."""

    at: str
    actor: str
    version: str
    change: str
    outcome: str
    reason: str


@dataclass(frozen=True)
class ModelOverview:
    """What `models describe` shows about one registered model."""

    name: str
    versions: list[VersionRow]
    gates: list[GateAttempt]
    trail: list[TrailEntry]


def gate_attempts(rows: Sequence[VersionRow]) -> list[GateAttempt]:
    """The latest stored gate report per version and target stage, in version then stage order.

    Gates that only inform (`passed` is None) count neither as passed nor as gated.
    """
    attempts = []
    for row in rows:
        for stage, report in sorted(latest_gate_reports(row.tags).items()):
            results = report.get("results", [])
            gated = [r for r in results if r.get("passed") is not None]
            attempts.append(
                GateAttempt(
                    version=row.version,
                    stage=stage,
                    at=report.get("timestamp"),
                    outcome=report.get("outcome", ""),
                    passed=sum(1 for r in gated if r.get("passed")),
                    gated=len(gated),
                    failing=[
                        FailingGate(
                            r["name"], r.get("value"), r.get("comparison"), r.get("threshold")
                        )
                        for r in gated
                        if r.get("passed") is False
                    ],
                )
            )
    return attempts


def trail_entry(event: AuditEvent) -> TrailEntry:
    """An audit event as one line of the trail; the outcome notes an override and the gates."""
    outcome = event.outcome + (" (forced)" if event.forced else "")
    if event.gates:
        # "8/9 gates passed (failed)": the count is news, the outcome is already said.
        outcome += f"; {event.gates.split(' (')[0]}"
    return TrailEntry(
        at=event.at,
        actor=event.actor,
        version=event.version,
        change=f"{event.action}: {event.from_stage} -> {event.to_stage}",
        outcome=outcome,
        reason=event.reason or "",
    )


def summarise(name: str, rows: Sequence[VersionRow], events: Sequence[AuditEvent]) -> ModelOverview:
    """The overview of model `name` from its version rows and audit events."""
    return ModelOverview(
        name=name,
        versions=list(rows),
        gates=gate_attempts(rows),
        trail=[trail_entry(event) for event in events],
    )


def model_overview(client: MlflowClient, name: str) -> ModelOverview:
    """Read model `name`'s versions and audit trail; an unknown model is a RegistryError."""
    rows = version_rows(client, name)  # first: names an unknown model
    return summarise(name, rows, read_trail(client, name))
