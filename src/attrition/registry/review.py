"""The staging review of one model version: gather the evidence, log the report.

The core of `attrition review`, following the review checklist (initial
check, performance, fairness, data quality, documentation, decision). The gates
themselves are `attrition.registry.gates`/`attrition.registry.transitions`'s; this module only
collects what a reviewer needs beside them. `attrition.reports.review_report`
renders the result.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.config import GateThresholds
from attrition.errors import RegistryError
from attrition.registry.ab import ab_compare
from attrition.registry.audit import AuditEvent, append_event, latest_gate_reports, read_trail
from attrition.registry.compare import ArtifactEntry, download_bytes, download_text, run_artifacts
from attrition.registry.evidence import feasibility_of, gate_evidence, staging_results
from attrition.registry.gates import GateResult, utc_now
from attrition.registry.lock import registry_lock
from attrition.registry.production_gates import ABComparison, ab_gate
from attrition.registry.signoffs import SIGNOFF_PREFIX, signoffs_of
from attrition.registry.versions import (
    REVIEW_TAG,
    get_version,
    json_object,
    num,
    run_id_of,
    stage_of,
)
from attrition.stats import INCONCLUSIVE

REPORT_NAME = "review_report.html"
REVIEWS_FOLDER = "reviews"
PERFORMANCE_IMAGES = ("roc_curve.png", "confusion_matrix.png", "prediction_histogram.png")
FAIRNESS_IMAGES = ("fairness_metrics.png",)
EXPLANATION_IMAGES = ("shap_summary.png", "feature_importance.png")
IMAGES = PERFORMANCE_IMAGES + FAIRNESS_IMAGES + EXPLANATION_IMAGES


@dataclass
class ChampionCheck:
    """The candidate against the current champion: the A/B comparison and its gate."""

    version: str
    comparison: ABComparison | None
    gate: GateResult


@dataclass
class ReviewFacts:
    """Everything the review report shows about one version."""

    model_name: str
    version: str
    stage: str
    aliases: list[str]
    created: int
    thresholds: GateThresholds
    gates: list[GateResult]
    version_tags: dict[str, str]
    run_id: str | None = None
    run_start: int = 0
    artifact_uri: str = ""
    run_tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: list[ArtifactEntry] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)
    model_card: str | None = None
    fairness: dict[str, Any] | None = None
    data_quality: dict[str, Any] | None = None
    champion: ChampionCheck | None = None
    champion_version: str | None = None
    audit: list[AuditEvent] = field(default_factory=list)
    fairness_policy: dict[str, str] = field(default_factory=dict)
    feasibility: dict[str, Any] = field(default_factory=dict)

    @property
    def signoffs(self) -> dict[str, dict[str, Any]]:
        """Sign-offs of inconclusive gates recorded on the version."""
        return signoffs_of(self.version_tags)

    @property
    def inconclusive(self) -> list[GateResult]:
        """The Staging gates whose interval crosses the bar (signed off or not)."""
        return [g for g in self.gates if g.verdict == INCONCLUSIVE]

    def gates_in(self, group: str) -> list[GateResult]:
        """The staging gates of one group: performance, fairness, data_quality, documentation."""
        return [g for g in self.gates if g.name.split(".", 1)[0] == group]

    @property
    def artifact_paths(self) -> set[str]:
        return {entry.path for entry in self.artifacts}

    @property
    def decision(self) -> str | None:
        """The recorded review decision (approved / rejected), if any."""
        return self.version_tags.get(REVIEW_TAG)

    @property
    def gate_records(self) -> dict[str, dict[str, Any]]:
        """The latest stored gate report per target stage."""
        return latest_gate_reports(self.version_tags)


def _champion_check(
    client: MlflowClient,
    name: str,
    candidate_version: str,
    champion_version: str,
    margin: float,
    resamples: int,
) -> ChampionCheck:
    candidate = get_version(client, name, candidate_version)
    champion = get_version(client, name, champion_version)
    comparison: ABComparison | None = None
    problem: str | None = None
    try:
        comparison = ab_compare(client, name, candidate, champion, resamples=resamples)
    except Exception as exc:  # a comparison that cannot be made is shown, not a crash
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ChampionCheck(champion_version, comparison, ab_gate(comparison, margin, problem))


def gather_review(
    client: MlflowClient,
    name: str,
    version: str,
    thresholds: GateThresholds,
    *,
    resamples: int = 1000,
    policy: str | None = None,
) -> ReviewFacts:
    """Collect the review evidence for version `version` of model `name`.

    `policy` overrides the fairness policy in force (as on a transition).
    Raises RegistryError for an unknown model or version.
    """
    mv = get_version(client, name, str(version).strip())
    evidence = gate_evidence(client, mv, thresholds, policy)
    number = str(mv.version)
    aliases = client.get_registered_model(name).aliases
    facts = ReviewFacts(
        model_name=name,
        version=number,
        stage=stage_of(mv),
        aliases=sorted(alias for alias, v in aliases.items() if str(v) == number),
        created=int(mv.creation_timestamp or 0),
        thresholds=thresholds,
        gates=staging_results(evidence, thresholds),
        version_tags=dict(mv.tags or {}),
        fairness_policy=evidence.policy_record,
        feasibility=feasibility_of(evidence, thresholds),
    )
    run_id = run_id_of(mv)
    if run_id is not None:
        try:
            run = client.get_run(run_id)
        except MlflowException:
            run = None
        if run is not None:
            facts.run_id = run_id
            facts.run_start = int(run.info.start_time or 0)
            facts.artifact_uri = str(run.info.artifact_uri)
            facts.run_tags = dict(run.data.tags)
            facts.metrics = dict(run.data.metrics)
            facts.artifacts = run_artifacts(client, run_id)
            present = facts.artifact_paths
            facts.images = download_bytes(client, run_id, [p for p in IMAGES if p in present])
            if "model_card.md" in present:
                facts.model_card = download_text(client, run_id, "model_card.md")
            if "fairness.json" in present:
                facts.fairness = json_object(download_text(client, run_id, "fairness.json"))
            if "data_quality.json" in present:
                facts.data_quality = json_object(download_text(client, run_id, "data_quality.json"))
    champion = aliases.get("champion")
    if champion is not None:
        facts.champion_version = str(champion)
        if str(champion) != number:
            facts.champion = _champion_check(
                client,
                name,
                number,
                str(champion),
                thresholds.non_inferiority_margin,
                resamples,
            )
    facts.audit = [event for event in read_trail(client, name) if event.version == number]
    return facts


def for_dated_copy(html: str) -> str:
    """The report as kept under `reviews/`: its relative links resolve one folder up."""
    return html.replace("<head>", '<head><base href="../">', 1)


def log_review_report(client: MlflowClient, run_id: str, html: str) -> list[str]:
    """Log the report to the version's run as `review_report.html` and keep a dated copy.

    Returns the artifact paths written (the latest and `reviews/<time>_review_report.html`).
    """
    stamp = re.sub(r"[^0-9T]", "", utc_now().split("+")[0])
    dated = f"{stamp}_{REPORT_NAME}"
    with tempfile.TemporaryDirectory() as tmp:
        latest = Path(tmp) / REPORT_NAME
        latest.write_text(html, encoding="utf-8")
        client.log_artifact(run_id, str(latest))
        copy = Path(tmp) / dated
        copy.write_text(for_dated_copy(html), encoding="utf-8")
        client.log_artifact(run_id, str(copy), artifact_path=REVIEWS_FOLDER)
    return [REPORT_NAME, f"{REVIEWS_FOLDER}/{dated}"]


def accept_inconclusive(
    client: MlflowClient,
    name: str,
    version: str,
    gates: list[str],
    reason: str,
    actor: str,
    thresholds: GateThresholds,
    *,
    policy: str | None = None,
) -> list[str]:
    """Sign off inconclusive gates of a version by name; returns the gates signed off.

    Each gate must be inconclusive for the version now (under the policy in force);
    the sign-off is a version tag per gate and one audit event.

    Raises RegistryError for an empty reason or a gate that is not inconclusive.
    """
    if not reason.strip():
        raise RegistryError("a sign-off needs a reason")
    wanted = list(dict.fromkeys(g.strip() for g in gates if g.strip()))
    if not wanted:
        raise RegistryError("--accept-inconclusive needs at least one gate name")
    mv = get_version(client, name, str(version).strip())
    evidence = gate_evidence(client, mv, thresholds, policy)
    open_gates = [
        g.name for g in staging_results(evidence, thresholds) if g.verdict == INCONCLUSIVE
    ]
    unknown = [g for g in wanted if g not in open_gates]
    if unknown:
        listed = ", ".join(open_gates) or "none"
        raise RegistryError(
            f"not an inconclusive gate of version {num(mv)}: {', '.join(unknown)} "
            f"(inconclusive under the {evidence.policy.name} policy: {listed})"
        )
    with registry_lock(client.tracking_uri, name):
        at = utc_now()
        record = json.dumps({"actor": actor, "reason": reason, "at": at}, sort_keys=True)
        for gate in wanted:
            client.set_model_version_tag(name, num(mv), SIGNOFF_PREFIX + gate, record)
        append_event(
            client,
            AuditEvent(
                model=name,
                version=num(mv),
                action="review:signoff",
                from_stage=stage_of(mv),
                to_stage=stage_of(mv),
                actor=actor,
                reason=f"accepted inconclusive {', '.join(wanted)} "
                f"({evidence.policy.name} policy): {reason}",
                outcome="recorded",
                at=at,
                signed_off=wanted,
            ),
        )
    return wanted
