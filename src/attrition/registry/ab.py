"""The A/B comparison behind the Production gate: candidate and champion on the same rows.

Both versions score the candidate's held-out test split, minus every row that
either of them trained on, and a paired bootstrap gives the interval of the ROC
AUC difference. A row counts as trained on when its id is among a version's
training ids (when the data has an id column) or when its model inputs are
identical to a training row's (a content key, `attrition.data.keys`): row
positions never identify an employee across two files.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attrition.data.keys import KEY_COLUMN, row_keys
from attrition.errors import RegistryError
from attrition.registry.production_gates import ABComparison, paired_bootstrap_auc
from attrition.registry.versions import num, run_id_of

TEST_SET = "reference/test_set.parquet"
TRAIN_IDS = "reference/train_ids.parquet"
TRAIN_KEYS = "reference/train_keys.parquet"
SUMMARY = "reference/reference.json"
POSITION = "row"  # the id column name of data without ids: a row position, not an id
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


@dataclass(frozen=True)
class TrainingRows:
    """What a version trained on, as far as its run recorded it."""

    version: str
    ids: pd.Series | None
    keys: pd.Series | None
    key_columns: list[str] | None

    def seen(self, test: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """Mask of the `test` rows this version trained on, and how they were recognised."""
        seen = np.zeros(len(test), dtype=bool)
        how: list[str] = []
        if self.ids is not None and self.ids.name in test.columns:
            seen |= test[str(self.ids.name)].isin(self.ids).to_numpy()
            how.append(f"id ({self.ids.name})")
        if self.keys is not None and self.key_columns:
            missing = [c for c in self.key_columns if c not in test.columns]
            if missing:
                raise RegistryError(
                    f"the test set lacks v{self.version}'s input columns {missing[:5]}, "
                    "so its training rows cannot be recognised"
                )
            keys = row_keys(test, self.key_columns)
            seen |= keys.isin(self.keys).to_numpy()
            how.append("content")
        return seen, how


def _download(client: MlflowClient, run_id: str, path: str, folder: Path) -> Path | None:
    import mlflow.artifacts

    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id,
            artifact_path=path,
            dst_path=str(folder),
            tracking_uri=client.tracking_uri,
        )
    except (MlflowException, OSError):
        return None
    return Path(local)


def training_rows(client: MlflowClient, mv: ModelVersion, folder: Path) -> TrainingRows:
    """The training ids (real ids only, never row positions) and content keys of `mv`."""
    run_id = run_id_of(mv)
    if run_id is None:
        return TrainingRows(num(mv), None, None, None)
    folder.mkdir(parents=True, exist_ok=True)
    summary_path = _download(client, run_id, SUMMARY, folder / "summary")
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path else {}
    ids = None
    ids_path = _download(client, run_id, TRAIN_IDS, folder / "ids")
    if ids_path is not None:
        table = pd.read_parquet(ids_path)
        column = str(table.columns[0])
        if column != POSITION or summary.get("match_by") == "id":
            ids = table[column].rename(column)
    keys = None
    keys_path = _download(client, run_id, TRAIN_KEYS, folder / "keys")
    if keys_path is not None:
        keys = pd.read_parquet(keys_path)[KEY_COLUMN]
    return TrainingRows(num(mv), ids, keys, summary.get("key_columns"))


def unseen_rows(
    test: pd.DataFrame, versions: list[TrainingRows]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The test rows none of `versions` trained on, and an account of what was left out.

    Raises:
        RegistryError: when fewer than `MIN_AB_ROWS` rows (or one class only) remain.
    """
    seen = np.zeros(len(test), dtype=bool)
    left_out: dict[str, int] = {}
    how: list[str] = []
    unknown: list[str] = []
    for rows in versions:
        mask, matched = rows.seen(test)
        if not matched:
            unknown.append(f"v{rows.version}")
        left_out[f"v{rows.version}"] = int(mask.sum())
        how.extend(m for m in matched if m not in how)
        seen |= mask
    unseen = test[~seen]
    account = {
        "available": len(test),
        "left_out": int(seen.sum()),
        "left_out_by_version": left_out,
        "matched_by": how,
        "unrecorded": unknown,
    }
    if len(unseen) < MIN_AB_ROWS or unseen[LABEL].nunique() < 2:
        raise RegistryError(
            f"only {len(unseen)} of the candidate's {len(test)} test rows are unseen by both "
            f"models ({', '.join(f'{k} trained on {v}' for k, v in left_out.items())}; matched "
            f"by {' and '.join(how) or 'nothing recorded'}): too few for a fair comparison, "
            f"which needs at least {MIN_AB_ROWS} rows with both outcomes"
        )
    return unseen, account


def ab_compare(
    client: MlflowClient,
    name: str,
    candidate: ModelVersion,
    champion: ModelVersion,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> ABComparison:
    """Score the candidate's test rows that neither version trained on with both versions.

    The result carries how many rows were available and left out, and how they were matched;
    a paired bootstrap gives the interval of the AUC difference.
    """
    run_id = run_id_of(candidate)
    if run_id is None:
        raise RegistryError(f"version {num(candidate)} has no training run")
    with tempfile.TemporaryDirectory() as tmp:
        path = _download(client, run_id, TEST_SET, Path(tmp) / "test")
        if path is None:
            raise RegistryError(f"the candidate's run has no {TEST_SET}")
        test = pd.read_parquet(path)
        if LABEL not in test.columns:
            raise RegistryError(f"{TEST_SET} has no '{LABEL}' column")
        versions = [
            training_rows(client, mv, Path(tmp) / f"rows-v{num(mv)}")
            for mv in (candidate, champion)
        ]
        test, account = unseen_rows(test, versions)
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
    comparison = paired_bootstrap_auc(
        test[LABEL].to_numpy(),
        scores[0],
        scores[1],
        champion_version=num(champion),
        resamples=resamples,
        seed=seed,
    )
    comparison.matching = account
    return comparison
