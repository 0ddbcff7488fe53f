"""Row content keys: a stable hash of what the model sees, to find identical rows.

Two rows with the same key hold the same raw input values, whatever their row
order, file format or the integer/float spelling of a number. The keys group the
train/test split and the cross-validation folds (identical inputs never sit on
both sides), measure the duplicate rate, and let an A/B comparison recognise the
rows a model trained on when the data has no id column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

KEY_COLUMN = "row_key"
_MISSING = "\x00missing"


def canonical(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """`frame`'s `columns` (all by default) in sorted order, with one spelling per value.

    Numbers become float64 (3 and 3.0 are one value); other values become stripped
    text, with one marker for a missing value.
    """
    names = sorted(str(c) for c in (frame.columns if columns is None else columns))
    out: dict[str, pd.Series] = {}
    for name in names:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            out[name] = column.astype(str)
        elif pd.api.types.is_numeric_dtype(column):
            out[name] = column.astype(float) + 0.0  # -0.0 and 0.0 are one value
        else:
            text = column.astype(object).where(column.notna(), _MISSING)
            out[name] = text.astype(str).str.strip()
    return pd.DataFrame(out, index=frame.index)


def row_keys(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.Series:
    """One unsigned 64-bit content key per row of `frame` over `columns` (all by default)."""
    table = canonical(frame, columns)
    if table.shape[1] == 0:
        return pd.Series(np.zeros(len(frame), dtype="uint64"), index=frame.index, name=KEY_COLUMN)
    keys = pd.util.hash_pandas_object(table, index=False, categorize=False)
    return pd.Series(keys.to_numpy(dtype="uint64"), index=frame.index, name=KEY_COLUMN)


@dataclass(frozen=True)
class Duplicates:
    """How many rows repeat an earlier row, on the model's inputs plus the target.

    `conflicting_rows` counts rows whose inputs repeat an earlier row's but whose
    label differs: the same employee record recorded as both leaving and staying.
    """

    rows: int
    duplicate_rows: int
    duplicate_rate: float
    repeated_inputs: int
    conflicting_rows: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def count_duplicates(inputs: pd.DataFrame, labels: pd.Series) -> Duplicates:
    """Exact repeats in a table: of inputs plus label, of inputs alone, and label conflicts."""
    input_keys = row_keys(inputs)
    with_label = pd.DataFrame({"key": input_keys.to_numpy(), "label": np.asarray(labels)})
    repeat_both = int(with_label.duplicated().sum())
    repeat_inputs = int(input_keys.duplicated().sum())
    rows = len(inputs)
    return Duplicates(
        rows=rows,
        duplicate_rows=repeat_both,
        duplicate_rate=repeat_both / rows if rows else 0.0,
        repeated_inputs=repeat_inputs,
        conflicting_rows=repeat_inputs - repeat_both,
    )
