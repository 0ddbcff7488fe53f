"""The fairness chart and the self-contained fairness report of one model."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attrition.fairness import (
    METRICS,
    RATE_OF,
    SMALL_GROUP_NOTE,
    AttributeFairness,
    Difference,
    FairnessAssessment,
    format_metric,
    metric_key,
)
from attrition.reports.html import (
    Markup,
    Section,
    figure_png,
    image,
    note,
    page,
    paragraph,
    table,
    verdict,
)

if TYPE_CHECKING:
    from attrition.mitigation import MitigationComparison

TITLES: dict[str, str] = {
    "statistical_parity_difference": "Statistical parity difference",
    "equal_opportunity_difference": "Equal opportunity difference",
    "predictive_parity_difference": "Predictive parity difference",
    "equalized_odds_difference": "Equalized odds difference",
}
_RATES = (
    ("selection_rate", "Selection rate"),
    ("tpr", "TPR (leavers flagged)"),
    ("precision", "Precision"),
)
_COLOURS = ("#486581", "#f0b429", "#3ebd93")


def plot_fairness(assessment: FairnessAssessment) -> Figure:
    """Per-group selection rate, TPR and precision for every attribute.

    Small groups (reported, not gated) are shaded, hatched and marked in their label.
    """
    count = max(len(assessment.attributes), 1)
    fig = Figure(figsize=(5.2 * count, 4.2), layout="constrained")
    axes = fig.subplots(1, count, squeeze=False)[0]
    for ax, attribute in zip(axes, assessment.attributes, strict=False):
        groups = attribute.groups
        positions = np.arange(len(groups))
        width = 0.8 / len(_RATES)
        for position, small in zip(positions, groups["small"], strict=True):
            if small:  # shaded so a small group stands out even when its rates are zero
                ax.axvspan(position - 0.45, position + 0.45, color="#e4e7eb", zorder=0)
        for i, ((column, label), colour) in enumerate(zip(_RATES, _COLOURS, strict=True)):
            values = groups[column].fillna(0.0).to_numpy(dtype=float)
            bars = ax.bar(positions + (i - 1) * width, values, width, label=label, color=colour)
            for bar, small, value in zip(bars, groups["small"], groups[column], strict=True):
                if small:
                    bar.set_alpha(0.45)
                    bar.set_hatch("//")
                if value != value:  # NaN: rate undefined for this group
                    ax.annotate("n/a", (bar.get_x() + width / 2, 0.01), ha="center", fontsize=7)
        ax.set_xticks(
            positions,
            [
                f"{g}\n(n={n}, small)" if s else f"{g}\n(n={n})"
                for g, n, s in zip(groups["group"], groups["count"], groups["small"], strict=True)
            ],
            fontsize=8,
        )
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{attribute.name}: {'PASS' if attribute.passed else 'FAIL'}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("rate at the decision threshold")
    axes[0].legend(loc="upper left", fontsize=8)
    if any(attribute.groups["small"].any() for attribute in assessment.attributes):
        fig.suptitle(
            f"Shaded, hatched: groups under {assessment.min_group_size} employees "
            "(reported, not gated)",
            fontsize=9,
        )
    return fig


def render_fairness_report(
    assessment: FairnessAssessment,
    *,
    model_name: str,
    version_or_run: str,
    threshold: float,
    comparison: MitigationComparison | None = None,
) -> str:
    """Render the whole assessment as one self-contained HTML page."""
    overall = "PASS" if assessment.passed else "FAIL"
    sections = [
        Section("Verdict", _verdict_section(assessment)),
        Section("How fairness is measured", _method(assessment, threshold)),
    ]
    sections += [
        Section(f"{a.name}", _attribute_section(a, assessment)) for a in assessment.attributes
    ]
    chart = plot_fairness(assessment)
    sections.append(
        Section(
            "Per-group chart", image(figure_png(chart), "per-group selection rate, TPR, precision")
        )
    )
    if comparison is not None:
        sections.append(Section("Mitigation: cost and effect", _mitigation_section(comparison)))
    return page(
        f"Fairness report: {model_name} {version_or_run}",
        sections,
        subtitle=f"Overall fairness gate: {overall}. Decision threshold {threshold:.3f}.",
    )


def _verdict_section(assessment: FairnessAssessment) -> str:
    level = f"{assessment.confidence:.0%}"
    rows = []
    for attribute in assessment.attributes:
        for metric, diff in attribute.differences.items():
            rows.append(
                {
                    "metric (MLflow name)": metric_key(attribute.name, metric),
                    "value": format_metric(diff.value),
                    f"{level} interval": _interval_text(diff),
                    "threshold (pass if below)": format_metric(diff.threshold),
                    "verdict": Markup(verdict(diff.passed)),
                }
            )
    failures = assessment.failures()
    summary = (
        paragraph("Every gated difference is below its threshold: the fairness gate passes (PASS).")
        if assessment.passed
        else paragraph("The fairness gate fails (FAIL): " + "; ".join(failures) + ".")
    )
    return summary + table(pd.DataFrame(rows))


def _method(assessment: FairnessAssessment, threshold: float) -> str:
    level = f"{assessment.confidence:.0%}"
    return "".join(
        [
            paragraph(
                "The model's decisions on the held-out test split are compared between groups of "
                f"each sensitive attribute. An employee counts as flagged when the predicted "
                f"attrition probability is at least {threshold:.3f}, the model's decision "
                "threshold."
            ),
            "<ul>"
            "<li><b>Statistical parity difference</b>: the largest minus the smallest share of "
            "employees flagged, across groups. It asks: are some groups flagged more often?</li>"
            "<li><b>Equal opportunity difference</b>: the same spread of the true positive rate, "
            "the share of actual leavers that the model flagged. It asks: does the model miss "
            "leavers more often in some groups?</li>"
            "<li><b>Predictive parity difference</b>: the same spread of precision, the share of "
            "flagged employees who actually left. It asks: is a flag more often wrong in some "
            "groups?</li></ul>",
            paragraph(
                f"A difference passes when it is below its threshold. Groups with fewer than "
                f"{assessment.min_group_size} employees in the test split are shown but left out "
                f"of the gated difference ({SMALL_GROUP_NOTE}); the difference over all groups "
                "is shown beside it. A rate that cannot be computed (no leavers, or nobody "
                "flagged, in a group) is shown as n/a and that group is left out of that "
                "difference; with fewer than two groups left the metric is not gated."
            ),
            paragraph(
                f"The {level} intervals come from {assessment.n_boot} bootstrap resamples of the "
                f"test split (seed {assessment.seed}). A spread between groups is never negative, "
                "so when the true spread is small the resampled spreads tend to be larger than "
                "the observed one; read the interval as how large the spread could plausibly be."
            ),
        ]
    )


def _attribute_section(attribute: AttributeFairness, assessment: FairnessAssessment) -> str:
    groups = attribute.groups
    shown = pd.DataFrame(
        {
            "group": groups["group"],
            "employees": groups["count"],
            "leavers": groups["leavers"],
            "selection rate": groups["selection_rate"].map(format_metric),
            "TPR": groups["tpr"].map(format_metric),
            "FPR": groups["fpr"].map(format_metric),
            "precision": groups["precision"].map(format_metric),
            "gated": [SMALL_GROUP_NOTE if s else "yes" for s in groups["small"]],
        }
    )
    level = f"{assessment.confidence:.0%}"
    rows = [
        {
            "metric": TITLES[metric],
            "gated groups": format_metric(diff.value),
            f"{level} interval": _interval_text(diff),
            "all groups": format_metric(diff.value_all_groups),
            "threshold": format_metric(diff.threshold),
            "verdict": Markup(verdict(diff.passed)),
            "note": diff.reason,
        }
        for metric, diff in attribute.differences.items()
    ]
    return "".join(
        [
            paragraph(f"Gate for {attribute.name}: {'PASS' if attribute.passed else 'FAIL'}."),
            table(shown),
            table(pd.DataFrame(rows)),
            *(note(text) for text in _reading(attribute)),
        ]
    )


def _reading(attribute: AttributeFairness) -> list[str]:
    """Plain-language sentences for one attribute."""
    groups = attribute.groups

    def shares(column: str) -> str:
        parts = [
            f"{_percent(v)} of the {g} group"
            for g, v in zip(groups["group"], groups[column], strict=True)
            if v == v
        ]
        return _join(parts) if parts else "no group"

    sentences = [
        f"{attribute.name}: the model flags {shares('selection_rate')} as likely to leave.",
        f"Among employees who did leave, the model flagged {shares('tpr')}.",
        f"Of the employees it flagged, {shares('precision')} actually left.",
    ]
    for metric in METRICS:
        diff = attribute.differences[metric]
        sentences.append(_difference_reading(attribute.name, diff))
    small = groups.loc[groups["small"], "group"].tolist()
    if small:
        sentences.append(
            f"{_join(small)}: too few employees in the test split to judge ({SMALL_GROUP_NOTE})."
        )
    return sentences


def _difference_reading(name: str, diff: Difference) -> str:
    title = TITLES[diff.metric]
    rate = {
        "selection_rate": "flag rates",
        "tpr": "shares of leavers flagged",
        "precision": "precisions",
    }[RATE_OF[diff.metric]]
    if diff.value is None:
        return f"{title} for {name} is not gated: {diff.reason.removeprefix('not gated: ')}."
    outcome = "below" if diff.passed else "not below"
    text = (
        f"{title} for {name}: across the gated groups the {rate} differ by up to "
        f"{format_metric(diff.value)}, {outcome} the {format_metric(diff.threshold)} limit "
        f"({'PASS' if diff.passed else 'FAIL'})."
    )
    low, high = diff.ci_low, diff.ci_high
    if low is not None and high is not None and low < diff.threshold <= high:
        text += (
            f" The interval {_interval_text(diff)} straddles the limit: on a test split of "
            "this size the verdict could go either way."
        )
    return text


def _mitigation_section(comparison: MitigationComparison) -> str:
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
        f"{_join(comparison.attributes)} (Fairlearn exponentiated gradient: the sensitive "
        "attributes are used only while training, never when scoring). On the same test split "
        f"the targeted disparity moved: {_join(changes) if changes else 'n/a'}; ROC AUC changed "
        f"by {auc_cost}."
    )
    notes = "".join(paragraph(n) for n in comparison.notes)
    return (
        paragraph(
            "The unmitigated and the mitigated model side by side, scored on the same test rows."
        )
        + table(pd.DataFrame(rows))
        + note(text)
        + notes
    )


def _change_row(label: str, before: float | None, after: float | None) -> dict[str, str]:
    return {
        "measure": label,
        "unmitigated": format_metric(before),
        "mitigated": format_metric(after),
        "change": _delta(before, after),
    }


def _delta(before: float | None, after: float | None) -> str:
    if before is None or after is None or not (math.isfinite(before) and math.isfinite(after)):
        return "n/a"
    return f"{after - before:+.3f}"


def _interval_text(diff: Difference) -> str:
    if diff.ci_low is None or diff.ci_high is None:
        return "n/a"
    return f"{format_metric(diff.ci_low)} to {format_metric(diff.ci_high)}"


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
