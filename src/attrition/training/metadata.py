"""`model_metadata.json`: what a consumer of the model needs to call it and trust it.

The input schema, the tuned threshold and its risk bands, which sensitive
attributes reach the model, provenance and headline metrics. Serving reads the
schema and the bands from this file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from attrition.config import DatasetConfig
from attrition.data.quality import DataQuality
from attrition.training.facts import RunFacts


def risk_bands(threshold: float) -> dict[str, float]:
    """Lower edges of the risk bands, anchored on the tuned decision threshold."""
    return {"low": 0.0, "medium": round(threshold / 2, 6), "high": round(threshold, 6)}


def feature_schema(features: pd.DataFrame, ordinal_max_levels: int) -> list[dict[str, Any]]:
    """Per input column: type, the categories or numeric range seen in training, and a
    typical value (median, or most frequent category) for a synthetic example."""
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
                    "typical": float(column.median()),
                }
            )
        else:
            values = column.dropna().astype(str)
            categories = sorted(values.unique().tolist())
            typical = str(values.mode().iloc[0]) if len(values) else None
            schema.append(
                {
                    "name": name,
                    "type": "string",
                    "kind": "categorical",
                    "categories": categories,
                    "typical": typical,
                }
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
