"""One registered model version, loaded for serving: scorer, schema, threshold, explainer.

`load_version` downloads the version and its run's metadata and reference rows,
compiles the fast scorer (proved against the pipeline) and runs a smoke
prediction. Anything wrong raises `ModelLoadError`, so a broken version never
replaces a working one.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from attrition.errors import ServingError
from attrition.serving.compiled import CompiledScorer, PipelineScorer, checked_scorer
from attrition.serving.schemas import (
    DeclaredColumns,
    FeatureSpec,
    RequestSchemas,
    build_request_schemas,
    specs_from_metadata,
    specs_from_signature,
)
from attrition.serving.scores import bands_of

log = logging.getLogger("attrition.serving")

EXPLAIN_BACKGROUND = 50
TOP_FACTORS = 5
SMOKE_ROWS = 50


class ModelLoadError(ServingError):
    """A model version could not be loaded or failed its smoke prediction."""


@dataclass(frozen=True)
class VersionInfo:
    """Where a served model came from."""

    name: str
    version: str
    alias: str | None = None
    stage: str | None = None
    run_id: str | None = None
    semver: str | None = None


class FastProba:
    """A `predict_proba` face on a scorer, so the explainer scores through the fast path."""

    classes_ = np.array([0, 1])

    def __init__(self, scorer: CompiledScorer | PipelineScorer) -> None:
        self.scorer = scorer
        self.feature_names_in_ = np.asarray(scorer.columns, dtype=object)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Columns [stay, leave]."""
        p = self.scorer.many(frame)
        return np.column_stack([1.0 - p, p])


@dataclass
class Scored:
    """One scored employee."""

    probability: float
    decision: bool
    risk_band: str


@dataclass
class LoadedModel:
    """A model version ready to score: everything the API and batch scoring need."""

    info: VersionInfo
    model: Any
    scorer: CompiledScorer | PipelineScorer
    schemas: RequestSchemas
    threshold: float
    bands: dict[str, float]
    metadata: dict[str, Any]
    reference: pd.DataFrame | None = None
    background: pd.DataFrame | None = None
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _explainer: Any = None
    _explainer_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # Highest lower edge first: the first band the probability reaches is its band.
        self._edges = sorted(self.bands.items(), key=lambda kv: kv[1], reverse=True)

    @property
    def columns(self) -> list[str]:
        return self.scorer.columns

    @property
    def id_column(self) -> str | None:
        return self.schemas.id_column

    def band(self, probability: float) -> str:
        """Risk band of a probability (bands are lower edges)."""
        for name, edge in self._edges:
            if probability >= edge:
                return name
        return self._edges[-1][0]

    def judge(self, probability: float) -> Scored:
        """Decision and band for a probability."""
        return Scored(probability, probability >= self.threshold, self.band(probability))

    def bands_of(self, probabilities: np.ndarray) -> np.ndarray:
        """Risk band of each probability, vectorised."""
        return bands_of(probabilities, self.bands)

    @property
    def explainer(self) -> Any:
        """SHAP explainer over the original inputs, built on first use."""
        with self._explainer_lock:
            if self._explainer is None:
                from attrition.explain import Explainer

                background = self.background if self.background is not None else self.reference
                if background is None:
                    raise ModelLoadError("no reference rows stored with this version to explain")
                self._explainer = Explainer(
                    FastProba(self.scorer),
                    background[self.columns],
                    max_background=EXPLAIN_BACKGROUND,
                    seed=0,
                    groups=self.metadata.get("linked_inputs"),
                )
            return self._explainer

    def explain(self, frame: pd.DataFrame, k: int = TOP_FACTORS) -> list[list[dict[str, Any]]]:
        """Top `k` factors per row, as plain dicts."""
        factors = self.explainer.top_factors(frame[self.columns], k=k)
        return [
            [
                {
                    "feature": f.feature,
                    "value": f.value,
                    "contribution": f.contribution,
                    "direction": f.direction,
                }
                for f in row
            ]
            for row in factors
        ]

    def frame(self, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Validated request rows as a typed DataFrame of the model's inputs."""
        data = {c: [r[c] for r in rows] for c in self.columns}
        frame = pd.DataFrame(data)
        for spec in self.schemas.specs:
            if spec.type == "integer" and spec.name in frame:
                frame[spec.name] = frame[spec.name].astype("int64")
        return frame


def _download_json(client: MlflowClient, run_id: str, path: str, dst: str) -> Any | None:
    try:
        local = client.download_artifacts(run_id, path, dst)
    except Exception:  # absent artifact: MLflow raises several kinds
        return None
    return json.loads(Path(local).read_text(encoding="utf-8"))


def _download_parquet(
    client: MlflowClient, run_id: str, path: str, dst: str
) -> pd.DataFrame | None:
    try:
        local = client.download_artifacts(run_id, path, dst)
    except Exception:
        return None
    return pd.read_parquet(local)


def _example_row(specs: Sequence[FeatureSpec]) -> dict[str, Any]:
    """A synthetic employee from the specs alone, never a data row: each field's typical
    training value (median, most frequent category), else mid-range or the first category."""
    row: dict[str, Any] = {}
    for spec in specs:
        if spec.categories:
            typical = spec.typical if spec.typical in spec.categories else None
            row[spec.name] = typical or spec.categories[0]
        elif spec.type == "string":
            row[spec.name] = "missing"
        elif spec.type == "boolean":
            row[spec.name] = False
        else:
            low = spec.seen_min if spec.seen_min is not None else 0.0
            high = spec.seen_max if spec.seen_max is not None else low
            value = spec.typical if isinstance(spec.typical, float) else (low + high) / 2
            value = min(max(value, low), high)
            row[spec.name] = round(value) if spec.type == "integer" else value
    return row


EXAMPLE_ID = "E-000000"  # an id that names nobody


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _smoke_rows(
    reference: pd.DataFrame | None, columns: list[str], specs: Sequence[FeatureSpec]
) -> pd.DataFrame:
    if reference is not None and set(columns) <= set(reference.columns) and len(reference):
        return reference[columns].head(SMOKE_ROWS).reset_index(drop=True)
    row = _example_row(specs)
    return pd.DataFrame([{c: row.get(c) for c in columns}])


def _smoke(scorer: CompiledScorer | PipelineScorer, rows: pd.DataFrame) -> None:
    probabilities = scorer.many(rows)
    single = scorer.one({str(c): _plain(v) for c, v in rows.iloc[0].items()})
    values = np.append(probabilities, single)
    if len(probabilities) != len(rows) or not np.all(np.isfinite(values)):
        raise ModelLoadError("smoke prediction gave missing or non-finite probabilities")
    if np.any(values < 0) or np.any(values > 1):
        raise ModelLoadError("smoke prediction gave probabilities outside [0, 1]")


def _specs(
    metadata: Mapping[str, Any], signature_inputs: list[dict[str, Any]] | None, columns: list[str]
) -> list[FeatureSpec]:
    if metadata.get("features"):
        by_name = {s.name: s for s in specs_from_metadata(metadata["features"])}
    elif signature_inputs:
        by_name = {s.name: s for s in specs_from_signature(signature_inputs)}
    else:
        raise ModelLoadError("the version has neither model_metadata.json nor a signature")
    missing = [c for c in columns if c not in by_name]
    if missing:
        raise ModelLoadError(f"no schema for model input(s): {', '.join(missing)}")
    return [by_name[c] for c in columns]


def _signature_inputs(model_dir: str) -> list[dict[str, Any]] | None:
    from mlflow.models import Model

    signature = Model.load(model_dir).signature
    if signature is None or signature.inputs is None:
        return None
    return [dict(item) for item in signature.inputs.to_dict()]


def load_version(
    client: MlflowClient,
    name: str,
    version: str,
    *,
    alias: str | None = None,
    max_batch: int = 1000,
) -> LoadedModel:
    """Load one registered version for serving; raises `ModelLoadError` if it cannot serve."""
    import mlflow

    try:
        mv = client.get_model_version(name, str(version))
        run_id = mv.tags.get("attrition.run_id") or mv.run_id
        with tempfile.TemporaryDirectory(prefix="attrition-serve-") as tmp:
            model_dir = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}", dst_path=str(Path(tmp) / "model")
            )
            model = mlflow.sklearn.load_model(model_dir)
            signature = _signature_inputs(model_dir)
            metadata: dict[str, Any] = {}
            reference = background = None
            if run_id:
                metadata = _download_json(client, run_id, "model_metadata.json", tmp) or {}
                reference = _download_parquet(client, run_id, "reference/test_set.parquet", tmp)
                background = _download_parquet(client, run_id, "reference/features.parquet", tmp)
                if not metadata.get("threshold"):
                    summary = _download_json(client, run_id, "reference/reference.json", tmp)
                    if summary and "threshold" in summary:
                        metadata = {**metadata, "threshold": summary["threshold"]}
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"version {version} could not be loaded: {_one_line(exc)}") from exc
    return prepare_loaded(
        model,
        VersionInfo(
            name,
            str(version),
            alias,
            getattr(mv, "current_stage", None),
            run_id,
            (mv.tags or {}).get("semver"),
        ),
        metadata,
        signature,
        reference,
        background,
        max_batch=max_batch,
    )


def prepare_loaded(
    model: Any,
    info: VersionInfo,
    metadata: Mapping[str, Any],
    signature_inputs: list[dict[str, Any]] | None,
    reference: pd.DataFrame | None,
    background: pd.DataFrame | None,
    *,
    max_batch: int = 1000,
) -> LoadedModel:
    """Compile, check and smoke-test a fitted model; the pure part of loading."""
    try:
        if not hasattr(model, "predict_proba"):
            raise ModelLoadError("the model has no predict_proba")
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            if not signature_inputs:
                raise ModelLoadError("the model records no input columns")
            model.feature_names_in_ = np.asarray(
                [c["name"] for c in signature_inputs], dtype=object
            )
        columns = [str(c) for c in model.feature_names_in_]
        specs = _specs(metadata, signature_inputs, columns)
        probe = (
            reference if reference is not None and set(columns) <= set(reference.columns) else None
        )
        if probe is None:
            probe = _smoke_rows(background, columns, specs)
        scorer = checked_scorer(model, probe)
        _smoke(scorer, _smoke_rows(reference, columns, specs))
        threshold = float(metadata.get("threshold", 0.5))
        if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
            raise ModelLoadError(f"threshold {threshold} is not a probability")
        bands = {k: float(v) for k, v in (metadata.get("risk_bands") or {}).items()}
        if not bands:
            bands = {"low": 0.0, "medium": threshold / 2, "high": threshold}
        id_column = metadata.get("id_column")
        example = _example_row(specs)
        if id_column and id_column not in example:
            example = {id_column: EXAMPLE_ID, **example}
        declared = DeclaredColumns.from_metadata(metadata, columns, id_column)
        schemas = build_request_schemas(specs, id_column, max_batch, example, declared)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"version {info.version} failed to load: {_one_line(exc)}") from exc
    if not scorer.compiled:
        log.warning("model %s version %s: %s", info.name, info.version, scorer.reason)
    return LoadedModel(
        info=info,
        model=model,
        scorer=scorer,
        schemas=schemas,
        threshold=threshold,
        bands=bands,
        metadata=dict(metadata),
        reference=reference,
        background=background,
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]
