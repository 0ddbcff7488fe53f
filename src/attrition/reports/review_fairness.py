"""The fairness section of the review report: the policy, the gates, feasibility, groups.

Says which fairness policy is in force and who chose it, every fairness gate with its
interval, evidence and verdict, whether the policy's criteria can hold together at the
observed base rates, and, for a dataset declared without sensitive attributes, plainly
that no fairness audit was possible and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from attrition.fairness.policy import policy_named
from attrition.registry.gates import GateResult
from attrition.registry.review import FAIRNESS_IMAGES, ReviewFacts
from attrition.reports.format import number, text
from attrition.stats import NOT_APPLICABLE

METRIC_ORDER = (
    "statistical_parity_difference",
    "equal_opportunity_difference",
    "predictive_parity_difference",
    "false_positive_rate_difference",
    "calibration_difference",
)
GROUP_RATES = (
    ("selection_rate", "flagged rate"),
    ("tpr", "true positive rate"),
    ("fpr", "false positive rate"),
    ("precision", "precision"),
    ("calibration_gap", "observed - predicted"),
)


def fairness_section(
    facts: ReviewFacts,
    gates: Callable[[Sequence[GateResult]], list[dict[str, Any]]],
    figures: Callable[[ReviewFacts, Sequence[str]], dict[str, Any]],
    link: Callable[[ReviewFacts, str], dict[str, Any]],
) -> dict[str, Any]:
    """What the review report's fairness section shows (the helpers render shared parts)."""
    results = {r.name: r for r in facts.gates_in("fairness")}
    t = facts.thresholds
    attributes = sorted({name.split(".")[1] for name in results if name.count(".") == 2})
    metrics = [m for m in METRIC_ORDER if any(n.endswith("." + m) for n in results)]
    policy = facts.fairness_policy or {}
    gated = set(policy_named(policy["name"]).gated) if policy.get("name") else set()
    not_applicable = next(
        (r.message for r in results.values() if r.verdict == NOT_APPLICABLE), None
    )
    return {
        "gates": gates(list(results.values())),
        "headers": [
            f"{m.replace('_', ' ')} (< {getattr(t, m):g}{', gated' if m in gated else ''})"
            for m in metrics
        ],
        "attributes": [
            (a, [results.get(f"fairness.{a}.{m}") for m in metrics]) for a in attributes
        ],
        "min_group_size": t.min_group_size,
        "min_group_events": t.min_group_events,
        "policy": facts.fairness_policy,
        "feasibility": facts.feasibility,
        "not_applicable": not_applicable,
        "evidence": ((facts.fairness or {}).get("evidence") or {}).get("source"),
        "groups": _groups(facts),
        "figures": figures(facts, FAIRNESS_IMAGES),
        "report": link(facts, "fairness_report.html"),
    }


def _groups(facts: ReviewFacts) -> dict[str, Any] | None:
    """Every group of every audited attribute; the note column only when some group is small."""
    rows = [
        [
            text(attribute.get("name", "")),
            text(group.get("group", "")),
            text(group.get("count")),
            text(group.get("leavers")),
            *(number(group.get(key), ".3f", missing="") for key, _ in GROUP_RATES),
            "below minimum size: not gated" if group.get("small") else "",
        ]
        for attribute in (facts.fairness or {}).get("attributes", [])
        for group in attribute.get("groups", [])
    ]
    if not rows:
        return None
    headers = ["attribute", "group", "employees", "leavers", *(b for _, b in GROUP_RATES), "note"]
    if not any(row[-1] for row in rows):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    return {"headers": headers, "rows": rows}
