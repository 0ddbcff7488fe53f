"""The monitoring reference of a registered model version, found by version.

Model version -> its `attrition.run_id` tag (or the run it was registered from)
-> that run's `reference/` artifacts. Paths are never guessed: a version without
a reference is an error that names the version and what is missing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attrition.errors import MonitorError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

REFERENCE_FILES = ("features.parquet", "test_predictions.parquet", "reference.json")
CHAMPION = "champion"


@dataclass
class Reference:
    """What 'normal' looked like when a version was trained.

    `features` is a sample of the training inputs; `test_predictions` holds the
    test split's labels and probabilities; `summary` is `reference.json`.
    """

    model_name: str
    version: str
    run_id: str
    features: pd.DataFrame
    test_predictions: pd.DataFrame
    summary: dict[str, Any]
    test_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def feature_columns(self) -> list[str]:
        """The model's input columns, in training order."""
        return list(self.summary.get("feature_columns") or self.features.columns)

    @property
    def threshold(self) -> float:
        """The decision threshold the version was tuned to."""
        return float(self.summary["threshold"])

    @property
    def base_rate(self) -> float:
        """Share of leavers in the training data."""
        return float(self.summary["base_rate"])

    @property
    def id_column(self) -> str | None:
        """The employee id column of the training data."""
        return self.summary.get("id_column")

    @property
    def scores(self) -> np.ndarray:
        """The test split's predicted attrition probabilities."""
        return self.test_predictions["proba"].to_numpy(dtype=float)

    @property
    def predicted_rate(self) -> float:
        """Share of the test split flagged at the threshold."""
        rate = self.summary.get("test_predicted_rate")
        return float(rate) if rate is not None else float(np.mean(self.scores >= self.threshold))


@contextmanager
def no_progress_bars() -> Iterator[None]:
    """Keep MLflow's download progress bars off the terminal, unless the user asked for them."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    if key in os.environ:
        yield
        return
    os.environ[key] = "false"
    try:
        yield
    finally:
        os.environ.pop(key, None)


def resolve_version(client: MlflowClient, name: str, version: str | None = None) -> str:
    """The version number to monitor: `version` when given, else the `champion` alias."""
    from mlflow.exceptions import MlflowException

    if version is not None:
        try:
            client.get_model_version(name, str(version))
        except MlflowException:
            raise MonitorError(f"model '{name}' has no version '{version}'") from None
        return str(version)
    try:
        mv = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        raise MonitorError(
            f"model '{name}' has no champion (Production) version: promote one with "
            "`attrition models transition-stage --stage Production`, or pass --version"
        ) from None
    return str(mv.version)


def load_reference(client: MlflowClient, name: str, version: str) -> Reference:
    """Download and read the monitoring reference stored with `name` version `version`."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version(name, str(version))
    except MlflowException:
        raise MonitorError(f"model '{name}' has no version '{version}'") from None
    run_id = (mv.tags or {}).get("attrition.run_id") or mv.run_id
    if not run_id:
        raise MonitorError(f"version {version} of '{name}' names no training run")
    with tempfile.TemporaryDirectory() as tmp, no_progress_bars():
        try:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    run_id=run_id,
                    artifact_path="reference",
                    dst_path=tmp,
                    tracking_uri=client.tracking_uri,
                )
            )
        except (MlflowException, OSError):
            raise MonitorError(
                f"version {version} of '{name}' has no monitoring reference "
                f"(run {run_id} lacks reference/); retrain it with this release"
            ) from None
        missing = [f"reference/{f}" for f in REFERENCE_FILES if not (local / f).exists()]
        if missing:
            raise MonitorError(f"version {version} of '{name}': run {run_id} lacks {missing}")
        features = pd.read_parquet(local / "features.parquet")
        predictions = pd.read_parquet(local / "test_predictions.parquet")
        summary = json.loads((local / "reference.json").read_text(encoding="utf-8"))
    metrics = client.get_run(run_id).data.metrics
    test_metrics = {
        k.removeprefix("test_"): float(v) for k, v in metrics.items() if k.startswith("test_")
    }
    return Reference(
        model_name=name,
        version=str(version),
        run_id=run_id,
        features=features,
        test_predictions=predictions,
        summary=summary,
        test_metrics=test_metrics,
    )


def load_model(client: MlflowClient, name: str, version: str) -> Any:
    """The version's sklearn estimator (`predict_proba(frame)[:, 1]` = attrition probability)."""
    import mlflow.artifacts
    import mlflow.sklearn

    from attrition.tracking import quiet_mlflow

    uri = client.get_model_version_download_uri(name, str(version))
    with tempfile.TemporaryDirectory() as tmp, quiet_mlflow(), no_progress_bars():
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=tmp, tracking_uri=client.tracking_uri
        )
        return mlflow.sklearn.load_model(local)
