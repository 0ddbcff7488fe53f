"""Gated stage transitions in the MLflow model registry, with aliases kept in step.

Every change runs under a cross-process lock on the registry's store
(`attrition.registry.lock`), re-reads the state after acquiring it, moves the
stage and its alias together, and is recorded in the audit trail
(`attrition.registry.audit`), each transition record holding the hash of the gate
report it relies on. The Production gates read the Staging record, the review and
the sign-offs from that trail, never from tags; a rollback restores only a version
that `attrition.registry.verify` finds backed by its trail.
"""

from __future__ import annotations

from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from attrition.config import GateThresholds
from attrition.errors import RegistryError
from attrition.registry.ab import ab_compare
from attrition.registry.audit import AuditEvent, append_event, event_for, store_gate_report
from attrition.registry.evidence import (
    GateEvidence,
    feasibility_of,
    gate_evidence,
    staging_results,
)
from attrition.registry.gates import GateReport, GateResult, build_report, utc_now
from attrition.registry.governance import trail_evidence
from attrition.registry.lock import registry_lock
from attrition.registry.notes import record_reasons
from attrition.registry.production_gates import (
    ab_gate,
    reference_gate,
    review_gate,
    rollback_gate,
    staging_record_gate,
)
from attrition.registry.signoffs import signoff_gate
from attrition.registry.verify import TrailState, VersionVerdict
from attrition.registry.versions import (
    ALIASES,
    LEFT_PRODUCTION_TAG,
    REVIEW_TAG,
    ROLLBACK_TAG,
    champion_of,
    get_version,
    in_stage,
    normalise_stage,
    num,
    quiet_stages,
    rollback_target,
    run_id_of,
    stage_of,
    versions,
)


class TransitionRefused(RegistryError):
    """A transition whose gates failed; `report` lists every gate."""

    def __init__(self, report: GateReport) -> None:
        failing = "; ".join(failure_line(r) for r in report.failures)
        super().__init__(
            f"version {report.version} refused for {report.target_stage}: "
            f"{len(report.failures)} gate(s) failed: {failing}"
        )
        self.report = report


def failure_line(result: GateResult) -> str:
    """`name = value (needs > threshold)` for one failing gate."""
    needs = f"{result.comparison or ''} {_fmt(result.threshold, 'g')}".strip()
    return f"{result.name} = {_fmt(result.value)} (needs {needs})"


def _fmt(value: object, spec: str = ".3f") -> str:
    if isinstance(value, float):
        return format(value, spec)
    return "missing" if value is None else str(value)


def evaluate_gates(
    client: MlflowClient,
    mv: ModelVersion,
    stage: str,
    thresholds: GateThresholds,
    *,
    first_deployment: bool = False,
    policy: str | None = None,
) -> list[GateResult]:
    """Collect the evidence for `mv` from MLflow and run the gates of `stage`.

    `policy` is the transition's `--fairness-policy` (it overrides the one declared at
    training and the gates file's).
    """
    return _evaluate(client, mv, stage, thresholds, first_deployment, policy)[0]


def _evaluate(
    client: MlflowClient,
    mv: ModelVersion,
    stage: str,
    thresholds: GateThresholds,
    first_deployment: bool,
    policy: str | None,
) -> tuple[list[GateResult], GateEvidence | None]:
    if stage == "Archived":
        return [], None
    evidence = gate_evidence(client, mv, thresholds, policy)
    trail, verdict = trail_evidence(client, mv)
    evidence.signoffs = {
        gate: {"actor": e.actor, "reason": e.reason, "at": e.at}
        for gate, e in trail.signoffs.items()
    }
    staging = staging_results(evidence, thresholds)
    if stage == "Staging":
        return staging, evidence

    all_versions = versions(client, mv.name)
    others = [v for v in all_versions if num(v) != num(mv)]
    champion = champion_of(client, mv.name, others)
    comparison, problem = None, None
    if champion is not None:
        try:
            comparison = ab_compare(client, mv.name, mv, champion)
        except Exception as exc:  # any failure to compare is a failing gate, not a crash
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    former = rollback_target(others, None)
    ever = any(
        LEFT_PRODUCTION_TAG in (v.tags or {}) or v.current_stage == "Production" for v in others
    )
    review = trail.review
    return [
        staging_record_gate(stage_of(mv), staging_record(trail, verdict)),
        review_gate(
            review.action.removeprefix("review:") if review else None,
            review.reason if review else None,
        ),
        signoff_gate(staging),
        ab_gate(comparison, thresholds.non_inferiority_margin, problem),
        reference_gate(evidence.artifacts),
        rollback_gate(
            num(champion) if champion else None,
            num(former) if former else None,
            ever,
            first_deployment,
        ),
    ], evidence


def staging_record(trail: TrailState, verdict: VersionVerdict) -> str | None:
    """The Staging gate record the trail backs: its outcome, or why there is none.

    Read from the audit trail and the gate report artifact its record hashes, so a
    hand-set `attrition.stage_gate` tag asserts nothing.
    """
    if not verdict.verified:
        return f"unverified ({verdict.findings[0]})"
    if "Staging" not in trail.entered:
        return None
    why = trail.entered["Staging"]
    return f"unbacked ({why})" if why else trail.gate_outcome.get("Staging")


def _set_stage(client: MlflowClient, name: str, version: str, stage: str) -> None:
    with quiet_stages():
        client.transition_model_version_stage(name, version, stage, archive_existing_versions=False)


def _sync_aliases(client: MlflowClient, name: str) -> None:
    """Point `champion` at the Production version and `challenger` at the latest Staging one."""
    all_versions = versions(client, name)
    aliases = client.get_registered_model(name).aliases
    for stage, alias in ALIASES.items():
        members = in_stage(all_versions, stage)
        current = str(aliases.get(alias)) if alias in aliases else None
        if any(num(mv) == current for mv in members):
            continue
        if members:
            latest = max(members, key=lambda mv: (mv.last_updated_timestamp or 0, int(num(mv))))
            client.set_registered_model_alias(name, alias, num(latest))
        elif current is not None:
            client.delete_registered_model_alias(name, alias)


def _archive(client: MlflowClient, mv: ModelVersion, actor: str, reason: str) -> None:
    """Move `mv` to Archived, remembering when it left Production, and audit it."""
    if mv.current_stage == "Production":
        client.set_model_version_tag(mv.name, num(mv), LEFT_PRODUCTION_TAG, utc_now())
    _set_stage(client, mv.name, num(mv), "Archived")
    append_event(
        client,
        AuditEvent(
            model=mv.name,
            version=num(mv),
            action="archive",
            from_stage=stage_of(mv),
            to_stage="Archived",
            actor=actor,
            reason=reason,
        ),
    )


def transition(
    client: MlflowClient,
    name: str,
    version: str,
    stage: str,
    *,
    thresholds: GateThresholds,
    actor: str,
    force: bool = False,
    reason: str | None = None,
    first_deployment: bool = False,
    lock_timeout: float = 300.0,
    fairness_policy: str | None = None,
) -> GateReport:
    """Move version `version` of `name` to `stage` if its gates pass (or `force` with a reason).

    `fairness_policy` (the transition's `--fairness-policy`) overrides the policy declared
    at training and the gates file's; the report names the policy and who chose it.

    Raises TransitionRefused (nothing changed except the logged gate report) when a
    gate fails. Promoting to Production archives the previous champion, which
    becomes the rollback target.
    """
    stage = normalise_stage(stage)
    version = str(version).strip()
    if force and not (reason and reason.strip()):
        raise RegistryError("--force needs --reason: say why the gates are overridden")
    get_version(client, name, version)  # fail fast, before waiting for the lock
    with registry_lock(client.tracking_uri, name, lock_timeout):
        mv = get_version(client, name, version)  # re-read: another process may have moved it
        if mv.current_stage == stage:
            raise RegistryError(f"version {version} of '{name}' is already in {stage}")
        results, evidence = _evaluate(
            client, mv, stage, thresholds, first_deployment, fairness_policy
        )
        report = build_report(
            stage,
            version,
            results,
            forced=force,
            reason=reason,
            actor=actor,
            model_name=name,
            from_stage=stage_of(mv),
            fairness_policy=evidence.policy_record if evidence else None,
            feasibility=feasibility_of(evidence, thresholds) if evidence else None,
        )
        stored = store_gate_report(client, run_id_of(mv), report)
        if not report.passed and not force:
            append_event(client, event_for(report, "transition", "refused", stored))
            raise TransitionRefused(report)
        _apply(client, mv, stage, actor, report)
        append_event(client, event_for(report, "transition", "applied", stored))
    return report


def _apply(
    client: MlflowClient, mv: ModelVersion, stage: str, actor: str, report: GateReport
) -> None:
    name = mv.name
    if stage == "Production":
        all_versions = versions(client, name)
        champion = champion_of(client, name, [v for v in all_versions if num(v) != num(mv)])
        target = champion or rollback_target([v for v in all_versions if num(v) != num(mv)], None)
        for old in in_stage(all_versions, "Production"):
            if num(old) != num(mv):
                _archive(client, old, actor, f"replaced by version {num(mv)}")
        if target is not None:
            client.set_model_version_tag(name, num(mv), ROLLBACK_TAG, num(target))
        elif ROLLBACK_TAG in (mv.tags or {}):
            client.delete_model_version_tag(name, num(mv), ROLLBACK_TAG)
    if mv.current_stage == "Production" and stage != "Production":
        client.set_model_version_tag(name, num(mv), LEFT_PRODUCTION_TAG, report.timestamp)
    _set_stage(client, name, num(mv), stage)
    if stage in ALIASES:
        client.set_registered_model_alias(name, ALIASES[stage], num(mv))
    _sync_aliases(client, name)


def rollback(
    client: MlflowClient,
    name: str,
    *,
    actor: str,
    reason: str | None = None,
    lock_timeout: float = 300.0,
) -> tuple[str, str | None]:
    """Put the previous Production version back and archive the current one.

    Returns (restored version, archived version or None).
    """
    why = reason or "no reason given"
    detail = f": {reason}" if reason else ""
    versions(client, name)  # unknown model: fail before the lock
    with registry_lock(client.tracking_uri, name, lock_timeout):
        all_versions = versions(client, name)
        champion = champion_of(client, name, all_versions)
        target = rollback_target(all_versions, champion)
        if target is None:
            raise RegistryError(f"'{name}' has no previous Production version to roll back to")
        _require_restorable(client, target)
        for current in in_stage(all_versions, "Production"):
            _archive(client, current, actor, f"rolled back to version {num(target)}{detail}")
        _set_stage(client, name, num(target), "Production")
        client.set_registered_model_alias(name, "champion", num(target))
        _sync_aliases(client, name)
        append_event(
            client,
            AuditEvent(
                model=name,
                version=num(target),
                action="rollback",
                from_stage=stage_of(target),
                to_stage="Production",
                actor=actor,
                reason=why,
            ),
        )
    return num(target), num(champion) if champion else None


def _require_restorable(client: MlflowClient, target: ModelVersion) -> None:
    """Refuse to restore a version whose trail is broken or never backed it into Production."""
    trail, verdict = trail_evidence(client, target)
    why = None
    if not verdict.verified:
        why = "; ".join(verdict.findings)
    elif "Production" not in trail.entered:
        why = "its audit trail has no applied Production transition"
    elif trail.entered["Production"]:
        why = str(trail.entered["Production"])
    if why:
        raise RegistryError(
            f"refusing to restore version {num(target)} of '{target.name}': it is not "
            f"verified: {why} (see `attrition models verify`)"
        )


def record_review(
    client: MlflowClient,
    name: str,
    version: str,
    decision: str,
    reason: str,
    actor: str,
) -> None:
    """Record a review decision (approve or reject); rejected versions are refused Production."""
    normal = {
        "approve": "approved",
        "approved": "approved",
        "reject": "rejected",
        "rejected": "rejected",
    }
    verdict = normal.get(decision.strip().lower())
    if verdict is None:
        raise RegistryError(f"unknown review decision '{decision}' (use approve or reject)")
    if not reason.strip():
        raise RegistryError("a review decision needs a reason")
    get_version(client, name, version)
    with registry_lock(client.tracking_uri, name):
        mv = get_version(client, name, version)
        at = utc_now()
        review = {"": verdict, ".reason": reason, ".actor": actor, ".at": at}
        for suffix, value in review.items():
            client.set_model_version_tag(name, num(mv), REVIEW_TAG + suffix, value)
        record_reasons(client, name, num(mv), reason)
        append_event(
            client,
            AuditEvent(
                model=name,
                version=num(mv),
                action=f"review:{verdict}",
                from_stage=stage_of(mv),
                to_stage=stage_of(mv),
                actor=actor,
                reason=reason,
                outcome="recorded",
                at=at,
            ),
        )
