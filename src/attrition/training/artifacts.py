"""Every file a training run logs, built from the run's real results.

Each builder returns file contents (text or bytes) keyed by the artifact name the
contract fixes; `build_all` times each one so their cost stays visible.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attrition import tracking
from attrition.config import DatasetConfig, GateThresholds
from attrition.data.prepare import PreparedData
from attrition.data.quality import DataQuality, assess_quality
from attrition.explain import Explainer, plot_feature_importance, plot_shap_summary
from attrition.fairness import FairnessAssessment, assess_fairness
from attrition.mitigation import MitigationComparison
from attrition.pipeline import model_inputs as pipeline_inputs
from attrition.reports.fairness_report import plot_fairness, render_fairness_report
from attrition.reports.format import figure_png
from attrition.reports.model_card import ModelCard, render_model_card
from attrition.reports.plots import plot_confusion_matrix, plot_prediction_histogram, plot_roc_curve
from attrition.training.search import TrainResult

Timer = Callable[[str, Callable[[], Any]], Any]


@dataclass(frozen=True)
class RunFacts:
    """Everything known about a run once the model is fitted and scored on the test split."""

    model: Any
    result: TrainResult
    train: PreparedData
    test: PreparedData
    test_proba: np.ndarray
    test_metrics: dict[str, float]
    cv_metrics: dict[str, float]
    config: DatasetConfig
    thresholds: GateThresholds
    model_name: str
    data_hash: str
    code_version: str
    source: str
    mitigation: Any = None
    profile: bool = True
    seed: int = 42

    @property
    def base_rate(self) -> float:
        return float(self.train.labels.mean())


@dataclass
class Bundle:
    """Files to log (name -> content) and extra metrics derived while building them."""

    files: dict[str, str | bytes] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    top_features: list[str] = field(default_factory=list)
    fairness: FairnessAssessment | None = None


def _png(fig: Figure) -> bytes:
    return figure_png(fig, dpi=120)


def _json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=_jsonable)


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return str(value)


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def risk_bands(threshold: float) -> dict[str, float]:
    """Lower edges of the risk bands, anchored on the tuned decision threshold."""
    return {"low": 0.0, "medium": round(threshold / 2, 6), "high": round(threshold, 6)}


def feature_schema(features: pd.DataFrame, ordinal_max_levels: int) -> list[dict[str, Any]]:
    """Per input column: type, and the categories or numeric range seen in training."""
    schema: list[dict[str, Any]] = []
    for name in features.columns:
        column = features[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            levels = int(column.nunique(dropna=True))
            integer = pd.api.types.is_integer_dtype(column)
            schema.append(
                {
                    "name": name,
                    "type": "integer" if integer else "number",
                    "kind": "ordinal" if integer and levels <= ordinal_max_levels else "numeric",
                    "min": float(column.min()),
                    "max": float(column.max()),
                }
            )
        else:
            categories = sorted(column.dropna().astype(str).unique().tolist())
            schema.append(
                {"name": name, "type": "string", "kind": "categorical", "categories": categories}
            )
    return schema


def used_sensitive(config: DatasetConfig, features: pd.DataFrame) -> list[str]:
    """Sensitive attributes that reach the model, directly or through a band's source column."""
    used = []
    for name in config.sensitive:
        if name in features.columns:
            used.append(name)
        elif name in config.bands and config.bands[name].column in features.columns:
            used.append(f"{name} (via {config.bands[name].column})")
    return used


def model_metadata(facts: RunFacts, quality: DataQuality) -> dict[str, Any]:
    """The facts a consumer of the model needs: inputs, threshold, provenance, headline metrics."""
    config = facts.config
    return {
        "model_name": facts.model_name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_kind": facts.result.kind,
        "params": facts.result.params,
        "calibrated": facts.result.calibrated,
        "threshold": facts.result.threshold,
        "risk_bands": risk_bands(facts.result.threshold),
        "output": "predict_proba(features)[:, 1] is the probability that the employee leaves",
        "target": config.target,
        "positive_label": config.positive_label,
        "id_column": config.id_column,
        "features": feature_schema(facts.train.features, config.ordinal_max_levels),
        "sensitive_attributes": config.sensitive,
        "excluded_from_model": config.exclude_from_model,
        "sensitive_used_by_model": used_sensitive(config, facts.train.features),
        "mitigation": getattr(facts.mitigation, "constraint", None),
        "training_data": {
            "source": facts.source,
            "hash": facts.data_hash,
            "train_rows": len(facts.train.labels),
            "test_rows": len(facts.test.labels),
            "base_rate": facts.base_rate,
        },
        "code_version": facts.code_version,
        "data_quality": quality.metrics(),
        "metrics": {"cv": facts.cv_metrics, "test": facts.test_metrics},
    }


def reference_files(facts: RunFacts) -> dict[str, str | bytes]:
    """The monitoring reference stored with the version: what 'normal' looked like at training."""
    sample = facts.train.features
    if len(sample) > 5000:
        sample = sample.sample(5000, random_state=facts.seed)
    test_set = facts.test.features.copy()
    test_set["label"] = facts.test.labels.to_numpy()
    for name in facts.test.audit.columns:
        if name not in test_set.columns:
            test_set[name] = facts.test.audit[name].astype(str).to_numpy()
    id_name = facts.config.id_column or "row"
    test_set[id_name] = facts.test.ids.to_numpy()
    predictions = pd.DataFrame(
        {
            id_name: facts.test.ids.to_numpy(),
            "label": facts.test.labels.to_numpy(),
            "proba": facts.test_proba,
        }
    )
    quantiles = np.quantile(facts.test_proba, np.linspace(0, 1, 11)).tolist()
    summary = {
        "base_rate": facts.base_rate,
        "threshold": facts.result.threshold,
        "test_prediction_deciles": quantiles,
        "test_predicted_rate": float((facts.test_proba >= facts.result.threshold).mean()),
        "feature_columns": list(facts.train.features.columns),
        "id_column": id_name,
    }
    return {
        "reference/features.parquet": _parquet(sample),
        "reference/test_set.parquet": _parquet(test_set),
        "reference/test_predictions.parquet": _parquet(predictions),
        # Lets a later A/B comparison leave out rows this model trained on.
        "reference/train_ids.parquet": _parquet(
            pd.DataFrame({id_name: facts.train.ids.to_numpy()})
        ),
        "reference/reference.json": _json(summary),
    }


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
        "metrics.json": _json(
            {
                "threshold": threshold,
                "validation": cv,
                "test": facts.test_metrics,
                "data_quality": quality.metrics(),
            }
        ),
        "validation_metrics.json": _json(
            {
                "source": "out-of-fold predictions on the training split",
                "threshold": threshold,
                **cv,
            }
        ),
        "test_metrics.json": _json(
            {
                "source": "held-out test split, scored once",
                "threshold": threshold,
                **facts.test_metrics,
            }
        ),
        "model_metadata.json": _json(model_metadata(facts, quality)),
        "requirements.txt": "\n".join(requirements) + "\n",
        "data_quality.json": _json(quality.to_dict()),
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
            facts.train.features, model_inputs(facts), facts.config.ordinal_max_levels
        ),
    )
    bundle = Bundle()
    bundle.metrics.update(quality.metrics())
    bundle.files.update(core_files(facts, quality, timer))
    bundle.files.update(timer("reference/", lambda: reference_files(facts)))
    drift = timer("data_drift_report.html", lambda: split_drift(facts))
    bundle.files["data_drift_report.html"] = drift.pop("html")
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
    fairness = timer("fairness", lambda: test_fairness(facts))
    bundle.fairness = fairness
    bundle.metrics.update(fairness.metrics())
    bundle.files["fairness.json"] = _json(fairness.to_dict())
    bundle.files["fairness_metrics.png"] = timer(
        "fairness_metrics.png", lambda: _png(plot_fairness(fairness))
    )
    bundle.files["fairness_report.html"] = timer(
        "fairness_report.html",
        lambda: render_fairness_report(
            fairness,
            model_name=facts.model_name,
            version_or_run=f"trained {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {facts.source}",
            threshold=facts.result.threshold,
            comparison=facts.mitigation,
        ),
    )
    values = timer("shap values", lambda: test_shap_values(facts))
    bundle.files["shap_summary.png"] = timer(
        "shap_summary.png", lambda: _png(plot_shap_summary(values, facts.test.features))
    )
    bundle.files["feature_importance.png"] = timer(
        "feature_importance.png", lambda: _png(plot_feature_importance(values))
    )
    bundle.top_features = values.abs().mean().sort_values(ascending=False).index[:10].tolist()
    if facts.profile:
        bundle.files["ydata-profile.html"] = timer(
            "ydata-profile.html", lambda: training_profile(facts)
        )
    return bundle


def test_fairness(facts: RunFacts) -> FairnessAssessment:
    """Fairness of the test-split decisions at the tuned threshold, per sensitive attribute."""
    decisions = (facts.test_proba >= facts.result.threshold).astype(int)
    return assess_fairness(
        facts.test.labels.to_numpy(),
        decisions,
        facts.test.audit,
        facts.thresholds,
        seed=facts.seed,
    )


def model_card(facts: RunFacts, bundle: Bundle, run_id: str, version: str) -> str:
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
        fairness=bundle.fairness.to_dict() if bundle.fairness else {},
        top_features=bundle.top_features,
        drift_summary=drift,
    )
    return render_model_card(card)


def test_shap_values(facts: RunFacts) -> pd.DataFrame:
    """SHAP values of the test split over the original columns, against a training background."""
    explainer = Explainer(facts.model, facts.train.features, seed=facts.seed)
    return explainer.shap_values(facts.test.features)


def _merge_json(text: str | bytes, extra: dict[str, Any]) -> str:
    return _json({**json.loads(text), **extra})


def split_drift(facts: RunFacts) -> dict[str, Any]:
    """Evidently's comparison of the training and test splits: summary plus the HTML page."""
    from attrition.drift import detect_drift, drift_report_html

    train, test = facts.train.features, facts.test.features
    summary = detect_drift(train, test).to_dict()
    return {**summary, "html": drift_report_html(train, test)}


def training_profile(facts: RunFacts) -> str:
    """The data profile of the training split, target included."""
    from attrition.data.profiling import profile_html

    frame = facts.train.features.copy()
    frame[facts.config.target] = facts.train.labels.map({1: "left", 0: "stayed"}).to_numpy()
    return profile_html(frame, f"Training data profile ({facts.config.name})")


def model_inputs(facts: RunFacts) -> pd.DataFrame:
    """The matrix the final estimator sees on the training rows, for the correlation gate."""
    return pipeline_inputs(facts.model, facts.train.features)


def mitigate(
    result: TrainResult,
    train: PreparedData,
    test: PreparedData,
    config: DatasetConfig,
    thresholds: GateThresholds,
    constraint: str,
    seed: int,
) -> tuple[Any, MitigationComparison]:
    """Refit the chosen pipeline under a fairness constraint; compare on the test split.

    The constrained attributes are those whose out-of-fold (training) decisions fail the
    fairness gate, so the test split plays no part in the choice; when none fail, all
    sensitive attributes are constrained.
    """
    from attrition.features import infer_column_kinds
    from attrition.mitigation import compare_mitigation, fit_mitigated
    from attrition.pipeline import build_pipeline

    oof_decisions = (result.oof_proba >= result.threshold).astype(int)
    training_fairness = assess_fairness(
        train.labels.to_numpy(), oof_decisions, train.audit, thresholds, n_boot=0, seed=seed
    )
    failing = [a.name for a in training_fairness.attributes if a.passed is False]
    targeted = failing or list(train.audit.columns)
    base = build_pipeline(
        result.kind, result.params, infer_column_kinds(train.features, config), config, seed
    )
    mitigated = fit_mitigated(
        base,
        train.features,
        train.labels,
        train.audit[targeted],
        constraint,  # type: ignore[arg-type]
        seed=seed,
        threshold=result.threshold,
    )
    comparison = compare_mitigation(
        result.model.predict_proba(test.features)[:, 1],
        mitigated.predict_proba(test.features)[:, 1],
        test.labels.to_numpy(),
        test.audit,
        constraint,  # type: ignore[arg-type]
        before_threshold=result.threshold,
        after_threshold=result.threshold,
        attributes=targeted,
    )
    return mitigated, comparison
