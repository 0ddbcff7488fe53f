"""The fairness chart and the self-contained fairness report of one model."""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrition.fairness import (
    RATE_OF,
    SMALL_GROUP_NOTE,
    AttributeFairness,
    Difference,
    FairnessAssessment,
    format_metric,
    metric_key,
)
from attrition.fairness.audit import EVIDENCE_WORDS
from attrition.fairness.intersection import Intersection
from attrition.reports.fairness_plots import plot_fairness
from attrition.reports.format import figure_png, join_words, percent
from attrition.reports.render import Footer, render

if TYPE_CHECKING:
    from attrition.mitigation import MitigationComparison

TITLES: dict[str, str] = {
    "statistical_parity_difference": "Statistical parity difference",
    "equal_opportunity_difference": "Equal opportunity difference",
    "predictive_parity_difference": "Predictive parity difference",
    "false_positive_rate_difference": "False positive rate difference",
    "calibration_difference": "Calibration difference",
    "equalized_odds_difference": "Equalized odds difference",
}
RATE_WORDS: dict[str, str] = {
    "selection_rate": "flag rates",
    "tpr": "shares of leavers flagged",
    "precision": "precisions",
    "fpr": "shares of stayers flagged",
    "calibration_gap": "calibration gaps (observed leaver rate minus mean predicted probability)",
}
GROUP_HEADERS = (
    "group",
    "employees",
    "leavers",
    "selection rate",
    "TPR",
    "FPR",
    "precision",
    "gated",
)


def render_fairness_report(
    assessment: FairnessAssessment,
    *,
    model_name: str,
    version_or_run: str,
    threshold: float,
    comparison: MitigationComparison | None = None,
    generated: datetime | None = None,
    document: dict[str, Any] | None = None,
    intersection: Intersection | None = None,
) -> str:
    """The whole assessment as one self-contained HTML page (`fairness_report.html.j2`).

    Shows the verdicts, per-attribute tables and readings, the chart and, when given,
    the mitigation's cost and effect. `document` (the run's fairness.json) adds the
    evidence's source, the fairness policy, the feasibility statement and the test-split
    values beside the pooled ones.
    """
    document = document or {}
    overall = assessment.verdict.replace("_", " ").upper()
    test_only = document.get("test_only") or {}
    verdict_rows = [
        {
            "key": metric_key(attribute.name, metric),
            "value": format_metric(diff.value),
            "interval": _interval_text(diff),
            "threshold": format_metric(diff.threshold),
            "evidence": _evidence_text(diff),
            "gated": "gated" if diff.gated else "reported",
            "verdict": diff.verdict.replace("_", " ") or "n/a",
            "passed": diff.passed,
            "test_only": format_metric(_test_value(test_only, attribute.name, metric)),
        }
        for attribute in assessment.attributes
        for metric, diff in attribute.differences.items()
    ]
    if not assessment.applicable:
        subtitle = f"No fairness audit was possible: {assessment.reason}."
    else:
        subtitle = f"Overall fairness verdict: {overall}. Decision threshold {threshold:.3f}."
    context = {
        "title": f"Fairness report: {model_name} {version_or_run}",
        "subtitle": subtitle,
        "applicable": assessment.applicable,
        "not_applicable_reason": assessment.reason,
        "overall": overall,
        "evidence": (document.get("evidence") or {}).get("source"),
        "policy": document.get("fairness_policy"),
        "feasibility": document.get("feasibility"),
        "min_group_events": assessment.min_group_events,
        "footer": Footer.now(generated, model=model_name),
        "passed": assessment.passed,
        "failures": assessment.failures(),
        "level": f"{assessment.confidence:.0%}",
        "threshold": threshold,
        "min_group_size": assessment.min_group_size,
        "small_note": SMALL_GROUP_NOTE,
        "n_boot": assessment.n_boot,
        "seed": assessment.seed,
        "verdict_rows": verdict_rows,
        "group_headers": GROUP_HEADERS,
        "attributes": [_attribute(a) for a in assessment.attributes],
        "chart": figure_png(plot_fairness(assessment, intersection))
        if assessment.attributes
        else None,
        "mitigation": _mitigation(comparison) if comparison is not None else None,
    }
    return render("fairness_report.html.j2", context)


def _attribute(attribute: AttributeFairness) -> dict[str, Any]:
    groups = attribute.groups
    rates = [groups[c].map(format_metric) for c in ("selection_rate", "tpr", "fpr", "precision")]
    gated = [SMALL_GROUP_NOTE if s else "yes" for s in groups["small"]]
    return {
        "name": attribute.name,
        "passed": attribute.passed,
        "verdict": _attribute_verdict(attribute),
        "groups": list(
            zip(groups["group"], groups["count"], groups["leavers"], *rates, gated, strict=True)
        ),
        "differences": [
            {
                "title": TITLES[metric],
                "value": format_metric(diff.value),
                "interval": _interval_text(diff),
                "all_groups": format_metric(diff.value_all_groups),
                "threshold": format_metric(diff.threshold),
                "passed": diff.passed,
                "verdict": diff.verdict.replace("_", " ") or "n/a",
                "evidence": _evidence_text(diff),
                "gated": "gated" if diff.gated else "reported",
                "note": diff.reason,
            }
            for metric, diff in attribute.differences.items()
        ],
        "readings": _reading(attribute),
    }


def _reading(attribute: AttributeFairness) -> list[str]:
    """Plain-language sentences for one attribute."""
    groups = attribute.groups

    def shares(column: str) -> str:
        parts = [
            f"{percent(v)} of the {g} group"
            for g, v in zip(groups["group"], groups[column], strict=True)
            if v == v
        ]
        return join_words(parts) if parts else "no group"

    sentences = [
        f"{attribute.name}: the model flags {shares('selection_rate')} as likely to leave.",
        f"Among employees who did leave, the model flagged {shares('tpr')}.",
        f"Of the employees it flagged, {shares('precision')} actually left.",
    ]
    for diff in attribute.differences.values():
        sentences.append(_difference_reading(attribute.name, diff))
    small = groups.loc[groups["small"], "group"].tolist()
    if small:
        sentences.append(
            f"{join_words(small)}: too few employees in the test split to judge "
            f"({SMALL_GROUP_NOTE})."
        )
    return sentences


def _difference_reading(name: str, diff: Difference) -> str:
    title = TITLES.get(diff.metric, diff.metric)
    rate = RATE_WORDS[RATE_OF[diff.metric]]
    if diff.value is None:
        return f"{title} for {name} is not gated: {diff.reason.removeprefix('not gated: ')}."
    role = "gated" if diff.gated else "reported, not gated under this policy"
    text = (
        f"{title} for {name} ({role}): across the gated groups the {rate} differ by up to "
        f"{format_metric(diff.value)} against a {format_metric(diff.threshold)} limit; "
        f"verdict {diff.verdict.replace('_', ' ').upper() or 'n/a'}."
    )
    low, high = diff.ci_low, diff.ci_high
    if low is not None and high is not None and low < diff.threshold <= high:
        text += (
            f" The interval {_interval_text(diff)} straddles the limit: with this much evidence "
            "the gap could be on either side of it."
        )
    return text


def _attribute_verdict(attribute: AttributeFairness) -> str:
    found = {d.verdict for d in attribute.differences.values() if d.gated}
    for word in ("fail", "inconclusive", "pass"):
        if word in found:
            return word.upper()
    return "NOT JUDGED"


def _evidence_text(diff: Difference) -> str:
    if diff.evidence is None:
        return "n/a"
    return f"{diff.evidence:.0f} {EVIDENCE_WORDS.get(diff.evidence_of, diff.evidence_of)}"


def _test_value(test_only: dict[str, Any], attribute: str, metric: str) -> float | None:
    for item in test_only.get("attributes") or []:
        if item.get("name") == attribute:
            value = (item.get("differences") or {}).get(metric, {}).get("value")
            return None if value is None else float(value)
    return None


def _mitigation(comparison: MitigationComparison) -> dict[str, Any]:
    before, after = comparison.before, comparison.after
    rows = [
        _change_row("ROC AUC", before["roc_auc"], after["roc_auc"]),
        _change_row("accuracy", before["accuracy"], after["accuracy"]),
        _change_row("decision threshold", before["threshold"], after["threshold"]),
    ]
    for attribute in before["disparity"]:
        rows.append(
            _change_row(
                f"{TITLES.get(comparison.targeted_metric, comparison.targeted_metric)} "
                f"({attribute})",
                before["disparity"][attribute],
                after["disparity"].get(attribute),
            )
        )
    auc_cost = _delta(before["roc_auc"], after["roc_auc"])
    targeted = [a for a in comparison.attributes if a in before["disparity"]]
    changes = [
        f"{a} from {format_metric(before['disparity'][a])} to "
        f"{format_metric(after['disparity'].get(a))}"
        for a in targeted
    ]
    text = (
        f"The model was retrained under a {comparison.constraint.replace('_', ' ')} constraint on "
        f"{join_words(comparison.attributes)} (Fairlearn exponentiated gradient: the sensitive "
        "attributes are used only while training, never when scoring). On the same test split "
        f"the targeted disparity moved: {join_words(changes) if changes else 'n/a'}; ROC AUC "
        f"changed by {auc_cost}."
    )
    return {"rows": rows, "reading": text, "notes": comparison.notes}


def _change_row(label: str, before: float | None, after: float | None) -> tuple[str, ...]:
    return label, format_metric(before), format_metric(after), _delta(before, after)


def _delta(before: float | None, after: float | None) -> str:
    if before is None or after is None or not (math.isfinite(before) and math.isfinite(after)):
        return "n/a"
    return f"{after - before:+.3f}"


def _interval_text(diff: Difference) -> str:
    if diff.ci_low is None or diff.ci_high is None:
        return "n/a"
    return f"{format_metric(diff.ci_low)} to {format_metric(diff.ci_high)}"
