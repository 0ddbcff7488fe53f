"""Quality gates: named checks with a value, a threshold, pass/fail and a sentence.

A pure core: functions here take plain values (metrics, artifact names) and
return `GateResult`s; this module holds the result types and the gates to
Staging, `attrition.registry.production_gates` those to Production and
`attrition.registry.fairness_gates` the fairness gates judged on intervals.
Collecting the evidence from MLflow is the registry's job
(`attrition.registry.evidence`, `attrition.registry.transitions`).

A gate judged on an estimate with a 95% interval gets a verdict on the whole
interval (`attrition.stats.interval_verdict`): `pass`, `fail` or `inconclusive`.
`passed` is True for pass, False for fail and None for a gate that does not block
(inconclusive until signed off, insufficient evidence, not applicable, info).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from attrition.config import GateThresholds
from attrition.stats import FAIL, INFO, PASS, interval_verdict

FAIRNESS_METRICS = (
    "statistical_parity_difference",
    "equal_opportunity_difference",
    "predictive_parity_difference",
)
DOCUMENTS = ("model_card.md", "fairness_report.html")


@dataclass
class GateResult:
    """One gate: `passed` is None when the check is reported but not gated, or not blocking.

    `verdict` is one of `attrition.stats.VERDICTS`; `interval` ([low, high], 95%) and
    `evidence` (the count in the metric's denominator) come with estimates.
    """

    name: str
    value: float | str | None
    threshold: float | str | None
    comparison: str | None
    passed: bool | None
    message: str
    verdict: str | None = None
    interval: list[float] | None = None
    evidence: float | None = None

    def __post_init__(self) -> None:
        if self.verdict is None:
            self.verdict = INFO if self.passed is None else PASS if self.passed else FAIL

    @property
    def failed(self) -> bool:
        return self.passed is False


@dataclass
class GateReport:
    """Every gate of one attempted transition and its outcome."""

    target_stage: str
    version: str
    results: list[GateResult]
    passed: bool
    forced: bool = False
    reason: str | None = None
    actor: str = "unknown"
    timestamp: str = field(default_factory=lambda: utc_now())
    model_name: str = ""
    from_stage: str = ""
    fairness_policy: dict[str, str] | None = None
    feasibility: dict[str, Any] | None = None

    @property
    def failures(self) -> list[GateResult]:
        return [r for r in self.results if r.failed]

    @property
    def outcome(self) -> str:
        """`passed`, `forced` (failed but overridden) or `failed`."""
        if self.passed:
            return "passed"
        return "forced" if self.forced else "failed"

    def summary(self) -> str:
        gated = [r for r in self.results if r.passed is not None]
        ok = sum(1 for r in gated if r.passed)
        open_gates = sum(1 for r in self.results if r.verdict == "inconclusive" and not r.passed)
        extra = f", {open_gates} inconclusive" if open_gates else ""
        return f"{ok}/{len(gated)} gates passed{extra}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome
        data["failed_gates"] = [r.name for r in self.failures]
        data["results"] = [_jsonable(r) for r in data["results"]]
        return data


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string (microseconds keep events ordered)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    # NaN is not valid JSON; a missing value is reported as null.
    for key in ("value", "threshold"):
        value = result[key]
        if isinstance(value, float) and not math.isfinite(value):
            result[key] = None
    return result


def compare(
    name: str,
    value: float | None,
    threshold: float,
    comparison: str,
    what: str,
    interval: Sequence[float] | None = None,
    evidence: float | None = None,
) -> GateResult:
    """A numeric gate: `value > threshold` or `value < threshold`; missing or NaN fails.

    With a 95% `interval` the verdict judges the whole interval: an interval that
    crosses the bar is `inconclusive` (does not block Staging, needs a sign-off for
    Production).
    """
    if value is None or not math.isfinite(value):
        return GateResult(name, None, threshold, comparison, False, f"{what} was not logged")
    if interval is None:
        meets = value > threshold if comparison == ">" else value < threshold
        verdict = "meets" if meets else "misses"
        sentence = f"{what} is {value:.3f}: {verdict} the bar of {comparison} {threshold:g}"
        return GateResult(name, float(value), threshold, comparison, meets, sentence)
    low, high = float(interval[0]), float(interval[1])
    good = "above" if comparison == ">" else "below"
    word = interval_verdict(low, high, threshold, good=good)
    sentence = (
        f"{what} is {value:.3f} (95% interval {low:.3f} to {high:.3f}"
        + (f", {evidence:.0f} rows" if evidence is not None else "")
        + f"): {INTERVAL_WORDS.get(word, word)} the bar of {comparison} {threshold:g}"
    )
    passed = {PASS: True, FAIL: False}.get(word)
    return GateResult(
        name, float(value), threshold, comparison, passed, sentence, word, [low, high], evidence
    )


INTERVAL_WORDS = {
    PASS: "the whole interval meets",
    FAIL: "the whole interval misses",
    "inconclusive": "inconclusive, the interval crosses",
}


def performance_gates(
    metrics: Mapping[str, float],
    thresholds: GateThresholds,
    intervals: Mapping[str, Sequence[float]] | None = None,
    rows: float | None = None,
) -> list[GateResult]:
    """Test-split accuracy, ROC AUC, F1, precision and recall against their thresholds.

    F1, precision and recall are gated on `thresholds.average` (class-weighted or
    attrition class); the attrition-class values are always reported beside them.
    `intervals` (metric name -> [low, high], from test_metrics.json) makes each gate
    judge its interval; without it the point estimate is judged.
    """
    found = dict(intervals or {})

    def gate(name: str, key: str, threshold: float, what: str) -> GateResult:
        return compare(name, metrics.get(f"test_{key}"), threshold, ">", what, found.get(key), rows)

    results = [
        gate("performance.accuracy", "accuracy", thresholds.accuracy, "Test accuracy"),
        gate("performance.roc_auc", "roc_auc", thresholds.roc_auc, "Test ROC AUC"),
    ]
    average = thresholds.average
    for metric in ("f1", "precision", "recall"):
        threshold = float(getattr(thresholds, metric))
        label = (
            f"Test {metric} ({'class-weighted' if average == 'weighted' else 'attrition class'})"
        )
        results.append(gate(f"performance.{metric}", f"{metric}_{average}", threshold, label))
        if average != "attrition":
            info = gate(
                f"performance.{metric}_attrition",
                f"{metric}_attrition",
                threshold,
                f"Test {metric} of the attrition class",
            )
            info.passed, info.verdict = None, INFO
            info.message += " (reported, not gated)"
            results.append(info)
    return results


def fairness_gates(metrics: Mapping[str, float], thresholds: GateThresholds) -> list[GateResult]:
    """Each logged `fairness.<attribute>.<metric>` against its threshold (absolute value).

    A NaN value (groups below the minimum size, or undefined) is reported, not gated.
    No fairness metric at all fails: the assessment is missing.
    """
    results: list[GateResult] = []
    for key in sorted(metrics):
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "fairness" or parts[2] not in FAIRNESS_METRICS:
            continue
        attribute, metric = parts[1], parts[2]
        threshold = float(getattr(thresholds, metric))
        value = metrics[key]
        words = f"{metric.replace('_', ' ')} for {attribute}"
        if value is None or not math.isfinite(value):
            results.append(
                GateResult(
                    key,
                    None,
                    threshold,
                    "<",
                    None,
                    f"The {words} is undefined (groups below the minimum size): "
                    "reported, not gated",
                )
            )
            continue
        passed = abs(value) < threshold
        verdict = "meets" if passed else "misses"
        results.append(
            GateResult(
                key,
                float(value),
                threshold,
                "<",
                passed,
                f"The {words} is {value:+.3f}: |value| {verdict} the bar of < {threshold:g}",
            )
        )
    if not results:
        results.append(
            GateResult(
                "fairness.assessment",
                None,
                "logged",
                None,
                False,
                "No fairness metrics were logged for this run",
            )
        )
    return results


def data_quality_gates(
    metrics: Mapping[str, float], thresholds: GateThresholds
) -> list[GateResult]:
    """Missing-value, outlier and duplicate rates and max absolute input correlation."""
    return [
        compare(
            "data_quality.missing_rate",
            metrics.get("dq_missing_rate"),
            thresholds.missing_value_rate,
            "<",
            "The training data's missing-value rate",
        ),
        compare(
            "data_quality.outlier_rate",
            metrics.get("dq_outlier_rate"),
            thresholds.outlier_rate,
            "<",
            "The training data's outlier rate",
        ),
        correlation_gate(metrics, thresholds.max_abs_correlation),
        duplicate_gate(metrics.get("dq_duplicate_rate"), thresholds.duplicate_rate),
    ]


def correlation_gate(metrics: Mapping[str, float], bar: float) -> GateResult:
    """The largest association between raw inputs (before encoding) against the bar.

    A pair over the bar passes only as handled: the encoded inputs the estimator sees
    stay under it, and the pair is explained as one factor. Runs recorded before raw
    associations were measured are judged on the encoded inputs.
    """
    name, inputs = "data_quality.max_abs_correlation", metrics.get("dq_max_abs_correlation")
    raw = metrics.get("dq_raw_association")
    if raw is None or not math.isfinite(raw):
        return compare(name, inputs, bar, "<", "The largest absolute correlation between inputs")
    if raw < bar:
        return compare(name, raw, bar, "<", "The largest association between raw inputs")
    handled = inputs is not None and math.isfinite(inputs) and inputs < bar
    after = "not logged" if inputs is None else f"{inputs:.3f}"
    message = (
        f"The largest association between raw inputs is {raw:.3f}, over the bar of < {bar:g}; "
        f"the encoded inputs the model sees reach {after} after the correlation filter "
        + ("and the linked inputs are explained as one factor: handled" if handled else "")
        + ("" if handled else "(not under the bar): not handled")
    )
    return GateResult(name, float(raw), bar, "<", handled, message)


def duplicate_gate(value: float | None, threshold: float) -> GateResult:
    """Share of training rows that repeat an earlier row's inputs and target.

    A run recorded before duplicates were measured is reported, not gated.
    """
    name = "data_quality.duplicate_rate"
    if value is None:
        return GateResult(
            name, None, threshold, "<", None, "The duplicate rate was not measured for this run"
        )
    return compare(name, value, threshold, "<", "The training data's duplicate-row rate")


def presence_gate(name: str, path: str, artifacts: Collection[str], what: str) -> GateResult:
    """A gate that an artifact exists in the run."""
    present = path in artifacts
    message = f"{what} ({path}) is {'stored' if present else 'missing'} in the run"
    return GateResult(name, "present" if present else "missing", "present", None, present, message)


def documentation_gates(artifacts: Collection[str]) -> list[GateResult]:
    """The model card and the fairness report exist in the run."""
    return [
        presence_gate("documentation.model_card", "model_card.md", artifacts, "The model card"),
        presence_gate(
            "documentation.fairness_report",
            "fairness_report.html",
            artifacts,
            "The fairness report",
        ),
    ]


def staging_gates(
    metrics: Mapping[str, float],
    artifacts: Collection[str],
    thresholds: GateThresholds,
    *,
    intervals: Mapping[str, Sequence[float]] | None = None,
    rows: float | None = None,
    fairness: list[GateResult] | None = None,
) -> list[GateResult]:
    """All gates for Staging: performance, fairness, data quality, documentation.

    `fairness` replaces the point-estimate fairness gates of the logged metrics with
    gates judged on the run's fairness assessment (`attrition.registry.fairness_gates`).
    """
    return [
        *performance_gates(metrics, thresholds, intervals, rows),
        *(fairness_gates(metrics, thresholds) if fairness is None else fairness),
        *data_quality_gates(metrics, thresholds),
        *documentation_gates(artifacts),
    ]


def build_report(
    target_stage: str,
    version: str,
    results: list[GateResult],
    *,
    forced: bool = False,
    reason: str | None = None,
    actor: str = "unknown",
    model_name: str = "",
    from_stage: str = "",
    fairness_policy: dict[str, str] | None = None,
    feasibility: dict[str, Any] | None = None,
) -> GateReport:
    """Assemble a report; it passes when no gate failed (reported-only gates never fail)."""
    passed = not any(r.failed for r in results)
    return GateReport(
        target_stage=target_stage,
        version=str(version),
        results=results,
        passed=passed,
        forced=forced and not passed,
        reason=reason,
        actor=actor,
        model_name=model_name,
        from_stage=from_stage,
        fairness_policy=fairness_policy,
        feasibility=feasibility,
    )
