"""What a monitoring run found: each signal as (fired, one-line detail), from plain results.

Pure functions over the drift check and the performance result; the rules that
turn signals into an action are `attrition.monitor.rules`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from attrition.monitor.rules import DriftRules, MonitoringConfig

if TYPE_CHECKING:
    from attrition.monitor.drift_check import DriftCheck
    from attrition.monitor.performance import PerformanceResult


def drift_findings(
    check: DriftCheck | None, rules: DriftRules, note: str = ""
) -> dict[str, tuple[bool, str]]:
    """The drift signals of a monitoring run (signal -> fired, detail)."""
    if check is None:
        skipped = note or "drift not checked"
        return {
            name: (False, skipped)
            for name in ("dataset_drift", "feature_drift", "prediction_drift")
        } | {"predicted_rate_shift": (False, skipped)}
    result, pred, rate = check.features, check.prediction, check.predicted_rate
    drifted = ", ".join(result.drifted_features) or "none"
    share = f"{len(result.drifted_features)}/{len(result.features)} columns drifted ({drifted})"
    return {
        "dataset_drift": (
            result.dataset_drift,
            f"{share}; dataset drift at {result.share_threshold:.0%}",
        ),
        "feature_drift": (
            len(result.drifted_features) >= rules.feature_drift_min_columns
            and not result.dataset_drift,
            f"{share}; alert from {rules.feature_drift_min_columns} columns",
        ),
        "prediction_drift": (
            check.prediction_drift,
            f"PSI {pred['psi']:.3f} (limit {pred['psi_threshold']:g}), "
            f"K-S p {pred['ks_pvalue']:.3g} (limit {pred['p_threshold']:g})",
        ),
        "predicted_rate_shift": (
            bool(rate["drifted"]),
            f"flagged share {rate['reference_rate']:.1%} -> {rate['current_rate']:.1%} "
            f"(limit ±{rate['max_change']:.0%}, p {rate['p_value']:.3g})",
        ),
    }


def _drop_detail(
    values: dict[str, Any], reference: dict[str, float], limits: dict[str, float]
) -> tuple[bool, str]:
    dropped, parts = False, []
    for metric, limit in limits.items():
        value, base = values.get(metric), reference.get(metric)
        if value is None or base is None or not math.isfinite(value):
            continue
        # Brier is a loss: for it a "drop" in quality is a rise in value
        below = (value - base if metric == "brier" else base - value) > limit
        dropped |= below
        parts.append(f"{metric} {value:.3f} vs {base:.3f} at training (max drop {limit:g})")
    return dropped, "; ".join(parts)


def performance_findings(
    result: PerformanceResult | None,
    window_estimate: dict[str, float] | None,
    config: MonitoringConfig,
) -> dict[str, tuple[bool, str]]:
    """Realised and estimated drops against the test split, and fairness spreads."""
    rules = config.performance
    reference = result.reference_metrics if result else {}
    findings: dict[str, tuple[bool, str]] = {
        "performance_drop": (False, "no outcomes given"),
        "fairness": (False, "no outcomes given"),
        "estimated_performance_drop": (False, "no current rows"),
    }
    if window_estimate:
        dropped, detail = _drop_detail(window_estimate, reference, rules.max_drop)
        findings["estimated_performance_drop"] = (dropped, f"estimated {detail}")
    if result is None or result.overall is None:
        return findings
    judged = [p for p in result.periods if p["counts"].get("rows", 0) >= rules.min_outcomes]
    if not judged:
        findings["performance_drop"] = (
            False,
            f"{result.matched} matched outcomes: no period has {rules.min_outcomes}",
        )
    else:
        latest = judged[-1]
        values = {k: v.get("value") for k, v in latest["realised"].items()}
        dropped, detail = _drop_detail(values, reference, rules.max_drop)
        findings["performance_drop"] = (dropped, f"{latest['period']}: realised {detail}")
    spreads = result.fairness[result.fairness["group"] == "(spread)"]
    if spreads.empty:
        findings["fairness"] = (False, "no audited attribute with two large groups")
    else:
        latest_period = spreads["period"].max()
        recent = spreads[spreads["period"] == latest_period]
        worst = recent[["selection_rate", "tpr"]].max(axis=1, skipna=True)
        limit = rules.max_fairness_difference
        over = recent[worst > limit]
        detail = ", ".join(
            f"{a} spread {w:.3f}" for a, w in zip(recent["attribute"], worst, strict=True)
        )
        findings["fairness"] = (not over.empty, f"{latest_period}: {detail} (limit {limit:g})")
    return findings
