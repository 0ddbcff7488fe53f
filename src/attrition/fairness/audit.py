"""Fairness audit of the model's decisions, per sensitive attribute, with verdicts on intervals.

For each attribute (e.g. Gender, AgeBand, MaritalStatus) the audit compares groups on
rates of the thresholded decisions and measures the spread (max - min) between groups:
selection rate (statistical parity), true positive rate among leavers (equal
opportunity), precision among flagged employees (predictive parity), false positive
rate among stayers (false-positive-rate parity) and, when probabilities are given,
within-group calibration: each group's observed leaver rate minus its mean predicted
probability, whose spread says whether a score means the same risk in every group.

Groups smaller than `min_group_size` are reported but left out of the spread. Each
spread gets a percentile-bootstrap interval and a verdict (`attrition.stats.interval_verdict`):
`pass` when the whole interval is under the threshold, `fail` when it is wholly at or
over it, `inconclusive` otherwise, and `insufficient_evidence` when the smallest gated
group has fewer than `min_group_events` cases in the metric's own denominator.
Which spreads are gated is the fairness policy's choice; the others are reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from attrition.config import GateThresholds
from attrition.fairness.groups import (
    GROUP_COLUMNS,
    MISSING_GROUP,
    binary,
    calibration_gaps,
    format_metric,
    group_labels,
    group_order,
    group_table,
    num,
)
from attrition.fairness.policy import (
    ALL_METRICS,
    CALIBRATION,
    EQUAL_OPPORTUNITY,
    FALSE_POSITIVE_RATE,
    PREDICTIVE_PARITY,
    STATISTICAL_PARITY,
    policy_named,
)
from attrition.fairness.results import (
    METRICS,
    AttributeFairness,
    Difference,
    FairnessAssessment,
    metric_key,
)
from attrition.stats import (
    FAIL,
    INSUFFICIENT_EVIDENCE,
    PASS,
    bootstrap,
    confusion,
    interval_verdict,
    percentile_interval,
    rates,
)

__all__ = [
    "GROUP_COLUMNS",
    "METRICS",
    "MISSING_GROUP",
    "AttributeFairness",
    "Difference",
    "FairnessAssessment",
    "format_metric",
    "group_labels",
    "group_table",
    "metric_key",
]

# The per-group rate whose spread each metric measures.
RATE_OF: dict[str, str] = {
    STATISTICAL_PARITY: "selection_rate",
    EQUAL_OPPORTUNITY: "tpr",
    PREDICTIVE_PARITY: "precision",
    FALSE_POSITIVE_RATE: "fpr",
    CALIBRATION: "calibration_gap",
}
# The group count in each metric's denominator: the evidence behind it.
EVIDENCE_OF: dict[str, str] = {
    STATISTICAL_PARITY: "count",
    EQUAL_OPPORTUNITY: "leavers",
    PREDICTIVE_PARITY: "flagged",
    FALSE_POSITIVE_RATE: "stayers",
    CALIBRATION: "count",
}
EVIDENCE_WORDS: dict[str, str] = {
    "count": "employees",
    "leavers": "leavers",
    "flagged": "flagged employees",
    "stayers": "stayers",
}
_UNDEFINED_BECAUSE = {
    "selection_rate": "empty group",
    "tpr": "no leavers in the group",
    "precision": "nobody in the group was flagged",
    "fpr": "no stayers in the group",
    "calibration_gap": "no scores in the group",
}
SMALL_GROUP_NOTE = "small group: reported, not gated"
NO_SENSITIVE_REASON = (
    "no sensitive attributes are declared for this dataset (sensitive: [] in its config)"
)


def assess_fairness(
    y_true: Any,
    y_pred: Any,
    audit: pd.DataFrame,
    thresholds: GateThresholds,
    *,
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
    scores: Any = None,
    gated: Sequence[str] | None = None,
) -> FairnessAssessment:
    """Audit 0/1 decisions against 0/1 outcomes for every column of `audit`.

    Rows are matched by position. `scores` (the predicted probabilities behind the
    decisions) adds the calibration difference. `gated` names the metrics that decide
    `passed` (default: the gated metrics of `thresholds.fairness_policy`); the others
    are reported. Bootstrap replicates resample employees (rows) jointly for all
    attributes: every attribute draws the same resamples from `seed`. With `n_boot`
    0 there is no interval and the verdict judges the point estimate.
    """
    truth = binary(y_true, "y_true")
    decision = binary(y_pred, "y_pred")
    if len(truth) != len(decision) or len(truth) != len(audit):
        raise ValueError(
            f"y_true ({len(truth)}), y_pred ({len(decision)}) and audit ({len(audit)}) "
            "must have the same number of rows"
        )
    if n_boot < 0:
        raise ValueError("n_boot must be >= 0")
    proba = None if scores is None else np.asarray(scores, dtype=float)
    if proba is not None and proba.shape != truth.shape:
        raise ValueError(f"scores has {proba.size} values for {len(truth)} rows")
    measured = tuple(m for m in ALL_METRICS if proba is not None or m != CALIBRATION)
    chosen = tuple(gated) if gated is not None else policy_named(thresholds.fairness_policy).gated
    unknown = set(chosen) - set(ALL_METRICS)
    if unknown:
        raise ValueError(f"unknown fairness metric(s): {sorted(unknown)}")
    gated_here = tuple(m for m in chosen if m in measured)
    common = FairnessAssessment(
        attributes=[],
        passed=None,
        min_group_size=thresholds.min_group_size,
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
        gated=gated_here,
        min_group_events=thresholds.min_group_events,
        applicable=False,
        reason=NO_SENSITIVE_REASON,
    )
    if audit.shape[1] == 0:
        return common
    sample = _Sample(truth, decision, proba, n_boot, seed, confidence)
    attributes = [
        _assess_attribute(str(name), audit[name], sample, thresholds, measured, gated_here)
        for name in audit.columns
    ]
    return replace(
        common,
        attributes=attributes,
        passed=all(a.passed for a in attributes),
        applicable=True,
        reason="",
    )


@dataclass(frozen=True)
class _Sample:
    truth: np.ndarray
    decision: np.ndarray
    scores: np.ndarray | None
    n_boot: int
    seed: int
    confidence: float


def _assess_attribute(
    name: str,
    column: pd.Series,
    sample: _Sample,
    thresholds: GateThresholds,
    measured: tuple[str, ...],
    gated: tuple[str, ...],
) -> AttributeFairness:
    labels = group_labels(column)
    order = group_order(column, labels)
    groups = group_table(sample.truth, sample.decision, labels, order, sample.scores)
    groups["small"] = groups["count"] < thresholds.min_group_size
    codes = pd.Index(order).get_indexer(pd.Index(labels))

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        found = rates(confusion(sample.truth, sample.decision, weights, codes, len(order)))
        if sample.scores is not None:
            found["calibration_gap"] = calibration_gaps(
                sample.truth, sample.scores, weights, codes, len(order)
            )[0]
        return found

    boot_rates = bootstrap(statistic, len(codes), resamples=sample.n_boot, seed=sample.seed)
    differences = {
        metric: _difference(
            metric,
            groups,
            float(getattr(thresholds, metric)),
            thresholds,
            boot_rates if sample.n_boot else None,
            sample.confidence,
            metric in gated,
        )
        for metric in measured
    }
    return AttributeFairness(name=name, groups=groups, differences=differences)


def _difference(
    metric: str,
    groups: pd.DataFrame,
    threshold: float,
    thresholds: GateThresholds,
    boot_rates: dict[str, np.ndarray] | None,
    confidence: float,
    gated_metric: bool,
) -> Difference:
    rate, evidence_of = RATE_OF[metric], EVIDENCE_OF[metric]
    values = groups.set_index("group")[rate]
    gated = groups.loc[~groups["small"], "group"].tolist()
    defined = [g for g in gated if math.isfinite(values[g])]
    undefined = [g for g in gated if g not in defined]
    all_defined = values.dropna()
    value_all = _spread(all_defined) if len(all_defined) >= 2 else None
    empty = Difference(
        metric,
        None,
        None,
        None,
        threshold,
        None,
        "",
        value_all,
        defined,
        INSUFFICIENT_EVIDENCE,
        None,
        evidence_of,
        gated_metric,
    )
    if len(gated) < 2:
        reason = f"fewer than 2 groups with at least {thresholds.min_group_size} employees"
        return _replace(empty, reason=f"not gated: {reason} ({len(gated)})")
    missing_note = (
        f"{rate} undefined for {', '.join(undefined)} ({_UNDEFINED_BECAUSE[rate]})"
        if undefined
        else ""
    )
    if len(defined) < 2:
        return _replace(empty, reason=f"not gated: {missing_note}")
    value = _spread(values[defined])
    evidence = float(groups.set_index("group").loc[defined, evidence_of].min())
    position = {g: i for i, g in enumerate(groups["group"])}
    if boot_rates is None:
        low, high = None, None
        verdict = interval_verdict(
            value,
            value,
            threshold,
            good="below",
            evidence=evidence,
            min_evidence=thresholds.min_group_events,
        )
    else:
        low, high = _interval(boot_rates[rate], [position[g] for g in defined], confidence)
        verdict = interval_verdict(
            math.nan if low is None else low,
            math.nan if high is None else high,
            threshold,
            good="below",
            evidence=evidence,
            min_evidence=thresholds.min_group_events,
        )
    notes = [f"{missing_note}; spread over the other groups"] if undefined else []
    if verdict == INSUFFICIENT_EVIDENCE:
        notes.append(
            f"the smallest gated group has {evidence:.0f} {EVIDENCE_WORDS[evidence_of]}, "
            f"under the minimum of {thresholds.min_group_events}: reported, not judged"
        )
    passed = {PASS: True, FAIL: False}.get(verdict) if gated_metric else None
    return Difference(
        metric=metric,
        value=value,
        ci_low=low,
        ci_high=high,
        threshold=threshold,
        passed=passed,
        reason="; ".join(notes),
        value_all_groups=value_all,
        groups=defined,
        verdict=verdict,
        evidence=evidence,
        evidence_of=evidence_of,
        gated=gated_metric,
    )


def _spread(rates: pd.Series) -> float:
    """Max minus min, rounded so that 0.5 - 0.4 is the 0.1 it reads as (and fails a 0.1 limit)."""
    return round(float(rates.max() - rates.min()), 12)


def _replace(diff: Difference, **changes: Any) -> Difference:
    return Difference(**{**diff.to_dict(), **changes})


def _interval(
    replicates: np.ndarray, columns: list[int], confidence: float
) -> tuple[float | None, float | None]:
    """Percentile interval of the max-min spread over `columns` across replicates."""
    chosen = replicates[:, columns]
    enough = np.sum(np.isfinite(chosen), axis=1) >= 2
    chosen = chosen[enough]
    spread = np.nanmax(chosen, axis=1) - np.nanmin(chosen, axis=1)
    low, high = percentile_interval(spread, confidence)
    return num(low), num(high)
