"""Fairness gates judged on the run's assessment: verdicts on intervals, under a policy.

Pure: takes the run's `fairness.json` (as a dict), the logged metrics and the policy in
force. Each audited difference becomes one gate `fairness.<attribute>.<metric>`. The
policy's gated metrics get a verdict on their interval against the current threshold,
with the evidence behind it (`insufficient_evidence` below `min_group_events`); the
policy's other metrics are reported (`info`). A dataset declared with no sensitive
attributes gets one `not_applicable` gate saying so. A run logged before verdicts
existed falls back to the point-estimate gates of its metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from attrition.config import GateThresholds
from attrition.fairness import EVIDENCE_OF, NO_SENSITIVE_REASON, metric_key
from attrition.fairness.audit import EVIDENCE_WORDS
from attrition.fairness.feasibility import assess_feasibility
from attrition.fairness.policy import FairnessPolicy
from attrition.registry.gates import GateResult, fairness_gates
from attrition.stats import (
    FAIL,
    INCONCLUSIVE,
    INFO,
    INSUFFICIENT_EVIDENCE,
    NOT_APPLICABLE,
    PASS,
    interval_verdict,
)

ASSESSMENT_GATE = "fairness.assessment"


def has_verdicts(document: Mapping[str, Any] | None) -> bool:
    """True for a fairness.json written with verdicts (or the not-applicable state)."""
    if not document:
        return False
    if document.get("applicable") is False:
        return True
    return any(
        "verdict" in d
        for a in document.get("attributes") or []
        for d in (a.get("differences") or {}).values()
    )


def policy_fairness_gates(
    document: Mapping[str, Any] | None,
    metrics: Mapping[str, float],
    thresholds: GateThresholds,
    policy: FairnessPolicy,
) -> list[GateResult]:
    """The fairness gates of one run under `policy` (see the module docstring)."""
    if not has_verdicts(document):
        return fairness_gates(metrics, thresholds)
    assert document is not None
    if document.get("applicable") is False:
        reason = str(document.get("reason") or NO_SENSITIVE_REASON)
        return [
            GateResult(
                ASSESSMENT_GATE,
                "not applicable",
                None,
                None,
                None,
                f"No fairness audit was possible: {reason}",
                NOT_APPLICABLE,
            )
        ]
    results = [
        _gate(str(a["name"]), metric, diff, thresholds, metric in policy.gated)
        for a in document.get("attributes") or []
        for metric, diff in (a.get("differences") or {}).items()
    ]
    return results or [
        GateResult(ASSESSMENT_GATE, None, "logged", None, False, "The fairness assessment is empty")
    ]


def _gate(
    attribute: str,
    metric: str,
    diff: Mapping[str, Any],
    thresholds: GateThresholds,
    gated: bool,
) -> GateResult:
    name = metric_key(attribute, metric)
    threshold = float(getattr(thresholds, metric, diff.get("threshold", math.nan)))
    value, low, high = diff.get("value"), diff.get("ci_low"), diff.get("ci_high")
    evidence = diff.get("evidence")
    what = f"{metric.replace('_', ' ')} for {attribute}"
    interval = [float(low), float(high)] if low is not None and high is not None else None
    if value is None:
        why = str(diff.get("reason") or "not computable").removeprefix("not gated: ")
        verdict = INSUFFICIENT_EVIDENCE if gated else INFO
        return GateResult(
            name, None, threshold, "<", None, f"The {what} is undefined: {why}", verdict
        )
    low_end, high_end = interval or [float(value), float(value)]
    verdict = interval_verdict(
        low_end,
        high_end,
        threshold,
        good="below",
        evidence=evidence,
        min_evidence=thresholds.min_group_events,
    )
    counted = EVIDENCE_WORDS.get(str(diff.get("evidence_of") or EVIDENCE_OF.get(metric, "")), "")
    span = f"95% interval {interval[0]:.3f} to {interval[1]:.3f}" if interval else "no interval"
    backing = f", smallest group {evidence:.0f} {counted}" if evidence is not None else ""
    sentence = f"The {what} is {float(value):.3f} ({span}{backing}): " + _reading(
        verdict, threshold, thresholds.min_group_events
    )
    if not gated:
        sentence += " Reported, not gated under this policy."
    passed = {PASS: True, FAIL: False}.get(verdict) if gated else None
    return GateResult(
        name,
        float(value),
        threshold,
        "<",
        passed,
        sentence,
        verdict if gated else INFO,
        interval,
        None if evidence is None else float(evidence),
    )


def _reading(verdict: str, threshold: float, minimum: int) -> str:
    return {
        PASS: f"the whole interval is under the bar of < {threshold:g}.",
        FAIL: f"the whole interval is at or over the bar of < {threshold:g}.",
        INCONCLUSIVE: f"the interval crosses the bar of < {threshold:g}: inconclusive "
        "(allowed to Staging; Production needs a named sign-off).",
        INSUFFICIENT_EVIDENCE: f"fewer than {minimum} cases behind it: insufficient evidence, "
        "reported, not gated.",
    }.get(verdict, verdict)


def feasibility_section(
    document: Mapping[str, Any] | None, policy: FairnessPolicy, thresholds: GateThresholds
) -> dict[str, Any]:
    """The gate report's `feasibility`: can the policy's gated criteria hold together here?"""
    if document and document.get("applicable") is False:
        reason = str(document.get("reason") or NO_SENSITIVE_REASON)
        return {
            "feasible": True,
            "policy": policy.name,
            "statement": f"Not applicable: {reason}.",
            "base_rates": {},
            "suggestion": None,
        }
    attributes = list((document or {}).get("attributes") or [])
    if not attributes:
        return {
            "feasible": True,
            "policy": policy.name,
            "statement": "No fairness assessment with per-group counts was logged for this run.",
            "base_rates": {},
            "suggestion": None,
        }
    return assess_feasibility(attributes, policy, thresholds)
