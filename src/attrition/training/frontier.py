"""The fairness frontier: every candidate judged on out-of-fold predictions, and the choice.

Each candidate is judged on its cross-fitted predictions over the training split (the
test split plays no part): ROC AUC with a bootstrap 95% interval, and every gap the
fairness policy gates, per sensitive attribute, at the candidate's own threshold, each
with its interval and verdict (`stats.interval_verdict` against the gate threshold).
A gap is judged on its whole interval even when its evidence is below
`min_group_events` (the gates pool these rows with the test split and may judge it);
the audit's own verdict is kept beside it. The largest gated gap is the judged gap
with the highest value, shown with its own interval. The chosen candidate has the
best AUC among those with no gated `fail`; when every candidate fails somewhere, the
unconstrained one is kept.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from attrition.config import GateThresholds
from attrition.fairness import assess_fairness
from attrition.fairness.policy import FairnessPolicy
from attrition.stats import (
    FAIL,
    INCONCLUSIVE,
    INSUFFICIENT_EVIDENCE,
    NOT_APPLICABLE,
    PASS,
    bootstrap,
    interval_verdict,
    percentile_interval,
    unit_weights,
    weighted_auc,
)
from attrition.training.candidates import UNCONSTRAINED, Candidate

N_BOOT = 200
DEFAULT_MIN_GROUP_EVENTS = 20
_JUDGED = (PASS, FAIL, INCONCLUSIVE)


@dataclass(frozen=True)
class GatedGap:
    """One gated gap of one attribute, with its interval and verdict."""

    attribute: str
    metric: str
    value: float | None
    interval: tuple[float | None, float | None]
    threshold: float | None
    verdict: str
    evidence: float | None = None
    audit_verdict: str | None = None

    @property
    def gate(self) -> str:
        return f"fairness.{self.attribute}.{self.metric}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "value": self.value,
            "interval": list(self.interval),
            "threshold": self.threshold,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "audit_verdict": self.audit_verdict or self.verdict,
        }


@dataclass(frozen=True)
class FrontierPoint:
    """A candidate's out-of-fold ROC AUC and gated gaps."""

    name: str
    params: dict[str, Any]
    threshold: float
    roc_auc: float
    roc_auc_interval: tuple[float, float]
    gaps: list[GatedGap]

    @property
    def largest(self) -> GatedGap | None:
        """The judged gap with the highest value (any gap with a value if none is judged)."""
        valued = [g for g in self.gaps if g.value is not None]
        judged = [g for g in valued if g.verdict in _JUDGED] or valued
        return max(judged, key=lambda g: float(g.value or 0.0)) if judged else None

    @property
    def fails(self) -> bool:
        return any(g.verdict == FAIL for g in self.gaps)

    def to_dict(self, chosen: bool) -> dict[str, Any]:
        largest = self.largest
        return {
            "name": self.name,
            "params": self.params,
            "threshold": self.threshold,
            "roc_auc": self.roc_auc,
            "roc_auc_interval": list(self.roc_auc_interval),
            "largest_gated_gap": largest.to_dict() if largest else None,
            "verdicts": {g.gate: g.verdict for g in self.gaps},
            "gaps": [g.to_dict() for g in self.gaps],
            "fails": self.fails,
            "chosen": chosen,
        }


@dataclass(frozen=True)
class Frontier:
    """Every candidate's point, the policy they were judged under, and the one chosen."""

    policy: str
    gated: tuple[str, ...]
    points: list[FrontierPoint]
    chosen: int
    reason: str

    @property
    def chosen_point(self) -> FrontierPoint:
        return self.points[self.chosen]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": "cross-fitted out-of-fold predictions over the training split",
            "fairness_policy": self.policy,
            "gated_metrics": list(self.gated),
            "rule": "best ROC AUC among candidates without a failing gated fairness gate; "
            "else the unconstrained model",
            "largest_gated_gap": "the judged gated gap with the highest value, with its own "
            "95% bootstrap interval",
            "chosen": self.chosen_point.name,
            "reason": self.reason,
            "candidates": [p.to_dict(i == self.chosen) for i, p in enumerate(self.points)],
        }


def judge(
    candidate: Candidate,
    labels: np.ndarray,
    audit: pd.DataFrame,
    thresholds: GateThresholds,
    policy: FairnessPolicy,
    *,
    seed: int,
    n_boot: int = N_BOOT,
) -> FrontierPoint:
    """The candidate's ROC AUC and gated gaps on its out-of-fold predictions, with intervals."""
    y = np.asarray(labels).astype(int)
    proba = candidate.oof_proba
    auc = float(weighted_auc(proba, y, unit_weights(len(y)))[0])
    replicates = bootstrap(
        lambda w: weighted_auc(proba, y, w), len(y), resamples=n_boot, seed=seed, strata=y
    )
    low, high = percentile_interval(replicates)
    decisions = (proba >= candidate.threshold).astype(int)
    extra: dict[str, Any] = {}
    accepted = inspect.signature(assess_fairness).parameters
    if "scores" in accepted:
        extra["scores"] = proba
    if "gated" in accepted:
        extra["gated"] = policy.gated
    assessment = assess_fairness(
        y, decisions, audit.reset_index(drop=True), thresholds, n_boot=n_boot, seed=seed, **extra
    )
    minimum = float(getattr(thresholds, "min_group_events", DEFAULT_MIN_GROUP_EVENTS))
    gaps = [
        _gap(attribute.name, metric, attribute.differences.get(metric), minimum)
        for attribute in assessment.attributes
        for metric in policy.gated
    ]
    return FrontierPoint(
        name=candidate.name,
        params=dict(candidate.params),
        threshold=float(candidate.threshold),
        roc_auc=auc,
        roc_auc_interval=(float(low), float(high)),
        gaps=gaps,
    )


def choose(points: list[FrontierPoint]) -> tuple[int, str]:
    """The best-AUC point with no failing gated gap, else the unconstrained one; and why."""
    passing = [i for i, p in enumerate(points) if not p.fails]
    if passing:
        best = max(passing, key=lambda i: (points[i].roc_auc, -i))
        return best, f"best out-of-fold ROC AUC of the {len(passing)} without a failing gate"
    fallback = next((i for i, p in enumerate(points) if p.name == UNCONSTRAINED), 0)
    return fallback, "every candidate fails a gated fairness gate: the unconstrained model is kept"


def frontier(
    candidates: list[Candidate],
    labels: np.ndarray,
    audit: pd.DataFrame,
    thresholds: GateThresholds,
    policy: FairnessPolicy,
    *,
    seed: int,
) -> Frontier:
    """Judge every candidate and choose one."""
    points = [judge(c, labels, audit, thresholds, policy, seed=seed) for c in candidates]
    chosen, reason = choose(points)
    return Frontier(policy.name, policy.gated, points, chosen, reason)


def _gap(attribute: str, metric: str, difference: Any, minimum: float) -> GatedGap:
    """One gated gap's verdict, judged on its interval even when evidence is thin.

    The gates pool these out-of-fold predictions with the test split, so a gap whose
    evidence is below `min_group_events` here may well be judged there: a candidate
    whose whole interval is over the bar is treated as failing. The audit's own verdict
    is kept as `audit_verdict`.
    """
    if difference is None:
        return GatedGap(attribute, metric, None, (None, None), None, NOT_APPLICABLE)
    value, threshold = difference.value, difference.threshold
    low, high = difference.ci_low, difference.ci_high
    evidence = getattr(difference, "evidence", None)
    audit_verdict = getattr(difference, "verdict", None) or None
    if value is None:
        verdict = audit_verdict or NOT_APPLICABLE
    elif low is None or high is None:
        verdict = INSUFFICIENT_EVIDENCE
    else:
        verdict = interval_verdict(low, high, threshold, good="below")
    if audit_verdict is None and evidence is not None and evidence < minimum:
        audit_verdict = INSUFFICIENT_EVIDENCE
    return GatedGap(
        attribute,
        metric,
        value,
        (low, high),
        threshold,
        verdict,
        evidence,
        audit_verdict or verdict,
    )
