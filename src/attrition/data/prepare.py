"""Turn a validated raw table into model inputs, labels and the audit columns."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attrition.config import Band, DatasetConfig


@dataclass(frozen=True)
class PreparedData:
    """The three views of one table that training needs.

    `features` holds only what the model may see; `audit` holds the sensitive
    attributes (including excluded ones and derived bands) for the fairness audit.
    """

    features: pd.DataFrame
    labels: pd.Series
    ids: pd.Series
    audit: pd.DataFrame


def derive_bands(frame: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Return the configured band columns (e.g. AgeBand) cut from their numeric source."""
    bands = {
        name: pd.cut(
            pd.to_numeric(frame[band.column], errors="coerce"),
            bins=band.edges,
            labels=band.labels,
            right=False,
        ).astype(object)
        for name, band in config.bands.items()
    }
    return pd.DataFrame(bands, index=frame.index)


def band_of(value: object, band: Band) -> str | None:
    """The band label of one value (edges include their lower end), None outside or missing."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    position = bisect.bisect_right(band.edges, number) - 1
    return band.labels[position] if 0 <= position < len(band.labels) else None


def binary_labels(target: pd.Series, positive_label: object) -> pd.Series:
    """Map the target column to 1 for the positive label (leavers) and 0 otherwise."""
    positive = str(positive_label).strip().lower()
    as_text = target.astype(str).str.strip().str.lower()
    return pd.Series(np.where(as_text == positive, 1, 0), index=target.index, name="label")


def feature_columns(frame: pd.DataFrame, config: DatasetConfig) -> list[str]:
    """Columns the model may use: everything except target, id, dropped and excluded ones."""
    leave_out = {config.target, *config.drop, *config.exclude_from_model}
    if config.id_column:
        leave_out.add(config.id_column)
    return [c for c in frame.columns if c not in leave_out and c not in config.bands]


def prepare(frame: pd.DataFrame, config: DatasetConfig) -> PreparedData:
    """Split a validated table into model features, 0/1 labels, ids and audit columns.

    Without an id column, an employee's id is its row number, counted from 1 (the
    first row after the header), as in every file and message of the project.
    """
    bands = derive_bands(frame, config)
    audit_cols = {name: bands[name] if name in bands else frame[name] for name in config.sensitive}
    ids = (
        frame[config.id_column]
        if config.id_column
        else pd.Series(np.arange(1, len(frame) + 1), index=frame.index, name="row")
    )
    return PreparedData(
        features=frame[feature_columns(frame, config)].copy(),
        labels=binary_labels(frame[config.target], config.positive_label),
        ids=ids,
        audit=pd.DataFrame(audit_cols, index=frame.index),
    )
