"""Every file a training run logs, built from the run's real results.

Each builder returns file contents (text or bytes) keyed by the artifact name the
contract fixes; `build_all` times each one so their cost stays visible. The
metadata and the monitoring reference have their own modules (`metadata`,
`reference`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from attrition import tracking
from attrition.data.association import Association
from attrition.data.quality import DataQuality, assess_quality
from attrition.drift import DriftResult
from attrition.explain import (
    Explainer,
    group_values,
    plot_feature_importance,
    plot_shap_summary,
)
from attrition.fairness import FairnessAssessment
from attrition.pipeline import model_inputs as pipeline_inputs
from attrition.reports.association_figure import association_section
from attrition.reports.drift_report import INTERACTIVE, DriftPage, drift_summary_html
from attrition.reports.fairness_plots import plot_fairness
from attrition.reports.fairness_report import render_fairness_report
from attrition.reports.format import figure_png
from attrition.reports.model_card import ModelCard, render_model_card
from attrition.reports.plots import plot_confusion_matrix, plot_prediction_histogram, plot_roc_curve
from attrition.training.choice_artifacts import decision_files, decision_summary, frontier_files
from attrition.training.evaluate import metric_intervals
from attrition.training.facts import RunFacts, Timer, json_text
from attrition.training.fairness import (
    fairness_document,
    fairness_intersection,
    pooled_fairness,
    test_only_fairness,
)
from attrition.training.metadata import model_metadata, used_sensitive
from attrition.training.reference import reference_files


@dataclass
class Bundle:
    """Files to log (name -> content) and extra metrics derived while building them."""

    files: dict[str, str | bytes] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    top_features: list[str] = field(default_factory=list)
    fairness: FairnessAssessment | None = None
    fairness_document: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    drift: DriftResult | None = None


def _png(fig: Figure) -> bytes:
    return figure_png(fig, dpi=120)


def core_files(facts: RunFacts, quality: DataQuality, timer: Timer) -> dict[str, str | bytes]:
    """Metrics, metadata, requirements and the two core evaluation plots."""
    y_test = facts.test.labels.to_numpy()
    threshold = facts.result.threshold
    cv = {
        **facts.cv_metrics,
        "roc_auc_fold_mean": facts.result.cv_roc_auc,
        "roc_auc_fold_std": facts.result.cv_roc_auc_std,
    }
    requirements = tracking.pinned_requirements(("fairlearn",) if facts.mitigation else ())
    return {
        "metrics.json": json_text(
            {
                "threshold": threshold,
                "validation": cv,
                "test": facts.test_metrics,
                "data_quality": quality.metrics(),
            }
        ),
        "validation_metrics.json": json_text(
            {
                "source": "out-of-fold predictions on the training split",
                "threshold": threshold,
                **cv,
            }
        ),
        "test_metrics.json": json_text(
            {
                "source": "held-out test split, scored once",
                "threshold": threshold,
                **facts.test_metrics,
                "intervals": timer(
                    "test metric intervals",
                    lambda: metric_intervals(y_test, facts.test_proba, threshold, seed=facts.seed),
                ),
                "interval_rows": len(y_test),
            }
        ),
        "model_metadata.json": json_text(model_metadata(facts, quality)),
        "requirements.txt": "\n".join(requirements) + "\n",
        "data_quality.json": json_text(quality.to_dict()),
        "confusion_matrix.png": timer(
            "confusion_matrix.png",
            lambda: _png(plot_confusion_matrix(y_test, facts.test_proba, threshold)),
        ),
        "roc_curve.png": timer(
            "roc_curve.png",
            lambda: _png(
                plot_roc_curve(
                    {
                        f"{facts.result.kind} (test)": (y_test, facts.test_proba),
                        "out-of-fold (train)": (
                            facts.train.labels.to_numpy(),
                            facts.result.oof_proba,
                        ),
                    }
                )
            ),
        ),
    }


def build_all(facts: RunFacts, timer: Timer) -> Bundle:
    """Build every artifact of a training run and the metrics they derive."""
    quality = timer(
        "data_quality",
        lambda: assess_quality(
            facts.train.features,
            model_inputs(facts),
            facts.config.ordinal_max_levels,
            facts.duplicates,
            facts.thresholds.max_abs_correlation,
            measured_associations(facts),
        ),
    )
    bundle = Bundle()
    bundle.metrics.update(quality.metrics())
    bundle.files.update(core_files(facts, quality, timer))
    if facts.association is not None:
        bundle.files["association_handling.json"] = json_text(facts.association.to_dict())
    values = timer("shap values", lambda: test_shap_values(facts))
    bundle.top_features = values.abs().mean().sort_values(ascending=False).index[:10].tolist()
    bundle.files.update(timer("reference/", lambda: reference_files(facts, bundle.top_features)))
    drift = timer(INTERACTIVE, lambda: split_drift(facts))
    bundle.files[INTERACTIVE] = drift.pop("html")
    bundle.drift = drift.pop("result")
    bundle.metrics.update({"drift_share_train_test": drift["drift_share"]})
    bundle.files["metrics.json"] = _merge_json(
        bundle.files["metrics.json"], {"train_test_drift": drift}
    )
    bundle.files["prediction_histogram.png"] = timer(
        "prediction_histogram.png",
        lambda: _png(
            plot_prediction_histogram(
                facts.test_proba,
                facts.test.labels.to_numpy(),
                facts.result.threshold,
                facts.base_rate,
            )
        ),
    )
    fairness = timer("fairness", lambda: pooled_fairness(facts))
    test_only = timer("fairness (test split)", lambda: test_only_fairness(facts))
    bundle.fairness = fairness
    bundle.metrics.update(fairness.metrics())
    bundle.fairness_document = fairness_document(facts, fairness, test_only)
    bundle.files["fairness.json"] = json_text(bundle.fairness_document)
    intersection = fairness_intersection(facts)
    bundle.files["fairness_metrics.png"] = timer(
        "fairness_metrics.png", lambda: _png(plot_fairness(fairness, intersection))
    )
    bundle.files["fairness_report.html"] = timer(
        "fairness_report.html",
        lambda: render_fairness_report(
            fairness,
            model_name=facts.model_name,
            version_or_run=f"trained {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {facts.source}",
            threshold=facts.result.threshold,
            comparison=facts.mitigation,
            document=bundle.fairness_document,
            intersection=intersection,
        ),
    )
    bundle.files.update(timer("fairness_frontier", lambda: frontier_files(facts)))
    decision, economics = timer("decision_curve.png", lambda: decision_files(facts))
    bundle.files.update(decision)
    bundle.metrics.update(economics)
    bundle.decision = decision_summary(facts, economics)
    factors = group_values(values, quality.linked_inputs)
    bundle.files["shap_summary.png"] = timer(
        "shap_summary.png", lambda: _png(plot_shap_summary(factors, facts.test.features))
    )
    bundle.files["feature_importance.png"] = timer(
        "feature_importance.png", lambda: _png(plot_feature_importance(factors))
    )
    if facts.profile:
        bundle.files["ydata-profile.html"] = timer(
            "ydata-profile.html", lambda: training_profile(facts, quality)
        )
    return bundle


def model_card(facts: RunFacts, bundle: Bundle, run_id: str, version: str, semver: str = "") -> str:
    """The model card, written once the run id and registered version are known."""
    drift = json.loads(bundle.files["metrics.json"]).get("train_test_drift", {})
    card = ModelCard(
        name=facts.model_name,
        version=version,
        run_id=run_id,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        model_kind=facts.result.kind + (" (calibrated)" if facts.result.calibrated else ""),
        threshold=facts.result.threshold,
        data_hash=facts.data_hash,
        code_version=facts.code_version,
        dataset_name=f"{facts.config.name} ({facts.source})",
        train_rows=len(facts.train.labels),
        test_rows=len(facts.test.labels),
        base_rate=facts.base_rate,
        cv_metrics=facts.cv_metrics,
        test_metrics=facts.test_metrics,
        data_quality={k: v for k, v in bundle.metrics.items() if k.startswith("dq_")},
        sensitive=list(facts.config.sensitive),
        excluded=list(facts.config.exclude_from_model),
        used_sensitive=used_sensitive(facts.config, facts.train.features),
        fairness=bundle.fairness_document,
        top_features=bundle.top_features,
        drift_summary=drift,
        frontier=facts.frontier.to_dict() if facts.frontier is not None else {},
        decision=bundle.decision,
        duplicates=facts.duplicates.to_dict() if facts.duplicates else {},
        semver=semver,
        associations=json.loads(bundle.files["data_quality.json"]),
        association_bar=facts.thresholds.max_abs_correlation,
        association_handling=facts.association.to_dict() if facts.association else {},
    )
    return render_model_card(card)


def test_shap_values(facts: RunFacts) -> pd.DataFrame:
    """SHAP values of the test split over the original columns, against a training background."""
    explainer = Explainer(facts.model, facts.train.features, seed=facts.seed)
    return explainer.shap_values(facts.test.features)


def _merge_json(text: str | bytes, extra: dict[str, Any]) -> str:
    return json_text({**json.loads(text), **extra})


def split_drift(facts: RunFacts) -> dict[str, Any]:
    """Evidently's comparison of the training and test splits: summary plus the HTML page."""
    from attrition.drift import detect_drift, drift_report_html

    train, test = facts.train.features, facts.test.features
    result = detect_drift(train, test)
    return {**result.to_dict(), "result": result, "html": drift_report_html(train, test)}


def drift_summary(facts: RunFacts, bundle: Bundle, run_id: str, version: str) -> str:
    """The static `data_drift_report.html` of the train/test split, once the version is known."""
    if bundle.drift is None:
        raise ValueError("the bundle has no train/test drift result")
    return drift_summary_html(
        DriftPage(
            result=bundle.drift,
            reference_label="training split",
            current_label="test split",
            model_name=facts.model_name,
            version=version,
            run_id=run_id,
            top_drivers=bundle.top_features,
            notes=[
                "Both splits come from the same file, drawn at random: drift here means the "
                "split is unlucky or the data has clusters, not that the world changed."
            ],
        )
    )


def training_profile(facts: RunFacts, quality: DataQuality | None = None) -> str:
    """The data profile of the training split, target included, opening on the raw-input
    associations the data-quality gate judges."""
    from attrition.data.profiling import profile_html

    section = ""
    if quality is not None and quality.top_associations:
        bar = facts.thresholds.max_abs_correlation
        section = association_section(facts.train.features, quality.top_associations, bar)
    frame = facts.train.features.copy()
    frame[facts.config.target] = facts.train.labels.map({1: "left", 0: "stayed"}).to_numpy()
    return profile_html(frame, f"Training data profile ({facts.config.name})", section)


def measured_associations(facts: RunFacts) -> list[Association] | None:
    """The association table the handling choice measured, if it covers the same columns."""
    choice = facts.association
    columns = tuple(str(c) for c in facts.train.features.columns)
    if choice is None or not choice.table or choice.table_columns != columns:
        return None
    return list(choice.table)


def model_inputs(facts: RunFacts) -> pd.DataFrame:
    """The matrix the final estimator sees on the training rows, for the correlation gate."""
    return pipeline_inputs(facts.model, facts.train.features)
