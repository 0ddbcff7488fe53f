"""Fitted models and a real MLflow store with registered versions, for serving tests.

Models are fitted directly with `build_pipeline` (seconds, not a full training
run) and registered with the same helpers and artifacts a training run uses:
the MLflow model, `model_metadata.json` and the `reference/` files. Everything
is built once per test process and shared.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

MODEL_NAME = "employee_attrition_model"


@dataclass
class Data:
    """Generated employees split for fitting and scoring."""

    train: pd.DataFrame  # model inputs
    labels: pd.Series
    test: pd.DataFrame  # model inputs + id + label
    config: Any


@functools.cache
def data(rows: int = 1500, seed: int = 7) -> Data:
    """Generated employees, prepared with the IBM dataset config."""
    from attrition.config import load_dataset_config
    from attrition.data.generate import generate_employees
    from attrition.data.prepare import prepare

    config = load_dataset_config()
    prepared = prepare(generate_employees(rows, seed=seed), config)
    cut = int(rows * 0.8)
    features = prepared.features
    test = features.iloc[cut:].copy()
    test["label"] = prepared.labels.iloc[cut:].to_numpy()
    test[config.id_column] = prepared.ids.iloc[cut:].to_numpy()
    return Data(features.iloc[:cut], prepared.labels.iloc[:cut], test, config)


@functools.cache
def fitted(kind: str = "logreg", calibrated: bool = False, **params: Any) -> Any:
    """A fitted model of `kind` (optionally sigmoid-calibrated) on the generated data."""
    from sklearn.calibration import CalibratedClassifierCV

    from attrition.features import infer_column_kinds
    from attrition.pipeline import build_pipeline

    d = data()
    kinds = infer_column_kinds(d.train, d.config)
    extra = {"n_estimators": 60} if kind == "lightgbm" else {}
    pipeline = build_pipeline(kind, {**extra, **params}, kinds, d.config, seed=0)
    model: Any = (
        CalibratedClassifierCV(pipeline, method="sigmoid", cv=3, ensemble=False)
        if calibrated
        else pipeline
    )
    return model.fit(d.train, d.labels)


def metadata(model: Any, threshold: float, version_note: str = "") -> dict[str, Any]:
    """`model_metadata.json` as a training run writes it (features from the same helper)."""
    from attrition.training.metadata import feature_schema, risk_bands

    d = data()
    return {
        "model_name": MODEL_NAME,
        "created": "2026-01-01T00:00:00+00:00",
        "model_kind": "logreg",
        "threshold": threshold,
        "risk_bands": risk_bands(threshold),
        "target": d.config.target,
        "positive_label": d.config.positive_label,
        "id_column": d.config.id_column,
        "features": feature_schema(d.train, d.config.ordinal_max_levels),
        "sensitive_attributes": d.config.sensitive,
        "excluded_from_model": d.config.exclude_from_model,
        "dropped_columns": d.config.drop,
        "bands": {name: band.model_dump() for name, band in d.config.bands.items()},
        "metrics": {"test": {"roc_auc": 0.85, "accuracy": 0.86}, "cv": {}},
        "note": version_note,
    }


@dataclass
class ServingStore:
    """A real SQLite MLflow store with registered versions of one model."""

    uri: str
    root: Path
    versions: dict[str, str]  # role -> version: good, other, broken

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def source(self, version: str, name: str = MODEL_NAME) -> tuple[str, str | None]:
        mv = self.client.get_model_version(name, version)
        return str(mv.source), mv.run_id

    def copy_model(
        self, roles: tuple[str, ...] = ("good", "other", "broken")
    ) -> tuple[str, dict[str, str]]:
        """A fresh registered model whose versions reuse the stored ones (no re-logging)."""
        import mlflow

        # A version's `models:/m-…` source is looked up through the global tracking URI.
        mlflow.set_tracking_uri(self.uri)
        name = f"attrition_test_{uuid.uuid4().hex[:8]}"
        client = self.client
        client.create_registered_model(name)
        mapping = {}
        for role in roles:
            source, run_id = self.source(self.versions[role])
            mv = client.create_model_version(
                name, source=source, run_id=run_id, tags={"attrition.run_id": run_id or ""}
            )
            mapping[role] = str(mv.version)
        return name, mapping

    def set_champion(self, version: str, name: str = MODEL_NAME) -> None:
        """Make `version` the champion through the gated transitions (forced, with a reason),
        so the champion is backed by its audit trail as the server requires."""
        promote_to_champion(self.client, name, version)


def promote_to_champion(client: MlflowClient, name: str, version: str) -> None:
    """Staging then Production with `--force --reason`, as `attrition models transition-stage`."""
    from attrition.config import load_gate_thresholds
    from attrition.registry.transitions import transition

    stage = client.get_model_version(name, version).current_stage
    if stage == "Production":
        return
    for target in ("Staging", "Production")[1 if stage == "Staging" else 0 :]:
        transition(
            client,
            name,
            version,
            target,
            thresholds=load_gate_thresholds(),
            actor="tests",
            force=True,
            reason="test fixture",
            first_deployment=True,
        )


def _register(
    uri: str, experiment_id: str, model: Any, threshold: float, note: str
) -> tuple[str, str, str]:
    import mlflow

    from attrition import tracking

    d = data()
    with mlflow.start_run(experiment_id=experiment_id) as run:
        version, model_uri = tracking.log_and_register_model(
            model, d.train.head(200), MODEL_NAME, ["scikit-learn"], tags={}
        )
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "reference").mkdir()
            (root / "model_metadata.json").write_text(
                json.dumps(metadata(model, threshold, note)), encoding="utf-8"
            )
            d.test.to_parquet(root / "reference" / "test_set.parquet")
            d.train.head(500).to_parquet(root / "reference" / "features.parquet")
            (root / "reference" / "reference.json").write_text(
                json.dumps({"threshold": threshold}), encoding="utf-8"
            )
            mlflow.log_artifacts(tmp)
        run_id = run.info.run_id
    client = tracking.client_for(uri)
    client.set_model_version_tag(MODEL_NAME, version, "attrition.run_id", run_id)
    return version, model_uri, run_id


def _broken_copy(client: MlflowClient, good_version: str, root: Path, run_id: str) -> str:
    """A version whose artifacts exist but whose pickled model is garbage."""
    import mlflow

    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{MODEL_NAME}/{good_version}", dst_path=str(root / "broken")
        )
    )
    (local / "model.pkl").write_bytes(b"this is not a pickle")
    mv = client.create_model_version(
        MODEL_NAME, source=str(local), run_id=run_id, tags={"attrition.run_id": run_id}
    )
    return str(mv.version)


@functools.cache
def serving_store(base: Path) -> ServingStore:
    """Build the store once per test process under `base`."""
    import os

    import mlflow

    from attrition import tracking

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    root = base / f"serving-store-{uuid.uuid4().hex[:6]}"
    root.mkdir(parents=True)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = tracking.client_for(uri)
    experiment_id = client.create_experiment("serving-tests", artifact_location=str(root / "art"))
    with tracking.quiet_mlflow():
        good, _, run_good = _register(uri, experiment_id, fitted("logreg", True), 0.3, "good")
        other, _, _ = _register(uri, experiment_id, fitted("logreg", False), 0.25, "other")
        broken = _broken_copy(client, good, root, run_good)
    mlflow.set_tracking_uri(uri)
    return ServingStore(uri, root, {"good": good, "other": other, "broken": broken})


def full_records(n: int = 5) -> list[dict[str, Any]]:
    """Whole HR records of the held-out employees: inputs, id, sensitive and dropped columns."""
    from attrition.data.generate import generate_employees

    d = data()
    raw = generate_employees(1500, seed=7).iloc[int(1500 * 0.8) :].head(n)
    rows = raw.drop(columns=[d.config.target]).to_dict(orient="records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows]


def employee_rows(n: int = 50) -> list[dict[str, Any]]:
    """Valid request bodies (model inputs + id) from the held-out rows."""
    d = data()
    columns = [*d.train.columns, d.config.id_column]
    rows = d.test[columns].head(n).to_dict(orient="records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows]


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
