"""What the gates judge, read from MLflow: metrics, artifacts, intervals, fairness, policy.

One read per transition: the version's run metrics and artifact list, the test-metric
intervals (`test_metrics.json`), the fairness assessment (`fairness.json`), the fairness
policy declared at training (run param `fairness_policy`) and the sign-offs in the
version's tags. `staging_results` turns it into the Staging gates under the policy in
force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.config import GateThresholds
from attrition.fairness.policy import FairnessPolicy, policy_in_force, policy_record
from attrition.registry.compare import download_text
from attrition.registry.fairness_gates import feasibility_section, policy_fairness_gates
from attrition.registry.gates import GateResult, staging_gates
from attrition.registry.signoffs import apply_signoffs, signoffs_of
from attrition.registry.versions import artifact_paths, json_object, run_id_of

POLICY_PARAM = "fairness_policy"


@dataclass
class GateEvidence:
    """Everything the Staging gates of one version read, and the policy in force."""

    policy: FairnessPolicy
    chosen_by: str
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: set[str] = field(default_factory=set)
    fairness: dict[str, Any] | None = None
    intervals: dict[str, list[float]] = field(default_factory=dict)
    rows: float | None = None
    signoffs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def policy_record(self) -> dict[str, str]:
        return policy_record(self.policy, self.chosen_by)


def gate_evidence(
    client: MlflowClient,
    mv: ModelVersion,
    thresholds: GateThresholds,
    policy: str | None = None,
) -> GateEvidence:
    """Read the evidence of `mv`; `policy` is the transition's `--fairness-policy`, if any."""
    run_id = run_id_of(mv)
    params: dict[str, str] = {}
    found: dict[str, Any] = {"signoffs": signoffs_of(dict(mv.tags or {}))}
    if run_id is not None:
        try:
            run = client.get_run(run_id)
        except MlflowException:
            run = None
        if run is not None:
            params = dict(run.data.params)
            found["metrics"] = dict(run.data.metrics)
            artifacts = artifact_paths(client, run_id)
            found["artifacts"] = artifacts
            if "fairness.json" in artifacts:
                found["fairness"] = json_object(download_text(client, run_id, "fairness.json"))
            if "test_metrics.json" in artifacts:
                tested = json_object(download_text(client, run_id, "test_metrics.json")) or {}
                if isinstance(tested.get("intervals"), dict):
                    found["intervals"] = tested["intervals"]
                    found["rows"] = tested.get("interval_rows")
    chosen, who = policy_in_force(
        transition=policy, training=params.get(POLICY_PARAM), gates_file=thresholds.fairness_policy
    )
    return GateEvidence(policy=chosen, chosen_by=who, run_id=run_id, **found)


def staging_results(evidence: GateEvidence, thresholds: GateThresholds) -> list[GateResult]:
    """The Staging gates of the evidence, with recorded sign-offs applied."""
    fairness = policy_fairness_gates(
        evidence.fairness, evidence.metrics, thresholds, evidence.policy
    )
    results = staging_gates(
        evidence.metrics,
        evidence.artifacts,
        thresholds,
        intervals=evidence.intervals,
        rows=evidence.rows,
        fairness=fairness,
    )
    return apply_signoffs(results, evidence.signoffs)


def feasibility_of(evidence: GateEvidence, thresholds: GateThresholds) -> dict[str, Any]:
    """The gate report's feasibility section for the policy in force."""
    return feasibility_section(evidence.fairness, evidence.policy, thresholds)
