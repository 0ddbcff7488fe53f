"""Quality gates: named checks with a value, a threshold, pass/fail and a sentence.

A pure core: functions here take plain values (metrics, artifact names, scores)
and return `GateResult`s. Collecting that evidence from MLflow is the registry's
job (`attrition.registry.transitions`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from attrition.config import GateThresholds

FAIRNESS_METRICS = (
    "statistical_parity_difference",
    "equal_opportunity_difference",
    "predictive_parity_difference",
)
DOCUMENTS = ("model_card.md", "fairness_report.html")
REFERENCE_FILES = ("reference/features.parquet", "reference/reference.json")
FORCEABLE_RECORDS = ("passed", "forced")


@dataclass
class GateResult:
    """One gate: `passed` is None when the check is reported but not gated."""

    name: str
    value: float | str | None
    threshold: float | str | None
    comparison: str | None
    passed: bool | None
    message: str

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
        return f"{ok}/{len(gated)} gates passed"

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
    name: str, value: float | None, threshold: float, comparison: str, what: str
) -> GateResult:
    """A numeric gate: `value > threshold` or `value < threshold`; missing or NaN fails."""
    if value is None or not math.isfinite(value):
        return GateResult(name, None, threshold, comparison, False, f"{what} was not logged")
    passed = value > threshold if comparison == ">" else value < threshold
    verdict = "meets" if passed else "misses"
    sentence = f"{what} is {value:.3f}: {verdict} the bar of {comparison} {threshold:g}"
    return GateResult(name, float(value), threshold, comparison, passed, sentence)


def performance_gates(metrics: Mapping[str, float], thresholds: GateThresholds) -> list[GateResult]:
    """Test-split accuracy, ROC AUC, F1, precision and recall against their thresholds.

    F1, precision and recall are gated on `thresholds.average` (class-weighted or
    attrition class); the attrition-class values are always reported beside them.
    """
    results = [
        compare(
            "performance.accuracy",
            metrics.get("test_accuracy"),
            thresholds.accuracy,
            ">",
            "Test accuracy",
        ),
        compare(
            "performance.roc_auc",
            metrics.get("test_roc_auc"),
            thresholds.roc_auc,
            ">",
            "Test ROC AUC",
        ),
    ]
    average = thresholds.average
    for metric in ("f1", "precision", "recall"):
        threshold = float(getattr(thresholds, metric))
        label = (
            f"Test {metric} ({'class-weighted' if average == 'weighted' else 'attrition class'})"
        )
        results.append(
            compare(
                f"performance.{metric}",
                metrics.get(f"test_{metric}_{average}"),
                threshold,
                ">",
                label,
            )
        )
        if average != "attrition":
            info = compare(
                f"performance.{metric}_attrition",
                metrics.get(f"test_{metric}_attrition"),
                threshold,
                ">",
                f"Test {metric} of the attrition class",
            )
            info.passed = None
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
    """Missing-value rate, outlier rate and max absolute input correlation of the training data."""
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
        compare(
            "data_quality.max_abs_correlation",
            metrics.get("dq_max_abs_correlation"),
            thresholds.max_abs_correlation,
            "<",
            "The largest absolute correlation between model inputs",
        ),
    ]


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
    metrics: Mapping[str, float], artifacts: Collection[str], thresholds: GateThresholds
) -> list[GateResult]:
    """All gates for Staging: performance, fairness, data quality, documentation."""
    return [
        *performance_gates(metrics, thresholds),
        *fairness_gates(metrics, thresholds),
        *data_quality_gates(metrics, thresholds),
        *documentation_gates(artifacts),
    ]


@dataclass
class ABComparison:
    """Paired bootstrap of the ROC AUC difference (candidate - champion) on one test set."""

    champion_version: str
    candidate_auc: float
    champion_auc: float
    difference: float
    low: float
    high: float
    resamples: int
    rows: int
    seed: int


def weighted_auc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of `scores` under each row of bootstrap `weights` (resamples x rows), ties = 1/2.

    Resampling with replacement is the same as weighting each row by how often
    it was drawn, so one sort serves every resample.
    """
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    positive = labels[order] == 1
    w = np.atleast_2d(weights)[:, order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    pos = np.add.reduceat(w * positive, starts, axis=1)
    neg = np.add.reduceat(w * ~positive, starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    numerator = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    denominator = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def paired_bootstrap_auc(
    labels: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    *,
    champion_version: str = "",
    resamples: int = 1000,
    seed: int = 0,
) -> ABComparison:
    """Compare two models' ROC AUC on the same rows with a paired bootstrap (95% interval)."""
    y = np.asarray(labels).astype(int)
    a = np.asarray(candidate, dtype=float)
    b = np.asarray(champion, dtype=float)
    if not (len(y) == len(a) == len(b)) or len(y) == 0:
        raise ValueError("labels and both score vectors must have the same, non-zero length")
    if len(np.unique(y)) != 2:
        raise ValueError("the evaluation labels must contain both classes")
    ones = np.ones((1, len(y)))
    auc_a = float(weighted_auc(a, y, ones)[0])
    auc_b = float(weighted_auc(b, y, ones)[0])
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(y), np.full(len(y), 1.0 / len(y)), size=resamples).astype(float)
    diff = weighted_auc(a, y, weights) - weighted_auc(b, y, weights)
    low, high = np.nanpercentile(diff, [2.5, 97.5])
    return ABComparison(
        champion_version=champion_version,
        candidate_auc=auc_a,
        champion_auc=auc_b,
        difference=auc_a - auc_b,
        low=float(low),
        high=float(high),
        resamples=resamples,
        rows=len(y),
        seed=seed,
    )


def ab_gate(
    comparison: ABComparison | None, margin: float, problem: str | None = None
) -> GateResult:
    """Non-inferiority: the lower end of the 95% interval of the AUC difference > -margin.

    Without a champion there is nothing to compare (first deployment): reported, not gated.
    `problem` reports why the comparison could not be made (fails the gate).
    """
    name = "production.ab_comparison"
    if problem is not None:
        return GateResult(name, None, -margin, ">", False, f"A/B comparison failed: {problem}")
    if comparison is None:
        return GateResult(
            name,
            None,
            -margin,
            ">",
            None,
            "No champion to compare against (first deployment): reported, not gated",
        )
    c = comparison
    passed = c.low > -margin
    verdict = "not worse than" if passed else "possibly worse than"
    message = (
        f"ROC AUC {c.candidate_auc:.3f} vs champion v{c.champion_version} {c.champion_auc:.3f} "
        f"on {c.rows} test rows: difference {c.difference:+.3f}, 95% paired-bootstrap interval "
        f"[{c.low:+.3f}, {c.high:+.3f}] ({c.resamples} resamples); lower end "
        f"{'>' if passed else '<='} -{margin:g}, so the candidate is {verdict} the champion"
    )
    return GateResult(name, round(c.low, 6), -margin, ">", passed, message)


def staging_record_gate(current_stage: str, record: str | None) -> GateResult:
    """The version is in Staging with a passing (or forced) Staging gate record."""
    name = "production.staging_record"
    value = f"{current_stage}/{record or 'no record'}"
    passed = current_stage == "Staging" and record in FORCEABLE_RECORDS
    if passed:
        message = f"In Staging with a {record} Staging gate record"
    elif current_stage != "Staging":
        message = f"The version is in {current_stage}, not Staging: promote it to Staging first"
    else:
        message = f"In Staging but its Staging gate record is '{record or 'missing'}'"
    return GateResult(name, value, "Staging/passed", None, passed, message)


def review_gate(decision: str | None, reason: str | None = None) -> GateResult:
    """A version rejected in review stays out of Production."""
    name = "production.review"
    if decision == "rejected":
        why = f": {reason}" if reason else ""
        return GateResult(name, "rejected", "not rejected", None, False, f"Rejected in review{why}")
    if decision == "approved":
        return GateResult(name, "approved", "not rejected", None, True, "Approved in review")
    return GateResult(
        name, "not reviewed", "not rejected", None, True, "No review recorded (not rejected)"
    )


def reference_gate(artifacts: Collection[str]) -> GateResult:
    """The monitoring reference (features sample and reference.json) is stored with the version."""
    missing = [p for p in REFERENCE_FILES if p not in artifacts]
    passed = not missing
    message = (
        "The monitoring reference is stored with the version"
        if passed
        else f"The monitoring reference is incomplete: missing {', '.join(missing)}"
    )
    return GateResult(
        "production.monitoring_reference",
        "present" if passed else "missing",
        "present",
        None,
        passed,
        message,
    )


def rollback_gate(
    champion: str | None,
    archived_target: str | None,
    ever_in_production: bool,
    first_deployment: bool,
) -> GateResult:
    """A rollback target exists, or this is (explicitly) the first deployment."""
    name = "production.rollback_target"
    if champion is not None:
        return GateResult(
            name,
            f"v{champion}",
            "exists",
            None,
            True,
            f"Current champion v{champion} becomes the rollback target",
        )
    if archived_target is not None:
        return GateResult(
            name,
            f"v{archived_target}",
            "exists",
            None,
            True,
            f"Previous Production version v{archived_target} (Archived) is the rollback target",
        )
    if first_deployment or not ever_in_production:
        how = (
            "declared with --first-deployment"
            if first_deployment
            else "no version was ever in Production"
        )
        return GateResult(
            name,
            "first deployment",
            "exists",
            None,
            True,
            f"First deployment ({how}): no rollback target",
        )
    return GateResult(
        name,
        "none",
        "exists",
        None,
        False,
        "No rollback target: no champion and no archived Production version "
        "(pass --first-deployment to deploy without one)",
    )


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
    )
