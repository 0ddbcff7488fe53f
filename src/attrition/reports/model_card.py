"""The run's `model_card.md`, following "Model Cards for Model Reporting" (Mitchell et al., 2019).

The card is rendered from plain values so that it can be rebuilt from a run's
logged metrics and JSON artifacts. Numbers have three decimals throughout.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

METRIC_LABELS: dict[str, str] = {
    "accuracy": "Accuracy",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (average precision)",
    "brier": "Brier score (lower is better)",
    "precision_weighted": "Precision, class-weighted",
    "recall_weighted": "Recall, class-weighted",
    "f1_weighted": "F1, class-weighted",
    "precision_attrition": "Precision, attrition class",
    "recall_attrition": "Recall, attrition class",
    "f1_attrition": "F1, attrition class",
}
DIFFERENCE_LABELS: dict[str, str] = {
    "statistical_parity_difference": "statistical parity (selection rate)",
    "equal_opportunity_difference": "equal opportunity (TPR)",
    "predictive_parity_difference": "predictive parity (precision)",
}
ARTIFACTS: tuple[tuple[str, str], ...] = (
    ("ROC curve", "roc_curve.png"),
    ("Confusion matrix", "confusion_matrix.png"),
    ("SHAP summary", "shap_summary.png"),
    ("Feature importance (SHAP)", "feature_importance.png"),
    ("Fairness report", "fairness_report.html"),
    ("Fairness metrics", "fairness_metrics.png"),
    ("Data profile", "ydata-profile.html"),
    ("Data drift, train vs test", "data_drift_report.html"),
    ("Prediction histogram", "prediction_histogram.png"),
    ("Model metadata", "model_metadata.json"),
)


@dataclass(frozen=True)
class ModelCard:
    """Everything the card states, as plain values.

    `fairness` is `FairnessAssessment.to_dict()`: {"passed", "attributes": [{"name",
    "groups": [{"group", "count", "selection_rate", "tpr", "precision", "small"}],
    "differences": {metric: {"value", "ci_low", "ci_high", "threshold", "passed",
    "reason"}}}]}; a list of differences that carry their "metric" also works.
    `drift_summary` is `DriftResult.to_dict()` of training vs test data.
    """

    name: str
    version: str
    run_id: str
    created: str
    model_kind: str
    threshold: float
    data_hash: str
    code_version: str
    dataset_name: str
    train_rows: int
    test_rows: int
    base_rate: float
    cv_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    data_quality: dict[str, float] = field(default_factory=dict)
    sensitive: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    used_sensitive: list[str] = field(default_factory=list)
    fairness: dict[str, Any] = field(default_factory=dict)
    top_features: list[str] = field(default_factory=list)
    drift_summary: dict[str, Any] = field(default_factory=dict)


def fmt(value: Any) -> str:
    """A number with three decimals; missing or non-finite values as 'n/a'."""
    if value is None or isinstance(value, bool):
        return "n/a" if value is None else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.3f}" if math.isfinite(number) else "n/a"


def render_model_card(card: ModelCard) -> str:
    """Render the model card as Markdown."""
    sections = [
        f"# Model card: {card.name} v{card.version}",
        _details(card),
        _intended_use(),
        _out_of_scope(),
        _factors(card),
        _metrics(card),
        _evaluation_data(card),
        _training_data(card),
        _quantitative(card.fairness),
        _ethics(card),
        _caveats(card),
        _links(),
    ]
    return "\n\n".join(sections) + "\n"


def _details(card: ModelCard) -> str:
    return "\n".join(
        [
            "## Model details",
            f"- Name / version: `{card.name}` version {card.version} (MLflow run `{card.run_id}`)",
            f"- Created: {card.created}",
            f"- Model type: {card.model_kind}; output: probability that an employee leaves",
            f"- Decision threshold: {fmt(card.threshold)} (flagged when probability >= threshold;"
            " tuned on out-of-fold training predictions)",
            f"- Training data hash: `{card.data_hash}`; code version: `{card.code_version}`",
        ]
    )


def _intended_use() -> str:
    return (
        "## Intended use\n"
        "Estimate attrition risk for groups and individuals so that a people-analytics team "
        "can prioritise retention conversations and understand the drivers of leaving. "
        "Scores are decision support for trained HR staff, reviewed by a person."
    )


def _out_of_scope() -> str:
    return (
        "## Out-of-scope uses\n"
        "- Individual employment decisions without human review.\n"
        "- Performance evaluation, pay, promotion, discipline or dismissal.\n"
        "- Populations unlike the training data (other companies, countries or eras) "
        "without re-validation."
    )


def _factors(card: ModelCard) -> str:
    used = ", ".join(card.used_sensitive) or "none"
    excluded = ", ".join(card.excluded) or "none"
    return (
        "## Factors\n"
        f"- Sensitive attributes audited: {', '.join(card.sensitive) or 'none'}\n"
        f"- Used as model inputs: {used}\n"
        f"- Excluded from the inputs (audited only): {excluded}\n"
        "- Proxies can remain: excluding an attribute does not remove correlated inputs."
    )


def _metrics(card: ModelCard) -> str:
    rows = ["| Metric | CV (out-of-fold) | Test |", "| --- | ---: | ---: |"]
    for key in [*METRIC_LABELS, *(k for k in card.test_metrics if k not in METRIC_LABELS)]:
        if key in card.cv_metrics or key in card.test_metrics:
            label = METRIC_LABELS.get(key, key)
            cv, test = fmt(card.cv_metrics.get(key)), fmt(card.test_metrics.get(key))
            rows.append(f"| {label} | {cv} | {test} |")
    return (
        "## Metrics\n"
        f"Decisions at threshold {fmt(card.threshold)}. Class-weighted: averaged over both "
        "classes by support; attrition class: leavers as positives. AUCs and Brier use the "
        "probabilities. CV: out-of-fold on the training split; test: held-out split, "
        "looked at once.\n\n" + "\n".join(rows)
    )


def _evaluation_data(card: ModelCard) -> str:
    return (
        "## Evaluation data\n"
        f"Stratified held-out test split of `{card.dataset_name}`: {card.test_rows:,} employees, "
        "not used for training or tuning. Fairness is audited on this split."
    )


def _training_data(card: ModelCard) -> str:
    quality = "; ".join(f"{k} {fmt(v)}" for k, v in card.data_quality.items()) or "n/a"
    return (
        "## Training data\n"
        f"- `{card.dataset_name}`: {card.train_rows:,} employees, attrition base rate "
        f"{fmt(card.base_rate)}\n"
        f"- Data quality: {quality}\n"
        f"- Train vs test drift: {_drift_line(card.drift_summary)}"
    )


def _drift_line(summary: Mapping[str, Any]) -> str:
    if not summary:
        return "not assessed"
    drifted = list(summary.get("drifted_features", []))
    total = summary.get("n_features", len(summary.get("features", {})))
    names = ", ".join(drifted) if drifted else "none"
    verdict = "dataset drift" if summary.get("dataset_drift") else "no dataset drift"
    share = fmt(summary.get("drift_share"))
    return f"{verdict}; {len(drifted)}/{total} columns drifted (share {share}): {names}"


def _quantitative(fairness: Mapping[str, Any]) -> str:
    if not fairness or not fairness.get("attributes"):
        return "## Quantitative analyses\nNo fairness assessment was recorded."
    overall = "PASS" if fairness.get("passed") else "FAIL"
    parts = [
        "## Quantitative analyses",
        "Disaggregated by sensitive attribute on the test split; overall fairness gate: "
        f"**{overall}**. Differences are max - min over groups large enough to gate "
        "(95% bootstrap interval).",
    ]
    for attribute in fairness["attributes"]:
        parts.append(f"### {attribute['name']}")
        rows = [
            "| Group | Count | Selection rate | TPR | Precision |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for g in attribute.get("groups", []):
            small = " (small, not gated)" if g.get("small") else ""
            rows.append(
                f"| {g['group']}{small} | {int(g['count'])} | {fmt(g.get('selection_rate'))} "
                f"| {fmt(g.get('tpr'))} | {fmt(g.get('precision'))} |"
            )
        rows += [
            "",
            "| Difference | Value | 95% CI | Threshold | Result |",
            "| --- | ---: | --- | ---: | --- |",
        ]
        for d in _differences(attribute.get("differences", {})):
            label = DIFFERENCE_LABELS.get(d["metric"], d["metric"])
            ci = f"{fmt(d.get('ci_low'))}-{fmt(d.get('ci_high'))}"
            rows.append(
                f"| {label} | {fmt(d.get('value'))} | {ci} | < {fmt(d.get('threshold'))} "
                f"| {_result(d)} |"
            )
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def _differences(raw: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(raw, Mapping):
        return [{"metric": metric, **dict(d)} for metric, d in raw.items()]
    return [dict(d) for d in raw]


def _result(difference: Mapping[str, Any]) -> str:
    passed = difference.get("passed")
    if passed is None:
        return f"not gated: {difference.get('reason') or 'not computable'}"
    return "PASS" if passed else "FAIL"


def _ethics(card: ModelCard) -> str:
    return (
        "## Ethical considerations\n"
        "Predictions concern people's livelihoods. Flags can become self-fulfilling if they "
        "change how managers treat someone; use them to offer support, not to withhold it. "
        f"Fairness is audited on {', '.join(card.sensitive) or 'no attributes'}; other groups "
        "(e.g. ethnicity, disability) are not in the data and cannot be audited. "
        "Employees should be told how such scores are used."
    )


def _caveats(card: ModelCard) -> str:
    top = ", ".join(card.top_features[:10]) or "see feature_importance.png"
    return (
        "## Caveats and recommendations\n"
        f"- Strongest drivers (mean absolute SHAP): {top}. They are associations, not causes.\n"
        f"- The test split has {card.test_rows:,} employees, so metrics and group rates carry "
        "sampling error; small groups are reported but not gated.\n"
        "- Monitor feature and prediction drift and realised performance; retrain when they "
        "degrade or the workforce changes.\n"
        "- Re-check the threshold when the expected attrition rate changes."
    )


def _links() -> str:
    lines = [f"- [{label}]({path})" for label, path in ARTIFACTS]
    return "## Links\nArtifacts of the same MLflow run:\n" + "\n".join(lines)
