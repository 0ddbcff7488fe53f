"""The gates to Production: the A/B comparison, the Staging record, review, reference, rollback.

Pure like `attrition.registry.gates`: the A/B comparison takes the scores both
versions gave the same rows; `attrition.registry.ab` scores them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from attrition.registry.gates import GateResult
from attrition.stats import bootstrap, percentile_interval, unit_weights, weighted_auc

REFERENCE_FILES = ("reference/features.parquet", "reference/reference.json")
FORCEABLE_RECORDS = ("passed", "forced")


@dataclass
class ABComparison:
    """Paired bootstrap of the ROC AUC difference (candidate - champion) on one test set."""

    champion_version: str
    candidate_auc: float
    champion_auc: float
    difference: float
    low: float
    high: float
    resamples: int
    rows: int
    seed: int
    matching: dict[str, Any] = field(default_factory=dict)

    def rows_text(self) -> str:
        """How many test rows were compared, and how many were left out as seen in training."""
        m = self.matching
        if not m:
            return f"{self.rows} test rows"
        text = f"{self.rows} of {m.get('available', self.rows)} test rows"
        if m.get("left_out"):
            by = " and ".join(m.get("matched_by") or [])
            text += f" ({m['left_out']} left out as trained on by either model, matched by {by})"
        if m.get("unrecorded"):
            text += f" ({', '.join(m['unrecorded'])} recorded no training rows)"
        return text


def paired_bootstrap_auc(
    labels: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    *,
    champion_version: str = "",
    resamples: int = 1000,
    seed: int = 0,
) -> ABComparison:
    """Compare two models' ROC AUC on the same rows with a paired bootstrap (95% interval)."""
    y = np.asarray(labels).astype(int)
    a = np.asarray(candidate, dtype=float)
    b = np.asarray(champion, dtype=float)
    if not (len(y) == len(a) == len(b)) or len(y) == 0:
        raise ValueError("labels and both score vectors must have the same, non-zero length")
    if len(np.unique(y)) != 2:
        raise ValueError("the evaluation labels must contain both classes")
    ones = unit_weights(len(y))
    auc_a = float(weighted_auc(a, y, ones)[0])
    auc_b = float(weighted_auc(b, y, ones)[0])
    diff = bootstrap(
        lambda w: weighted_auc(a, y, w) - weighted_auc(b, y, w),
        len(y),
        resamples=resamples,
        seed=seed,
    )
    low, high = percentile_interval(diff, 0.95)
    return ABComparison(
        champion_version=champion_version,
        candidate_auc=auc_a,
        champion_auc=auc_b,
        difference=auc_a - auc_b,
        low=float(low),
        high=float(high),
        resamples=resamples,
        rows=len(y),
        seed=seed,
    )


def ab_gate(
    comparison: ABComparison | None, margin: float, problem: str | None = None
) -> GateResult:
    """Non-inferiority: the lower end of the 95% interval of the AUC difference > -margin.

    Without a champion there is nothing to compare (first deployment): reported, not gated.
    `problem` reports why the comparison could not be made (fails the gate).
    """
    name = "production.ab_comparison"
    if problem is not None:
        return GateResult(name, None, -margin, ">", False, f"A/B comparison failed: {problem}")
    if comparison is None:
        return GateResult(
            name,
            None,
            -margin,
            ">",
            None,
            "No champion to compare against (first deployment): reported, not gated",
        )
    c = comparison
    passed = c.low > -margin
    verdict = "not worse than" if passed else "possibly worse than"
    message = (
        f"ROC AUC {c.candidate_auc:.3f} vs champion v{c.champion_version} {c.champion_auc:.3f} "
        f"on {c.rows_text()}: difference {c.difference:+.3f}, 95% paired-bootstrap interval "
        f"[{c.low:+.3f}, {c.high:+.3f}] ({c.resamples} resamples); lower end "
        f"{'>' if passed else '<='} -{margin:g}, so the candidate is {verdict} the champion"
    )
    return GateResult(name, round(c.low, 6), -margin, ">", passed, message)


def staging_record_gate(current_stage: str, record: str | None) -> GateResult:
    """The version is in Staging with a passing (or forced) Staging gate record."""
    name = "production.staging_record"
    value = f"{current_stage}/{record or 'no record'}"
    passed = current_stage == "Staging" and record in FORCEABLE_RECORDS
    if passed:
        message = f"In Staging with a {record} Staging gate record"
    elif current_stage != "Staging":
        message = f"The version is in {current_stage}, not Staging: promote it to Staging first"
    else:
        message = f"In Staging but its Staging gate record is '{record or 'missing'}'"
    return GateResult(name, value, "Staging/passed", None, passed, message)


def review_gate(decision: str | None, reason: str | None = None) -> GateResult:
    """A version rejected in review stays out of Production."""
    name = "production.review"
    if decision == "rejected":
        why = f": {reason}" if reason else ""
        return GateResult(name, "rejected", "not rejected", None, False, f"Rejected in review{why}")
    if decision == "approved":
        return GateResult(name, "approved", "not rejected", None, True, "Approved in review")
    return GateResult(
        name, "not reviewed", "not rejected", None, True, "No review recorded (not rejected)"
    )


def reference_gate(artifacts: Collection[str]) -> GateResult:
    """The monitoring reference (features sample and reference.json) is stored with the version."""
    missing = [p for p in REFERENCE_FILES if p not in artifacts]
    passed = not missing
    message = (
        "The monitoring reference is stored with the version"
        if passed
        else f"The monitoring reference is incomplete: missing {', '.join(missing)}"
    )
    return GateResult(
        "production.monitoring_reference",
        "present" if passed else "missing",
        "present",
        None,
        passed,
        message,
    )


def rollback_gate(
    champion: str | None,
    archived_target: str | None,
    ever_in_production: bool,
    first_deployment: bool,
) -> GateResult:
    """A rollback target exists, or this is (explicitly) the first deployment."""
    name = "production.rollback_target"
    if champion is not None:
        return GateResult(
            name,
            f"v{champion}",
            "exists",
            None,
            True,
            f"Current champion v{champion} becomes the rollback target",
        )
    if archived_target is not None:
        return GateResult(
            name,
            f"v{archived_target}",
            "exists",
            None,
            True,
            f"Previous Production version v{archived_target} (Archived) is the rollback target",
        )
    if first_deployment or not ever_in_production:
        how = (
            "declared with --first-deployment"
            if first_deployment
            else "no version was ever in Production"
        )
        return GateResult(
            name,
            "first deployment",
            "exists",
            None,
            True,
            f"First deployment ({how}): no rollback target",
        )
    return GateResult(
        name,
        "none",
        "exists",
        None,
        False,
        "No rollback target: no champion and no archived Production version "
        "(pass --first-deployment to deploy without one)",
    )
