"""`model_metadata.json`: what a consumer of the model needs to call it and trust it.

The input schema, the tuned threshold and its risk bands, which sensitive
attributes reach the model, provenance and headline metrics. Serving reads the
schema and the bands from this file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from attrition.config import DatasetConfig
from attrition.data.quality import DataQuality
from attrition.data.ranges import plausible_range
from attrition.training.facts import RunFacts


def risk_bands(threshold: float) -> dict[str, float]:
    """Lower edges of the risk bands, anchored on the tuned decision threshold."""
    return {"low": 0.0, "medium": round(threshold / 2, 6), "high": round(threshold, 6)}


def feature_schema(
    features: pd.DataFrame,
    ordinal_max_levels: int,
    ranges: Mapping[str, Sequence[float]] | None = None,
) -> list[dict[str, Any]]:
    """Per input column: type, and the categories, or the numeric range seen and accepted.

    `min`/`max` are what training saw; `minimum`/`maximum` what serving accepts: the
    configured range of the column in `ranges`, else `attrition.data.ranges`' rule.
    """
    schema: list[dict[str, Any]] = []
    for name in features.columns:
        column = features[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            levels = int(column.nunique(dropna=True))
            integer = pd.api.types.is_integer_dtype(column)
            kind = "ordinal" if integer and levels <= ordinal_max_levels else "numeric"
            seen = float(column.min()), float(column.max())
            stated = (ranges or {}).get(str(name))
            entry: dict[str, Any] = {
                "name": name,
                "type": "integer" if integer else "number",
                "kind": kind,
                "min": seen[0],
                "max": seen[1],
                "typical": float(column.median()),
            }
            if stated is not None:
                entry.update(minimum=float(stated[0]), maximum=float(stated[1]))
                entry["range_from"] = "dataset config"
            elif all(math.isfinite(v) for v in seen):
                low, high = plausible_range(*seen, integer=integer, ordinal=kind == "ordinal")
                entry.update(minimum=low, maximum=high, range_from="training data")
            schema.append(entry)
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
        "features": feature_schema(facts.train.features, config.ordinal_max_levels, config.ranges),
        "sensitive_attributes": config.sensitive,
        "excluded_from_model": config.exclude_from_model,
        "sensitive_used_by_model": used_sensitive(config, facts.train.features),
        "dropped_columns": config.drop,
        "bands": {name: band.model_dump() for name, band in config.bands.items()},
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
        "linked_inputs": quality.linked_inputs,
        "metrics": {"cv": facts.cv_metrics, "test": facts.test_metrics},
    }
