"""Real temporary MLflow stores (SQLite, PostgreSQL) and a factory of registered versions.

Versions are made without the training pipeline: a run with the given metrics
and artifacts, registered against one of two tiny sklearn models saved once
(a sensible one and a coin-flip one, so A/B comparisons have something to find).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
FEATURES = ["tenure", "overtime_hours", "satisfaction"]

PASSING: dict[str, float] = {
    "test_accuracy": 0.90,
    "test_roc_auc": 0.91,
    "test_f1_weighted": 0.88,
    "test_precision_weighted": 0.89,
    "test_recall_weighted": 0.90,
    "test_f1_attrition": 0.62,
    "test_precision_attrition": 0.70,
    "test_recall_attrition": 0.55,
    "dq_missing_rate": 0.0,
    "dq_outlier_rate": 0.002,
    "dq_max_abs_correlation": 0.45,
    "dq_duplicate_rate": 0.0,
    "fairness.Gender.statistical_parity_difference": 0.03,
    "fairness.Gender.equal_opportunity_difference": -0.05,
    "fairness.Gender.predictive_parity_difference": 0.04,
    "fairness.AgeBand.statistical_parity_difference": 0.06,
    "fairness.AgeBand.equal_opportunity_difference": math.nan,
    "fairness.AgeBand.predictive_parity_difference": 0.02,
}
ALL_ARTIFACTS = (
    "model_card.md",
    "fairness_report.html",
    "reference/features.parquet",
    "reference/reference.json",
    "reference/test_set.parquet",
)


def employees(rows: int, seed: int) -> pd.DataFrame:
    """A small frame: three model inputs, an audit column and a 0/1 `label`."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.normal(5, 2, rows),
            "overtime_hours": rng.normal(10, 4, rows),
            "satisfaction": rng.normal(0, 1, rows),
        }
    )
    logit = (
        -0.6 * (frame.tenure - 5) + 0.35 * (frame.overtime_hours - 10) - 0.8 * frame.satisfaction
    )
    frame["label"] = (rng.random(rows) < 1 / (1 + np.exp(-(logit - 1.2)))).astype(int)
    frame["Gender"] = rng.choice(["Female", "Male"], rows)
    return frame


def save_models(folder: Path) -> dict[str, str]:
    """Save the `good` and the `coin` model once (MLflow sklearn flavour, with signature)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = employees(600, seed=1)
    labels = {
        "good": train.label,
        "coin": pd.Series(np.random.default_rng(9).permutation(train.label.to_numpy())),
    }
    paths = {}
    for kind, y in labels.items():
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(train[FEATURES], y)
        path = folder / kind
        signature = infer_signature(train[FEATURES], model.predict_proba(train[FEATURES])[:, 1])
        # cloudpickle: saving skips skops' slow import; the registry loads either format
        mlflow.sklearn.save_model(
            model,
            str(path),
            signature=signature,
            pip_requirements=["scikit-learn"],
            serialization_format="cloudpickle",
        )
        paths[kind] = str(path)
    return paths


def postgres_reachable() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"{PG_SERVER}/postgres", connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except Exception as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


@contextmanager
def postgres_database(prefix: str = "attrition_test_") -> Iterator[str]:
    """A uniquely named (`prefix` + random), empty PostgreSQL database, dropped afterwards."""
    import sqlalchemy as sa

    problem = postgres_reachable()
    if problem:
        pytest.skip(f"PostgreSQL at {PG_SERVER} unreachable: {problem}")
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Store:
    """One real MLflow store with its client, artifact root and saved models."""

    uri: str
    artifact_root: Path
    models: dict[str, str]
    experiment_id: str = ""
    test_set: pd.DataFrame = field(default_factory=lambda: employees(300, seed=2))

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def new_model(self) -> str:
        """A fresh registered-model name, so tests never see each other's versions."""
        return f"attrition_test_{uuid.uuid4().hex[:8]}"

    def make_version(
        self,
        name: str,
        *,
        metrics: Mapping[str, float] | None = None,
        omit: Collection[str] = (),
        model: str = "good",
        extra: Mapping[str, pd.DataFrame] | None = None,
        documents: Mapping[str, object] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> str:
        """Log a finished run with `metrics` (default: passing) and artifacts, register it."""
        return make_version(
            self,
            name,
            metrics=metrics,
            omit=omit,
            model=model,
            extra=extra,
            documents=documents,
            params=params,
        )


def make_version(
    store: Store,
    name: str,
    *,
    metrics: Mapping[str, float] | None = None,
    omit: Collection[str] = (),
    model: str = "good",
    extra: Mapping[str, pd.DataFrame] | None = None,
    documents: Mapping[str, object] | None = None,
    params: Mapping[str, str] | None = None,
) -> str:
    """Register a new version of `name` whose run carries `metrics` and all artifacts but `omit`.

    `extra` adds Parquet artifacts (relative path -> table), `documents` JSON artifacts
    (relative path -> value), `params` run params.
    """
    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException

    client = store.client
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    run = client.create_run(store.experiment_id)
    run_id = run.info.run_id
    values = {**PASSING, **(metrics or {})}
    stamp = run.info.start_time
    client.log_batch(run_id, metrics=[Metric(k, v, stamp, 0) for k, v in values.items()])
    for key, value in (params or {}).items():
        client.log_param(run_id, key, value)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "reference").mkdir()
        files = {
            "model_card.md": lambda p: p.write_text("# Model card\n", encoding="utf-8"),
            "fairness_report.html": lambda p: p.write_text("<html></html>", encoding="utf-8"),
            "reference/features.parquet": lambda p: store.test_set[FEATURES].to_parquet(p),
            "reference/reference.json": lambda p: p.write_text(
                json.dumps({"base_rate": 0.2, "threshold": 0.5}), encoding="utf-8"
            ),
            "reference/test_set.parquet": lambda p: store.test_set.to_parquet(p),
        }
        for path, write in files.items():
            if path not in omit:
                write(root / path)
        for path, table in (extra or {}).items():
            table.to_parquet(root / path)
        for path, value in (documents or {}).items():
            (root / path).write_text(json.dumps(value), encoding="utf-8")
        client.log_artifacts(run_id, tmp)
    client.set_terminated(run_id)
    mv = client.create_model_version(
        name, source=store.models[model], run_id=run_id, tags={"attrition.run_id": run_id}
    )
    return str(mv.version)


@contextmanager
def temp_store(kind: str, folder: Path, models: dict[str, str]) -> Iterator[Store]:
    """A fresh MLflow store of `kind` ('sqlite' or 'postgres') with one experiment.

    NullPool: no pooled connection is inherited by forked racing processes.
    """
    previous = os.environ.get("MLFLOW_SQLALCHEMYSTORE_POOLCLASS")
    os.environ["MLFLOW_SQLALCHEMYSTORE_POOLCLASS"] = "NullPool"
    try:
        with _database(kind, folder) as uri:
            store = Store(uri=uri, artifact_root=folder / "artifacts", models=models)
            store.experiment_id = store.client.create_experiment(
                f"registry-{uuid.uuid4().hex[:8]}", artifact_location=str(store.artifact_root)
            )
            yield store
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", None)
        else:
            os.environ["MLFLOW_SQLALCHEMYSTORE_POOLCLASS"] = previous


def _sqlite_template(folder: Path) -> Path:
    """An empty, fully migrated MLflow SQLite database, made once per test session.

    MLflow's migrations take seconds on SQLite; copying a migrated file takes none.
    """
    from mlflow.tracking import MlflowClient

    template = folder / "mlflow-template.db"
    if not template.exists():
        building = folder / f"building-{uuid.uuid4().hex[:8]}.db"
        uri = f"sqlite:///{building}"
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments()
        building.replace(template)
    return template


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        shutil.copyfile(_sqlite_template(folder.parent), folder / "mlflow.db")
        yield f"sqlite:///{folder / 'mlflow.db'}"
    elif kind == "postgres":
        with postgres_database() as uri:
            yield uri
    else:
        raise ValueError(f"unknown store kind '{kind}'")
