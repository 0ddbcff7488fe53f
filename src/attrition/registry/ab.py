"""The A/B comparison behind the Production gate: candidate and champion on the same rows.

Both versions score the candidate's held-out test split, minus the rows the
champion trained on, and a paired bootstrap gives the interval of the ROC AUC
difference.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.errors import RegistryError
from attrition.registry.production_gates import ABComparison, paired_bootstrap_auc
from attrition.registry.versions import num, run_id_of

TEST_SET = "reference/test_set.parquet"
TRAIN_IDS = "reference/train_ids.parquet"
MIN_AB_ROWS = 30
LABEL = "label"


def _as_probability(output: Any) -> np.ndarray:
    array = np.asarray(output.to_numpy() if hasattr(output, "to_numpy") else output, dtype=float)
    if array.ndim == 2:
        return array[:, -1]
    return array.ravel()


def load_scorer(
    client: MlflowClient, name: str, version: str, folder: str
) -> tuple[Callable[[pd.DataFrame], np.ndarray], list[str] | None]:
    """A function returning the attrition probability of a version, and its input columns."""
    import mlflow.artifacts
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import Model

    uri = client.get_model_version_download_uri(name, version)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=uri, dst_path=folder, tracking_uri=client.tracking_uri
    )
    meta = Model.load(local)
    inputs = meta.signature.inputs.input_names() if meta.signature is not None else None
    columns = [str(c) for c in inputs] if inputs else None
    if "sklearn" in meta.flavors:
        estimator = mlflow.sklearn.load_model(local)
        return (lambda frame: np.asarray(estimator.predict_proba(frame))[:, 1]), columns
    pyfunc = mlflow.pyfunc.load_model(local)
    return (lambda frame: _as_probability(pyfunc.predict(frame))), columns


def ab_compare(
    client: MlflowClient,
    name: str,
    candidate: ModelVersion,
    champion: ModelVersion,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> ABComparison:
    """Score the candidate's test split with both models; paired bootstrap of the AUC difference."""
    import mlflow.artifacts

    run_id = run_id_of(candidate)
    if run_id is None:
        raise RegistryError(f"version {num(candidate)} has no training run")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path=TEST_SET,
                dst_path=tmp,
                tracking_uri=client.tracking_uri,
            )
        except (MlflowException, OSError):
            raise RegistryError(f"the candidate's run has no {TEST_SET}") from None
        test = pd.read_parquet(path)
        if LABEL not in test.columns:
            raise RegistryError(f"{TEST_SET} has no '{LABEL}' column")
        test = unseen_by(client, champion, test, tmp)
        scores = []
        for mv in (candidate, champion):
            score, columns = load_scorer(client, name, num(mv), str(Path(tmp) / f"v{num(mv)}"))
            features = test.drop(columns=[LABEL])
            if columns is not None:
                missing = [c for c in columns if c not in test.columns]
                if missing:
                    raise RegistryError(
                        f"the test set lacks v{num(mv)}'s input columns {missing[:5]}"
                    )
                features = test[columns]
            scores.append(score(features))
    return paired_bootstrap_auc(
        test[LABEL].to_numpy(),
        scores[0],
        scores[1],
        champion_version=num(champion),
        resamples=resamples,
        seed=seed,
    )


def unseen_by(
    client: MlflowClient, champion: ModelVersion, test: pd.DataFrame, tmp: str
) -> pd.DataFrame:
    """The test rows the champion did not train on, so the comparison does not favour it.

    Versions trained on overlapping data with another split would otherwise score
    the champion partly on its own training rows.
    """
    import mlflow.artifacts

    run_id = run_id_of(champion)
    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id,
            artifact_path=TRAIN_IDS,
            dst_path=str(Path(tmp) / "champion_ids"),
            tracking_uri=client.tracking_uri,
        )
    except (MlflowException, OSError):
        return test  # an older version without its training ids: compare on every row
    ids = pd.read_parquet(path)
    column = ids.columns[0]
    if column not in test.columns:
        return test
    unseen = test[~test[column].isin(ids[column])]
    if len(unseen) < MIN_AB_ROWS or unseen[LABEL].nunique() < 2:
        raise RegistryError(
            f"only {len(unseen)} of the candidate's {len(test)} test rows are unseen by the "
            f"champion (v{num(champion)}): too few for a fair comparison"
        )
    return unseen
