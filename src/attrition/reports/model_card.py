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
    "false_positive_rate_difference": "false-positive-rate parity (FPR)",
    "calibration_difference": "within-group calibration (observed - predicted)",
}
ARTIFACTS: tuple[tuple[str, str], ...] = (
    ("ROC curve", "roc_curve.png"),
    ("Confusion matrix", "confusion_matrix.png"),
    ("SHAP summary", "shap_summary.png"),
    ("Feature importance (SHAP)", "feature_importance.png"),
    ("Fairness report", "fairness_report.html"),
    ("Fairness metrics", "fairness_metrics.png"),
    ("Fairness frontier", "fairness_frontier.png"),
    ("Data profile", "ydata-profile.html"),
    ("Handling of strongly associated inputs", "association_handling.json"),
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
    `drift_summary` is `DriftResult.to_dict()` of training vs test data. `frontier` is
    `fairness_frontier.json`; `decision` the decision economics (empty without costs).
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
    frontier: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    duplicates: dict[str, Any] = field(default_factory=dict)
    semver: str = ""
    associations: dict[str, Any] = field(default_factory=dict)
    association_bar: float = 0.8
    association_handling: dict[str, Any] = field(default_factory=dict)


def _linked(quality: dict[str, Any], bar: float) -> dict[str, Any] | None:
    """Raw inputs associated at or over the bar, and how the pipeline handles them."""
    pairs = quality.get("strong_pairs") or []
    if not pairs:
        return None
    encoded = quality.get("max_abs_correlation")
    return {
        "pairs": pairs,
        "bar": bar,
        "groups": [" + ".join(g) for g in quality.get("linked_inputs") or []],
        "encoded": number(encoded) if encoded is not None else "n/a",
    }


def handling_rows(handling: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per strong pair: what was tried (CV ROC AUC ± sd), what was chosen and why."""
    rows = []
    for pair in handling.get("pairs") or []:
        chosen = pair.get("chosen")
        rows.append(
            {
                "pair": " and ".join(pair.get("pair", [])),
                "association": number(pair.get("association"), ".2f"),
                "measure": pair.get("measure", ""),
                "options": [
                    {
                        "option": o["option"],
                        "auc": f"{number(o.get('cv_roc_auc'))} ± {number(o.get('cv_roc_auc_sd'))}",
                        "chosen": o["option"] == chosen,
                    }
                    for o in pair.get("options", [])
                ],
                "chosen": chosen,
                "reason": pair.get("reason", ""),
            }
        )
    return rows


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
        "linked": _linked(card.associations, card.association_bar),
        "handling": card.association_handling,
        "handling_rows": handling_rows(card.association_handling),
        "duplicates": duplicates_line(card.duplicates),
        "fairness_passed": bool(fairness.get("passed")),
        "fairness_verdict": str(fairness.get("verdict") or "").replace("_", " "),
        "fairness_not_applicable": fairness.get("reason")
        if fairness.get("applicable") is False
        else None,
        "fairness_policy": fairness.get("fairness_policy"),
        "feasibility": fairness.get("feasibility"),
        "fairness_evidence": (fairness.get("evidence") or {}).get("source"),
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
                        "evidence": d.get("evidence"),
                        "result": _result(d),
                    }
                    for d in _differences(attribute.get("differences", {}))
                ],
            }
            for attribute in fairness.get("attributes") or []
        ],
        "links": ARTIFACTS,
        "frontier": card.frontier,
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


def duplicates_line(counts: Mapping[str, Any]) -> str:
    """How many rows repeat an earlier one, and how the split treated them."""
    if not counts:
        return "not measured"
    rows, repeats = int(counts.get("rows", 0)), int(counts.get("duplicate_rows", 0))
    conflicts = int(counts.get("conflicting_rows", 0))
    if not repeats and not conflicts:
        return f"none of {rows:,} rows repeats another's inputs and target"
    said = (
        f"{repeats:,} of {rows:,} rows (rate {number(counts.get('duplicate_rate'))}) repeat an "
        "earlier row's inputs and target"
    )
    if conflicts:
        said += f"; {conflicts:,} more repeat its inputs with the other label"
    return (
        f"{said}. They were kept, and rows with identical inputs were grouped by a hash of "
        "the inputs so that they never straddle the train/test split or the CV folds: "
        "every test metric is measured on inputs the model did not train on."
    )


def _differences(raw: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(raw, Mapping):
        return [{"metric": metric, **dict(d)} for metric, d in raw.items()]
    return [dict(d) for d in raw]


def _result(difference: Mapping[str, Any]) -> str:
    verdict = str(difference.get("verdict") or "").replace("_", " ")
    if verdict and difference.get("value") is not None:
        role = "" if difference.get("gated", True) else " (reported, not gated)"
        return f"{verdict.upper()}{role}"
    passed = difference.get("passed")
    if passed is None:
        return f"not gated: {difference.get('reason') or 'not computable'}"
    return "PASS" if passed else "FAIL"
