"""Fairness audit of the model's decisions on the test split, per sensitive attribute.

For each attribute (e.g. Gender, AgeBand, MaritalStatus) the audit compares groups on
three rates of the thresholded decisions and gates the spread (max - min) between
groups: selection rate (statistical parity), true positive rate among leavers (equal
opportunity) and precision among flagged employees (predictive parity). Groups
smaller than `min_group_size` are reported but left out of the gated spread, because
a rate over a handful of people says little. Percentile-bootstrap intervals show how
much the spreads could move on another sample of the same size.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attrition.config import GateThresholds
from attrition.stats import bootstrap, confusion, percentile_interval, rates, unit_weights

METRICS: tuple[str, ...] = (
    "statistical_parity_difference",
    "equal_opportunity_difference",
    "predictive_parity_difference",
)
# The per-group rate whose spread each gated metric measures.
RATE_OF: dict[str, str] = {
    "statistical_parity_difference": "selection_rate",
    "equal_opportunity_difference": "tpr",
    "predictive_parity_difference": "precision",
}
_UNDEFINED_BECAUSE = {
    "selection_rate": "empty group",
    "tpr": "no leavers in the group",
    "precision": "nobody in the group was flagged",
}
GROUP_COLUMNS: tuple[str, ...] = (
    "group",
    "count",
    "leavers",
    "selection_rate",
    "tpr",
    "fpr",
    "precision",
    "small",
)
MISSING_GROUP = "(missing)"
SMALL_GROUP_NOTE = "small group: reported, not gated"


def format_metric(value: float | None) -> str:
    """Format a rate or difference the one way reports and the CLI print it."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.3f}"


@dataclass(frozen=True)
class Difference:
    """One gated spread between groups, with its bootstrap interval and verdict.

    `value` is over the gated groups (at least `min_group_size` employees and the rate
    defined); `value_all_groups` also includes small groups. `passed` is None when the
    spread could not be computed; `reason` then says why.
    """

    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    threshold: float
    passed: bool | None
    reason: str
    value_all_groups: float | None
    groups: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "metric": self.metric,
            "value": _num(self.value),
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
            "threshold": self.threshold,
            "passed": self.passed,
            "reason": self.reason,
            "value_all_groups": _num(self.value_all_groups),
            "groups": list(self.groups),
        }


@dataclass(frozen=True)
class AttributeFairness:
    """The audit of one sensitive attribute: per-group rates and gated differences."""

    name: str
    groups: pd.DataFrame
    differences: dict[str, Difference]

    @property
    def passed(self) -> bool:
        """True when no gated difference fails (uncomputable ones are not gated)."""
        return all(d.passed is not False for d in self.differences.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, including the per-group table."""
        records = [
            {key: _jsonable(value) for key, value in row.items()}
            for row in self.groups.to_dict(orient="records")
        ]
        return {
            "name": self.name,
            "passed": self.passed,
            "groups": records,
            "differences": {m: d.to_dict() for m, d in self.differences.items()},
        }


@dataclass(frozen=True)
class FairnessAssessment:
    """Fairness of thresholded decisions across every sensitive attribute."""

    attributes: list[AttributeFairness]
    passed: bool
    min_group_size: int
    n_boot: int
    confidence: float = 0.95
    seed: int = 0

    def metrics(self) -> dict[str, float]:
        """Flat gated values for MLflow: `fairness.<attribute>.<metric>` (computable ones only)."""
        flat: dict[str, float] = {}
        for attribute in self.attributes:
            for metric, diff in attribute.differences.items():
                if diff.value is not None:
                    flat[metric_key(attribute.name, metric)] = diff.value
        return flat

    def failures(self) -> list[str]:
        """One line per failing gate, naming attribute, metric, value and threshold."""
        return [
            f"fairness.{a.name}.{m}: {format_metric(d.value)} >= {format_metric(d.threshold)}"
            for a in self.attributes
            for m, d in a.differences.items()
            if d.passed is False
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe full detail: per-group tables, differences, intervals and verdicts."""
        return {
            "passed": self.passed,
            "min_group_size": self.min_group_size,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
            "seed": self.seed,
            "attributes": [a.to_dict() for a in self.attributes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FairnessAssessment:
        """Rebuild an assessment from `to_dict` output (e.g. a logged fairness.json)."""
        attributes = []
        for item in data["attributes"]:
            groups = pd.DataFrame(item["groups"], columns=list(GROUP_COLUMNS))
            for column in ("selection_rate", "tpr", "fpr", "precision"):
                groups[column] = groups[column].astype(float)
            groups["small"] = groups["small"].astype(bool)
            differences = {
                metric: Difference(**{k: v for k, v in diff.items()})
                for metric, diff in item["differences"].items()
            }
            attributes.append(AttributeFairness(item["name"], groups, differences))
        return cls(
            attributes=attributes,
            passed=bool(data["passed"]),
            min_group_size=int(data["min_group_size"]),
            n_boot=int(data["n_boot"]),
            confidence=float(data.get("confidence", 0.95)),
            seed=int(data.get("seed", 0)),
        )


def metric_key(attribute: str, metric: str) -> str:
    """The MLflow metric name of one attribute's gated metric."""
    safe = re.sub(r"[^A-Za-z0-9_\-. /:]", "_", attribute)
    return f"fairness.{safe}.{metric}"


def assess_fairness(
    y_true: Any,
    y_pred: Any,
    audit: pd.DataFrame,
    thresholds: GateThresholds,
    *,
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> FairnessAssessment:
    """Audit 0/1 decisions against 0/1 outcomes for every column of `audit`.

    Rows are matched by position. Bootstrap replicates resample employees (rows)
    jointly for all attributes: every attribute draws the same resamples from `seed`.
    """
    truth = _binary(y_true, "y_true")
    decision = _binary(y_pred, "y_pred")
    if len(truth) != len(decision) or len(truth) != len(audit):
        raise ValueError(
            f"y_true ({len(truth)}), y_pred ({len(decision)}) and audit ({len(audit)}) "
            "must have the same number of rows"
        )
    if n_boot < 0:
        raise ValueError("n_boot must be >= 0")
    attributes = [
        _assess_attribute(
            str(name), audit[name], truth, decision, thresholds, n_boot, seed, confidence
        )
        for name in audit.columns
    ]
    return FairnessAssessment(
        attributes=attributes,
        passed=all(a.passed for a in attributes),
        min_group_size=thresholds.min_group_size,
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
    )


def _assess_attribute(
    name: str,
    column: pd.Series,
    truth: np.ndarray,
    decision: np.ndarray,
    thresholds: GateThresholds,
    n_boot: int,
    seed: int,
    confidence: float,
) -> AttributeFairness:
    labels = group_labels(column)
    order = _group_order(column, labels)
    groups = group_table(truth, decision, labels, order)
    groups["small"] = groups["count"] < thresholds.min_group_size
    codes = pd.Index(order).get_indexer(pd.Index(labels))
    boot_rates = bootstrap(
        lambda w: rates(confusion(truth, decision, w, codes, len(order))),
        len(truth),
        resamples=n_boot,
        seed=seed,
    )
    differences = {
        metric: _difference(
            metric,
            groups,
            float(getattr(thresholds, metric)),
            thresholds.min_group_size,
            boot_rates,
            confidence,
        )
        for metric in METRICS
    }
    return AttributeFairness(name=name, groups=groups, differences=differences)


def group_labels(column: pd.Series) -> np.ndarray:
    """Group label of every row as text; missing values form their own group."""
    as_text = column.astype(object).where(column.notna(), MISSING_GROUP)
    return np.asarray([str(v) for v in as_text], dtype=object)


def group_table(
    truth: np.ndarray, decision: np.ndarray, labels: np.ndarray, order: list[str]
) -> pd.DataFrame:
    """Per-group count, leavers, selection rate, TPR, FPR and precision, groups in `order`."""
    codes = pd.Index(order).get_indexer(pd.Index(labels))
    counts = confusion(truth, decision, unit_weights(len(codes)), codes, len(order))
    found = rates(counts)
    table = pd.DataFrame(
        {
            "group": pd.Series(order, dtype=object),
            "count": (counts.tp + counts.fp + counts.fn + counts.tn)[0].astype(int),
            "leavers": (counts.tp + counts.fn)[0].astype(int),
        }
    )
    for column in ("selection_rate", "tpr", "fpr", "precision"):
        table[column] = found[column][0]
    return table


def _difference(
    metric: str,
    groups: pd.DataFrame,
    threshold: float,
    min_group_size: int,
    boot_rates: dict[str, np.ndarray],
    confidence: float,
) -> Difference:
    rate = RATE_OF[metric]
    values = groups.set_index("group")[rate]
    gated = groups.loc[~groups["small"], "group"].tolist()
    defined = [g for g in gated if math.isfinite(values[g])]
    undefined = [g for g in gated if g not in defined]
    all_defined = values.dropna()
    value_all = _spread(all_defined) if len(all_defined) >= 2 else None
    empty = Difference(metric, None, None, None, threshold, None, "", value_all, defined)
    if len(gated) < 2:
        reason = f"fewer than 2 groups with at least {min_group_size} employees ({len(gated)})"
        return _replace(empty, reason=f"not gated: {reason}")
    missing_note = (
        f"{rate} undefined for {', '.join(undefined)} ({_UNDEFINED_BECAUSE[rate]})"
        if undefined
        else ""
    )
    if len(defined) < 2:
        return _replace(empty, reason=f"not gated: {missing_note}")
    value = _spread(values[defined])
    position = {g: i for i, g in enumerate(groups["group"])}
    low, high = _interval(boot_rates[rate], [position[g] for g in defined], confidence)
    reason = f"{missing_note}; spread over the other groups" if undefined else ""
    return Difference(
        metric=metric,
        value=value,
        ci_low=low,
        ci_high=high,
        threshold=threshold,
        passed=value < threshold,
        reason=reason,
        value_all_groups=value_all,
        groups=defined,
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
    return _num(low), _num(high)


def _group_order(column: pd.Series, labels: np.ndarray) -> list[str]:
    """Groups in a readable order: category order when given, else natural order."""
    present = set(labels.tolist())
    if isinstance(column.dtype, pd.CategoricalDtype):
        ordered = [str(c) for c in column.cat.categories if str(c) in present]
        return ordered + sorted(present - set(ordered), key=_natural_key)
    return sorted(present, key=_natural_key)


def _natural_key(label: str) -> tuple[float, str]:
    """Sort bands such as '<30', '30-39', '50+' by their first number."""
    if label == MISSING_GROUP:
        return (math.inf, "~")
    match = re.search(r"-?\d+(?:\.\d+)?", label)
    number = float(match.group()) if match else math.inf
    if label.lstrip().startswith("<"):
        number -= 0.5
    return (number, label)


def _binary(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    unique = set(pd.unique(array).tolist())
    if not unique <= {0, 1}:  # True/False compare equal to 1/0
        raise ValueError(f"{name} must hold 0/1 decisions, found {sorted(map(str, unique))[:5]}")
    return array.astype(bool)


def _num(value: float | np.ndarray | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
