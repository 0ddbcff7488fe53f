"""The run's `model_card.md`, following "Model Cards for Model Reporting" (Mitchell et al., 2019).

The card is rendered from plain values so that it can be rebuilt from a run's
logged metrics and JSON artifacts; `templates/model_card.md.j2` holds its text.
Numbers have three decimals throughout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from attrition.reports.format import number
from attrition.reports.render import render

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
    semver: str = ""


def render_model_card(card: ModelCard) -> str:
    """Render the model card as Markdown (`templates/model_card.md.j2`)."""
    return render("model_card.md.j2", model_card_context(card))


def model_card_context(card: ModelCard) -> dict[str, Any]:
    """The card's values, with the metric rows, fairness tables and drift line worked out."""
    keys = [*METRIC_LABELS, *(k for k in card.test_metrics if k not in METRIC_LABELS)]
    fairness = card.fairness or {}
    return {
        "card": card,
        "metrics": [
            (METRIC_LABELS.get(key, key), card.cv_metrics.get(key), card.test_metrics.get(key))
            for key in keys
            if key in card.cv_metrics or key in card.test_metrics
        ],
        "quality": "; ".join(f"{k} {number(v)}" for k, v in card.data_quality.items()),
        "drift": _drift_line(card.drift_summary),
        "fairness_passed": bool(fairness.get("passed")),
        "attributes": [
            {
                "name": attribute["name"],
                "groups": attribute.get("groups", []),
                "differences": [
                    {
                        "label": DIFFERENCE_LABELS.get(d["metric"], d["metric"]),
                        "value": d.get("value"),
                        "ci_low": d.get("ci_low"),
                        "ci_high": d.get("ci_high"),
                        "threshold": d.get("threshold"),
                        "result": _result(d),
                    }
                    for d in _differences(attribute.get("differences", {}))
                ],
            }
            for attribute in fairness.get("attributes") or []
        ],
        "links": ARTIFACTS,
    }


def _drift_line(summary: Mapping[str, Any]) -> str:
    if not summary:
        return "not assessed"
    drifted = list(summary.get("drifted_features", []))
    total = summary.get("n_features", len(summary.get("features", {})))
    names = ", ".join(drifted) if drifted else "none"
    verdict = "dataset drift" if summary.get("dataset_drift") else "no dataset drift"
    share = number(summary.get("drift_share"))
    return f"{verdict}; {len(drifted)}/{total} columns drifted (share {share}): {names}"


def _differences(raw: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(raw, Mapping):
        return [{"metric": metric, **dict(d)} for metric, d in raw.items()]
    return [dict(d) for d in raw]


def _result(difference: Mapping[str, Any]) -> str:
    passed = difference.get("passed")
    if passed is None:
        return f"not gated: {difference.get('reason') or 'not computable'}"
    return "PASS" if passed else "FAIL"
