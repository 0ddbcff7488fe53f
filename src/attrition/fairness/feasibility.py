"""Whether a policy's gated fairness criteria can hold together at the observed base rates.

Every group's selection rate obeys the identity selection rate = base rate x TPR / PPV
(Chouldechova 2017; Kleinberg, Mullainathan & Raghavan 2016). When base rates differ,
equal TPR and equal PPV force different selection rates: statistical parity, equal
opportunity and predictive parity cannot all be small at once for a useful classifier.
Likewise FPR = base/(1 - base) x (1 - PPV)/PPV x TPR, so equal FPR and equal PPV need a
different TPR per group. This module works those numbers out at the model's operating
point from the audit's per-group table, so a report can say plainly when a policy asks
for the impossible, by how much, and which policy could pass instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from attrition.config import GateThresholds
from attrition.fairness.policy import (
    EQUAL_OPPORTUNITY,
    FALSE_POSITIVE_RATE,
    POLICIES,
    PREDICTIVE_PARITY,
    STATISTICAL_PARITY,
    FairnessPolicy,
)
from attrition.stats import FAIL

Records = Sequence[Mapping[str, Any]]


def implied_selection_rate(base_rate: float, tpr: float, ppv: float) -> float:
    """The selection rate that a base rate, a TPR and a PPV imply (NaN when PPV is 0)."""
    return base_rate * tpr / ppv if ppv > 0 else math.nan


def _finite(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def base_rates(groups: Records, *, gated_only: bool = False) -> dict[str, float]:
    """Leaver rate per group of one attribute (optionally only groups large enough to gate)."""
    rates: dict[str, float] = {}
    for g in groups:
        if gated_only and g.get("small"):
            continue
        count = _finite(g.get("count"))
        if count > 0:
            rates[str(g["group"])] = _finite(g.get("leavers")) / count
    return rates


def operating_point(groups: Records) -> tuple[float, float]:
    """Overall TPR and PPV of the decisions, summed over one attribute's groups."""
    leavers = tp = flagged = 0.0
    for g in groups:
        count, n_leavers = _finite(g.get("count")), _finite(g.get("leavers"))
        tpr = _finite(g.get("tpr"))
        selected = _finite(g.get("flagged"))
        if math.isnan(selected):
            selected = _finite(g.get("selection_rate")) * count
        leavers += 0.0 if math.isnan(n_leavers) else n_leavers
        tp += 0.0 if math.isnan(tpr) else tpr * n_leavers
        flagged += 0.0 if math.isnan(selected) else selected
    tpr_all = tp / leavers if leavers else math.nan
    ppv_all = tp / flagged if flagged else math.nan
    return tpr_all, ppv_all


def smallest_parity_gap(
    high: float, low: float, tpr: float, ppv: float, tpr_slack: float, ppv_slack: float
) -> float:
    """The smallest selection-rate gap between a high- and a low-base-rate group.

    TPR and PPV may each differ between the two groups by up to their slack, around the
    operating point (`tpr`, `ppv`): the gap is least when the high-base-rate group gets
    the lower TPR and higher PPV. Never below 0.
    """
    ppv_low = ppv - ppv_slack / 2
    if ppv_low <= 0:
        return 0.0
    gap = (
        high * (tpr - tpr_slack / 2) / (ppv + ppv_slack / 2) - low * (tpr + tpr_slack / 2) / ppv_low
    )
    return max(gap, 0.0)


def _margin(differences: Mapping[str, Any], metric: str) -> float:
    """How far above its estimate a difference's interval reaches (0 without an interval).

    A verdict of pass needs the whole interval under the bar, so the estimate itself must
    stay this far below it.
    """
    found = differences.get(metric) or {}
    value, high = _finite(found.get("value")), _finite(found.get("ci_high"))
    return max(high - value, 0.0) if math.isfinite(value) and math.isfinite(high) else 0.0


def _parity_check(
    name: str,
    groups: Records,
    differences: Mapping[str, Any],
    thresholds: GateThresholds,
) -> dict[str, Any] | None:
    rates = base_rates(groups, gated_only=True)
    tpr, ppv = operating_point(groups)
    if len(rates) < 2 or not (math.isfinite(tpr) and math.isfinite(ppv)) or ppv <= 0:
        return None
    high_group = max(rates, key=lambda g: rates[g])
    low_group = min(rates, key=lambda g: rates[g])
    high, low = rates[high_group], rates[low_group]
    equal = (high - low) * tpr / ppv
    eo_bar = thresholds.equal_opportunity_difference
    pp_bar = thresholds.predictive_parity_difference
    sp_bar = thresholds.statistical_parity_difference
    at_bars = smallest_parity_gap(high, low, tpr, ppv, eo_bar, pp_bar)
    # To read pass, each interval must sit under its bar: the estimates need that much room.
    eo_room = max(eo_bar - _margin(differences, EQUAL_OPPORTUNITY), 0.0)
    pp_room = max(pp_bar - _margin(differences, PREDICTIVE_PARITY), 0.0)
    sp_room = max(sp_bar - _margin(differences, STATISTICAL_PARITY), 0.0)
    least = smallest_parity_gap(high, low, tpr, ppv, eo_room, pp_room)
    feasible = least < sp_room
    text = (
        f"{name}: base rates from {low:.1%} ({low_group}) to {high:.1%} ({high_group}); at the "
        f"operating point (TPR {tpr:.3f}, PPV {ppv:.3f}) equal TPR and PPV across groups give "
        f"selection rates differing by {equal:.3f}; with the TPR and PPV gaps as large as a "
        f"pass allows at this much evidence ({eo_room:.3f}, {pp_room:.3f}) the smallest "
        f"selection-rate gap the identity allows is {least:.3f}, "
        f"{'under' if feasible else 'not under'} the {sp_room:.3f} that statistical parity "
        f"can pass with (bar {sp_bar:g}; {at_bars:.3f} with both other gaps right at their bars)"
    )
    return {
        "attribute": name,
        "criteria": [STATISTICAL_PARITY, EQUAL_OPPORTUNITY, PREDICTIVE_PARITY],
        "feasible": feasible,
        "gap_with_equal_rates": round(equal, 6),
        "smallest_gap": round(least, 6),
        "smallest_gap_at_bars": round(at_bars, 6),
        "passable_gap": round(sp_room, 6),
        "threshold": sp_bar,
        "statement": text,
    }


def _fpr_check(name: str, groups: Records) -> dict[str, Any] | None:
    rates = base_rates(groups, gated_only=True)
    tpr, ppv = operating_point(groups)
    if len(rates) < 2 or not (math.isfinite(tpr) and math.isfinite(ppv)) or not 0 < ppv < 1:
        return None
    overall = sum(rates.values()) / len(rates)
    fpr = overall / (1 - overall) * (1 - ppv) / ppv * tpr if overall < 1 else math.nan
    needed = {
        g: fpr * (1 - p) * ppv / (p * (1 - ppv)) if p > 0 else math.inf for g, p in rates.items()
    }
    feasible = all(v <= 1 for v in needed.values())
    spread = max(needed.values()) - min(needed.values())
    text = (
        f"{name}: equal FPR ({fpr:.3f}) and equal PPV ({ppv:.3f}) across groups need a TPR of "
        + ", ".join(f"{v:.3f} ({g})" for g, v in needed.items())
        + f": TPR would differ by {spread:.3f}"
        + ("" if feasible else ", and a TPR above 1 is impossible")
    )
    return {
        "attribute": name,
        "criteria": [FALSE_POSITIVE_RATE, PREDICTIVE_PARITY],
        "feasible": feasible,
        "tpr_needed": {g: round(v, 6) for g, v in needed.items()},
        "statement": text,
    }


def assess_feasibility(
    attributes: Sequence[Mapping[str, Any]],
    policy: FairnessPolicy,
    thresholds: GateThresholds,
) -> dict[str, Any]:
    """Feasibility of `policy`'s gated criteria for the audited attributes (fairness.json form).

    Returns `feasible`, a `statement` with the numbers, `base_rates` (attribute -> group
    -> leaver rate), the per-attribute `checks` and, when infeasible or failing, a
    `suggestion` of a policy that could pass.
    """
    rates = {str(a["name"]): base_rates(a.get("groups") or []) for a in attributes}
    gated = set(policy.gated)
    checks: list[dict[str, Any]] = []
    for attribute in attributes:
        groups, name = attribute.get("groups") or [], str(attribute["name"])
        found = None
        if {STATISTICAL_PARITY, EQUAL_OPPORTUNITY, PREDICTIVE_PARITY} <= gated:
            found = _parity_check(name, groups, attribute.get("differences") or {}, thresholds)
        elif {FALSE_POSITIVE_RATE, PREDICTIVE_PARITY} <= gated:
            found = _fpr_check(name, groups)
        if found is not None:
            checks.append(found)
    blocked = [c for c in checks if not c["feasible"]]
    if not attributes:
        statement = "No sensitive attributes were audited: feasibility does not apply."
    elif blocked:
        statement = (
            f"The {policy.name} policy's gated criteria cannot all hold at the observed base "
            "rates and operating point (selection rate = base rate x TPR / PPV). "
            + "; ".join(c["statement"] for c in blocked)
            + "."
        )
    elif checks:
        statement = (
            f"The {policy.name} policy's gated criteria can hold together at the observed base "
            "rates: " + "; ".join(c["statement"] for c in checks) + "."
        )
    else:
        statement = (
            f"The {policy.name} policy gates {', '.join(m.replace('_', ' ') for m in policy.gated)}"
            ": no base-rate identity forces these apart, so whether they hold is up to the model."
        )
    result: dict[str, Any] = {
        "feasible": not blocked,
        "policy": policy.name,
        "statement": statement,
        "base_rates": rates,
        "checks": checks,
        "suggestion": None,
    }
    failing = _failing_metrics(attributes)
    if blocked or gated & failing:
        result["suggestion"] = suggest_policy(policy, failing)
    return result


def _failing_metrics(attributes: Sequence[Mapping[str, Any]]) -> set[str]:
    return {
        metric
        for a in attributes
        for metric, d in (a.get("differences") or {}).items()
        if isinstance(d, Mapping) and d.get("verdict") == FAIL
    }


def suggest_policy(current: FairnessPolicy, failing: set[str]) -> str:
    """A sentence naming the policy (or the constraint) that could pass instead."""
    clean = [
        p for name, p in POLICIES.items() if name != current.name and not set(p.gated) & failing
    ]
    if clean:
        choice = clean[0]
        return (
            f"The {choice.name} policy gates {', '.join(m.replace('_', ' ') for m in choice.gated)}"
            f", none of which fails here; declare it if it fits the decision the scores drive "
            f"({choice.rationale}), e.g. train --fairness-policy {choice.name}."
        )
    stuck = sorted(set(current.gated) & failing)
    return (
        "Every policy has a failing gated metric; train a candidate constrained for "
        f"{', '.join(m.replace('_', ' ') for m in stuck) or 'the gated metrics'} "
        f"(train --fairness-policy {current.name})."
    )
