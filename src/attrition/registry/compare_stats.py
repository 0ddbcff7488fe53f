"""Differences between compared runs with bootstrap intervals, and the verdict they support.

Every run is compared with the first (the baseline) on ROC AUC, the gated
decision metrics at each run's own threshold, and the gated fairness differences.
When both runs were tested on the same employees the bootstrap is paired (both
models scored under the same resample); otherwise the two test sets are resampled
independently. A difference counts only when its 95% interval excludes 0.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attrition.fairness.audit import RATE_OF, group_labels
from attrition.registry.compare import RunSummary
from attrition.stats import (
    Array,
    bootstrap,
    confusion,
    decision_metrics,
    percentile_interval,
    rates,
    unit_weights,
    weighted_auc,
)

DECISION_METRICS = ("accuracy", "f1_weighted", "precision_weighted", "recall_weighted")
RESAMPLES = 1000
Statistic = Callable[[Array], dict[str, Array]]


@dataclass(frozen=True)
class MetricDifference:
    """One metric of one run against the baseline: values, difference and its interval."""

    metric: str
    baseline: float
    value: float
    low: float
    high: float
    paired: bool
    higher_is_better: bool

    @property
    def difference(self) -> float:
        """This run's value minus the baseline's."""
        return self.value - self.baseline

    @property
    def clear(self) -> bool:
        """The 95% interval excludes 0: a difference outside the noise."""
        return (
            math.isfinite(self.low) and math.isfinite(self.high) and (self.low > 0 or self.high < 0)
        )

    @property
    def better(self) -> bool | None:
        """True or False when the difference is clear, None when it is within the noise."""
        if not self.clear:
            return None
        return (self.difference > 0) == self.higher_is_better


@dataclass(frozen=True)
class RunDifferences:
    """Every compared metric of one run against the baseline, and the one-line verdict."""

    label: str
    baseline: str
    paired: bool
    rows: int
    differences: list[MetricDifference]

    @property
    def verdict(self) -> str:
        """One line: clearly worse on what, clearly better on what, or no clear difference."""
        worse = [d.metric for d in self.differences if d.better is False]
        better = [d.metric for d in self.differences if d.better is True]
        how = "paired" if self.paired else "unpaired (different test rows)"
        if worse:
            line = f"{self.label} is worse than {self.baseline} on {', '.join(worse)}"
            if better:
                line += f", better on {', '.join(better)}"
        elif better:
            line = f"{self.label} is better than {self.baseline} on {', '.join(better)}"
            line += " and not clearly worse on anything"
        else:
            line = f"No difference between {self.label} and {self.baseline} outside the noise"
        return f"{line} (95% {how} bootstrap intervals)."


def _threshold(run: RunSummary) -> float | None:
    for value in (run.params.get("threshold"), run.metrics.get("threshold")):
        try:
            if value is not None:
                return float(value)
        except ValueError:
            continue
    return None


def _gated_groups(run: RunSummary) -> dict[tuple[str, str], list[str]]:
    """(attribute, metric) -> the groups its gate is computed over, from `fairness.json`."""
    found: dict[tuple[str, str], list[str]] = {}
    for attribute in (run.fairness or {}).get("attributes") or []:
        for metric, diff in (attribute.get("differences") or {}).items():
            groups = [str(g) for g in diff.get("groups") or []]
            # the calibration gap is a score average, not a confusion rate: no paired interval
            rate = RATE_OF.get(metric)
            if (
                rate not in (None, "calibration_gap")
                and diff.get("value") is not None
                and len(groups) >= 2
            ):
                found[(str(attribute["name"]), metric)] = groups
    return found


def run_statistic(run: RunSummary, fairness: Sequence[tuple[str, str, list[str]]]) -> Statistic:
    """The compared metrics of one run as a function of bootstrap weights."""
    if run.test_labels is None or run.test_proba is None:
        raise ValueError(f"run {run.label} has no test predictions")
    labels, proba = run.test_labels, run.test_proba
    threshold = _threshold(run)
    decisions = None if threshold is None else (proba >= threshold).astype(int)
    groups = run.test_groups

    def statistic(weights: Array) -> dict[str, Array]:
        found = {"roc_auc": weighted_auc(proba, labels, weights)}
        if decisions is not None:
            counts = decision_metrics(confusion(labels, decisions, weights))
            found.update({name: counts[name] for name in DECISION_METRICS})
            for attribute, metric, members in fairness:
                if groups is None or attribute not in groups.columns:
                    continue
                text = group_labels(groups[attribute])
                codes = pd.Index(members).get_indexer(pd.Index(text))
                grouped = rates(confusion(labels, decisions, weights, codes, len(members)))
                rate = grouped[RATE_OF[metric]]
                with warnings.catch_warnings():  # a resample may empty a group: NaN
                    warnings.simplefilter("ignore", RuntimeWarning)
                    found[f"fairness.{attribute}.{metric}"] = np.nanmax(rate, axis=1) - np.nanmin(
                        rate, axis=1
                    )
        return found

    return statistic


def _aligned(baseline: RunSummary, run: RunSummary) -> RunSummary | None:
    """`run` reordered to the baseline's test rows, or None when they are not the same rows."""
    if baseline.test_ids is None or run.test_ids is None:
        return None
    if sorted(baseline.test_ids) != sorted(run.test_ids) or len(set(run.test_ids)) != len(
        run.test_ids
    ):
        return None
    position = {row: i for i, row in enumerate(run.test_ids)}
    order = np.array([position[row] for row in baseline.test_ids])
    if run.test_labels is None or baseline.test_labels is None:
        return None
    if not np.array_equal(run.test_labels[order], baseline.test_labels):
        return None  # same ids, other outcomes: not the same test set
    groups = run.test_groups
    return RunSummary(
        **{
            **run.__dict__,
            "test_labels": None if run.test_labels is None else run.test_labels[order],
            "test_proba": None if run.test_proba is None else run.test_proba[order],
            "test_ids": list(baseline.test_ids),
            "test_groups": None if groups is None else groups.iloc[order].reset_index(drop=True),
        }
    )


def compare_with_baseline(
    baseline: RunSummary, run: RunSummary, *, resamples: int = RESAMPLES, seed: int = 0
) -> RunDifferences | None:
    """Bootstrap differences (run - baseline) of every metric both runs can compute.

    None when either run lacks test predictions.
    """
    if baseline.test_proba is None or run.test_proba is None:
        return None
    shared = _gated_groups(baseline)
    fairness = [
        (attr, metric, groups)
        for (attr, metric), groups in shared.items()
        if (attr, metric) in _gated_groups(run)
    ]
    aligned = _aligned(baseline, run)
    stat_base = run_statistic(baseline, fairness)
    n_base = len(baseline.test_proba)
    if aligned is not None:
        stat_run = run_statistic(aligned, fairness)
        replicates = bootstrap(
            lambda w: _minus(stat_run(w), stat_base(w)), n_base, resamples=resamples, seed=seed
        )
        rows = n_base
    else:
        stat_run = run_statistic(run, fairness)
        seed_run, seed_base = np.random.SeedSequence(seed).spawn(2)
        of_run = bootstrap(stat_run, len(run.test_proba), resamples=resamples, seed=seed_run)
        of_base = bootstrap(stat_base, n_base, resamples=resamples, seed=seed_base)
        replicates = _minus(of_run, of_base)
        rows = min(n_base, len(run.test_proba))
    scored = aligned if aligned is not None else run
    points_run = stat_run(
        unit_weights(len(scored.test_proba if scored.test_proba is not None else []))
    )
    points_base = stat_base(unit_weights(n_base))
    differences = []
    for metric, values in replicates.items():
        low, high = percentile_interval(values)
        differences.append(
            MetricDifference(
                metric=metric,
                baseline=float(points_base[metric][0]),
                value=float(points_run[metric][0]),
                low=float(low),
                high=float(high),
                paired=aligned is not None,
                higher_is_better=not metric.startswith("fairness."),
            )
        )
    return RunDifferences(run.label, baseline.label, aligned is not None, rows, differences)


def _minus(a: dict[str, Array], b: dict[str, Array]) -> dict[str, Array]:
    return {key: np.asarray(a[key]) - np.asarray(b[key]) for key in a if key in b}
