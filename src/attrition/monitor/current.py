"""The data a monitoring run looks at: a raw HR extract, or the predictions stored since a time.

Either way the result is the model's input columns, typed like the reference,
and the champion's attrition probability for every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from attrition.errors import DataError
from attrition.monitor.reference import Reference


@dataclass
class Current:
    """Current rows: model inputs, the champion's scores, and where they came from.

    `scores` is None until the rows are scored; `stored` keeps the prediction-store
    rows (latency, versions, ids) when the rows came from the store, else None.
    """

    features: pd.DataFrame
    scores: np.ndarray | None
    source: str
    since: datetime | None = None
    until: datetime | None = None
    stored: pd.DataFrame | None = None

    @property
    def rows(self) -> int:
        """Number of current rows."""
        return len(self.features)


def select_features(frame: pd.DataFrame, reference: Reference, source: str) -> pd.DataFrame:
    """The reference's input columns of `frame`, typed like the reference.

    Extra columns (target, id, excluded attributes such as Gender) are ignored.

    Raises:
        DataError: naming the source and the missing or mistyped columns.
    """
    if frame.empty:
        raise DataError(f"{source}: no data rows")
    columns = reference.feature_columns
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing model input column(s) {', '.join(missing)} "
            f"(version {reference.version} needs {len(columns)} columns)"
        )
    selected = frame[columns].copy()
    problems = []
    for name in columns:
        expected = reference.features[name].dtype
        if not pd.api.types.is_numeric_dtype(expected) or pd.api.types.is_bool_dtype(expected):
            column = selected[name]
            if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
                selected[name] = column.astype(object).where(column.isna(), column.astype(str))
            continue
        values = pd.to_numeric(selected[name], errors="coerce")
        bad = values.isna() & selected[name].notna()
        if bad.any():
            example = selected.loc[bad, name].iloc[0]
            problems.append(f"{name} ({int(bad.sum())} non-numeric values, e.g. {example!r})")
            continue
        if pd.api.types.is_integer_dtype(expected) and values.notna().all():
            whole = np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)
            selected[name] = values.astype(expected) if whole else values
        else:
            selected[name] = values
    if problems:
        raise DataError(f"{source}: numeric column(s) with text: {'; '.join(problems)}")
    return selected.reset_index(drop=True)


def score(model: Any, features: pd.DataFrame) -> np.ndarray:
    """The model's attrition probability for every row."""
    return np.asarray(model.predict_proba(features), dtype=float)[:, 1]


def from_frame(frame: pd.DataFrame, reference: Reference, model: Any, source: str) -> Current:
    """Current rows from a raw HR extract, scored with `model`."""
    features = select_features(frame, reference, source)
    return Current(features=features, scores=score(model, features), source=source)


def read_store(url: str, since: datetime | None, until: datetime | None) -> pd.DataFrame:
    """Stored predictions in `[since, until)` (one function, so the store is easy to swap)."""
    from attrition.serving.prediction_store import PredictionStore

    store = PredictionStore(url)
    try:
        return store.read(since=since, until=until)
    finally:
        store.dispose()


def from_store(
    stored: pd.DataFrame,
    reference: Reference,
    model: Callable[[], Any],
    since: datetime | None,
    until: datetime | None,
) -> Current:
    """Current rows from stored predictions.

    Rows the reference's version served keep the probability it served; rows
    served by other versions are scored again with the model that `model()`
    returns (loaded only then), so that every score comes from the version the
    reference describes.
    """
    where = "the prediction store" + (f" since {since:%Y-%m-%d %H:%M:%S} UTC" if since else "")
    features = select_features(stored, reference, where)
    scores = stored["probability"].to_numpy(dtype=float).copy()
    other = (stored["model_version"].astype(str) != reference.version).to_numpy()
    if other.any():
        scores[other] = score(model(), features.loc[other])
    return Current(
        features=features,
        scores=scores,
        source=where,
        since=since,
        until=until,
        stored=stored.reset_index(drop=True),
    )
