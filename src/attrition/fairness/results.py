"""What the fairness audit finds: differences with verdicts, per attribute and overall.

Plain data with a JSON form (`fairness.json`), rebuilt by `from_dict` from the logged
file of any run, including runs logged before verdicts existed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from attrition.fairness.groups import format_metric, jsonable, num, table_from_records
from attrition.fairness.policy import EQUAL_OPPORTUNITY, PREDICTIVE_PARITY, STATISTICAL_PARITY
from attrition.stats import FAIL, INCONCLUSIVE, INSUFFICIENT_EVIDENCE, NOT_APPLICABLE, PASS

# The default policy's three gated metrics.
METRICS: tuple[str, ...] = (STATISTICAL_PARITY, EQUAL_OPPORTUNITY, PREDICTIVE_PARITY)


@dataclass(frozen=True)
class Difference:
    """One spread between groups, with its bootstrap interval, evidence and verdict.

    `value` is over the gated groups (at least `min_group_size` employees and the rate
    defined); `value_all_groups` also includes small groups. `evidence` is the smallest
    gated group's count in the metric's denominator (`evidence_of`). `verdict` judges
    the interval; `passed` is True for `pass`, False for `fail` and None otherwise or
    when the metric is reported, not gated (`gated` False). `reason` explains a missing
    value or verdict.
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
    verdict: str = ""
    evidence: float | None = None
    evidence_of: str = ""
    gated: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "metric": self.metric,
            "value": num(self.value),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "threshold": self.threshold,
            "passed": self.passed,
            "reason": self.reason,
            "value_all_groups": num(self.value_all_groups),
            "groups": list(self.groups),
            "verdict": self.verdict,
            "evidence": self.evidence,
            "evidence_of": self.evidence_of,
            "gated": self.gated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Difference:
        """Rebuild from `to_dict` output; keys unknown to this version are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class AttributeFairness:
    """The audit of one sensitive attribute: per-group rates and differences."""

    name: str
    groups: pd.DataFrame
    differences: dict[str, Difference]

    @property
    def passed(self) -> bool:
        """True when no gated difference fails."""
        return all(d.passed is not False for d in self.differences.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, including the per-group table."""
        records = [
            {key: jsonable(value) for key, value in row.items()}
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
    """Fairness of thresholded decisions across every sensitive attribute.

    `applicable` is False when no sensitive attribute was declared; `reason` says so,
    and `passed` is then None: there was nothing to judge.
    """

    attributes: list[AttributeFairness]
    passed: bool | None
    min_group_size: int
    n_boot: int
    confidence: float = 0.95
    seed: int = 0
    gated: tuple[str, ...] = METRICS
    min_group_events: int = 20
    applicable: bool = True
    reason: str = ""

    @property
    def verdict(self) -> str:
        """One word for the whole audit: the worst verdict of its gated differences."""
        if not self.applicable:
            return NOT_APPLICABLE
        found = {d.verdict for a in self.attributes for d in a.differences.values() if d.gated}
        for word in (FAIL, INCONCLUSIVE, PASS):
            if word in found:
                return word
        return INSUFFICIENT_EVIDENCE

    def metrics(self) -> dict[str, float]:
        """Flat values for MLflow: `fairness.<attribute>.<metric>` (computable ones only)."""
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
            "verdict": self.verdict,
            "applicable": self.applicable,
            "reason": self.reason,
            "gated": list(self.gated),
            "min_group_size": self.min_group_size,
            "min_group_events": self.min_group_events,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
            "seed": self.seed,
            "attributes": [a.to_dict() for a in self.attributes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FairnessAssessment:
        """Rebuild an assessment from `to_dict` output (e.g. a logged fairness.json)."""
        attributes = [
            AttributeFairness(
                item["name"],
                table_from_records(item["groups"]),
                {m: Difference.from_dict(d) for m, d in item["differences"].items()},
            )
            for item in data.get("attributes") or []
        ]
        passed = data.get("passed")
        return cls(
            attributes=attributes,
            passed=None if passed is None else bool(passed),
            min_group_size=int(data["min_group_size"]),
            n_boot=int(data["n_boot"]),
            confidence=float(data.get("confidence", 0.95)),
            seed=int(data.get("seed", 0)),
            gated=tuple(data.get("gated", METRICS)),
            min_group_events=int(data.get("min_group_events", 0)),
            applicable=bool(data.get("applicable", True)),
            reason=str(data.get("reason", "")),
        )


def metric_key(attribute: str, metric: str) -> str:
    """The MLflow metric name of one attribute's fairness metric."""
    safe = re.sub(r"[^A-Za-z0-9_\-. /:]", "_", attribute)
    return f"fairness.{safe}.{metric}"
