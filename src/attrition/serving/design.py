"""The fitted input steps (ColumnTransformer + correlation filter) as plain arithmetic.

A one-row `Pipeline.predict_proba` spends milliseconds in pandas and
ColumnTransformer bookkeeping for what is, per input field, one table lookup or
one scaled (possibly logged) number. A `Design` replays exactly the same
operations: `Design.row` in pure Python for one employee, `Design.matrix` and
`Design.dot` vectorised in numpy for many. `design_compiler.compile_design`
builds one from the fitted steps' learned state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """None, NaN and pandas' NA count as missing (as `pd.isna` would say for a scalar)."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and value != value


def as_float(value: Any) -> float:
    """A scalar as float, missing as NaN."""
    try:
        return float(value)
    except TypeError:  # None, pd.NA
        return math.nan


def text_of(value: Any) -> str:
    """The text `as_text` makes of one value: `str(value)`, or `missing`."""
    if type(value) is str:
        return value
    return "missing" if is_missing(value) else str(value)


@dataclass(frozen=True)
class Scaled:
    """One numeric input to one output: impute, optional log1p, optional standardise."""

    column: str
    impute: float | None
    log: bool
    mean: float | None
    scale: float | None
    out: int

    def value(self, raw: Any) -> float:
        x = as_float(raw)
        if x != x and self.impute is not None:
            x = self.impute
        if self.log:
            x = math.log1p(x if x > 0.0 else 0.0)
        if self.mean is not None:
            x -= self.mean
        if self.scale is not None:
            x /= self.scale
        return x

    def values(self, raw: np.ndarray) -> np.ndarray:
        x = np.array(raw, dtype=float)
        if self.impute is not None:
            x[np.isnan(x)] = self.impute
        if self.log:
            x = np.log1p(np.clip(x, 0, None))
        if self.mean is not None:
            x -= self.mean
        if self.scale is not None:
            x /= self.scale
        return x


@dataclass(frozen=True)
class Lookup:
    """One input to a category index: one-hot (output = 1 at `outs[code]`) or ordinal code.

    `text` inputs go through `as_text` first; numeric ones are imputed (`impute`)
    and matched by value. Unknown categories give no one-hot output, or
    `unknown` as the code.
    """

    column: str
    text: bool
    impute: Any
    categories: tuple[Any, ...]
    outs: tuple[int, ...]  # one-hot: output per category (-1 if filtered out)
    code_out: int = -1  # ordinal code: its output (-1 for one-hot)
    unknown: float = -1.0

    def code(self, raw: Any) -> int:
        """Index of the value's category, -1 when unknown."""
        key: Any
        if self.text:
            key = text_of(raw)
        elif type(raw) is int:
            key = raw
        else:
            key = self.impute if is_missing(raw) else raw
        try:
            return self.categories.index(key)
        except ValueError:
            return -1

    def codes(self, raw: pd.Series) -> np.ndarray:
        """Category index per row, -1 when unknown."""
        if self.text:
            return _per_unique(raw, self.code, missing=self.code(None))
        x = raw.to_numpy(dtype=float, na_value=np.nan)
        if self.impute is not None:
            x = np.where(np.isnan(x), float(self.impute), x)
        return np.asarray(pd.Index(np.asarray(self.categories, dtype=float)).get_indexer(x))

    def weights(self, coef: Sequence[float]) -> np.ndarray:
        """Per category the coefficient of its one-hot output, plus 0.0 for unknown (-1)."""
        return np.array([coef[o] if o >= 0 else 0.0 for o in self.outs] + [0.0])


def _per_unique(raw: pd.Series, fn: Callable[[Any], Any], missing: Any) -> np.ndarray:
    """`fn` of every value, evaluated once per distinct value (text columns have few)."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    table = np.array([fn(u) for u in uniques] + [missing])
    return np.asarray(table[codes])


@dataclass(frozen=True)
class Term:
    """One factor of an interaction product."""

    column: str
    equals: Any
    mean: float

    def value(self, raw: Any) -> float:
        if self.equals is None:
            return as_float(raw) - self.mean
        if is_missing(raw):
            return 0.0
        numeric = isinstance(raw, int | float | np.number) and not isinstance(raw, str)
        if numeric and isinstance(self.equals, int | float):
            return 1.0 if float(raw) == float(self.equals) else 0.0
        return 1.0 if str(raw).strip() == str(self.equals).strip() else 0.0

    def values(self, raw: pd.Series) -> np.ndarray:
        if self.equals is None:
            return np.asarray(_numeric(raw) - self.mean)
        numeric_column = pd.api.types.is_numeric_dtype(raw.dtype)
        if numeric_column and isinstance(self.equals, int | float):
            return (raw.to_numpy(dtype=float, na_value=np.nan) == float(self.equals)).astype(float)
        target = str(self.equals).strip()
        return _per_unique(raw, lambda v: 1.0 if str(v).strip() == target else 0.0, missing=0.0)


def _numeric(raw: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True)
class Product:
    """An interaction feature: product of terms, imputed and standardised like its pipeline."""

    terms: tuple[Term, ...]
    impute: float | None
    mean: float | None
    scale: float | None
    out: int

    def value(self, row: Mapping[str, Any]) -> float:
        p = 1.0
        for term in self.terms:
            p *= term.value(row[term.column])
        if p != p and self.impute is not None:
            p = self.impute
        if self.mean is not None:
            p -= self.mean
        if self.scale is not None:
            p /= self.scale
        return p

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        p = np.ones(len(frame))
        for term in self.terms:
            p *= term.values(frame[term.column])
        if self.impute is not None:
            p[np.isnan(p)] = self.impute
        if self.mean is not None:
            p -= self.mean
        if self.scale is not None:
            p /= self.scale
        return p


@dataclass(frozen=True)
class Component:
    """Strongly associated inputs combined into their first principal component.

    Each input is imputed, standardised by its training mean and scale and weighted by
    its loading; the sum is then standardised again when its pipeline does so.
    """

    columns: tuple[str, ...]
    impute: tuple[float | None, ...]
    centre: tuple[float, ...]
    spread: tuple[float, ...]
    loadings: tuple[float, ...]
    mean: float | None
    scale: float | None
    out: int

    def _finish(self, total: Any) -> Any:
        if self.mean is not None:
            total = total - self.mean
        if self.scale is not None:
            total = total / self.scale
        return total

    def value(self, row: Mapping[str, Any]) -> float:
        parts = []
        for column, fill, centre, spread in zip(
            self.columns, self.impute, self.centre, self.spread, strict=True
        ):
            x = as_float(row[column])
            if x != x and fill is not None:
                x = fill
            parts.append((x - centre) / spread)
        # The same summation order as numpy's matrix product of one row.
        return float(self._finish(float(np.dot(np.asarray(parts), np.asarray(self.loadings)))))

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        z = np.empty((len(frame), len(self.columns)))
        for j, (column, fill) in enumerate(zip(self.columns, self.impute, strict=True)):
            x = frame[column].to_numpy(dtype=float, na_value=np.nan)
            if fill is not None:
                x = np.where(np.isnan(x), fill, x)
            z[:, j] = x
        scores = ((z - np.asarray(self.centre)) / np.asarray(self.spread)) @ np.asarray(
            self.loadings
        )
        return np.asarray(self._finish(scores))


@dataclass
class Design:
    """The model-input matrix of a fitted ColumnTransformer (+ filter), as plain arithmetic."""

    columns: list[str]
    width: int
    scaled: list[Scaled]
    lookups: list[Lookup]
    products: list[Product]
    components: list[Component] = field(default_factory=list)

    def row(self, row: Mapping[str, Any]) -> list[float]:
        """Model inputs of one employee (a mapping of input name to value)."""
        z = [0.0] * self.width
        for s in self.scaled:
            z[s.out] = s.value(row[s.column])
        for lk in self.lookups:
            code = lk.code(row[lk.column])
            if lk.code_out >= 0:
                z[lk.code_out] = float(code) if code >= 0 else lk.unknown
            elif code >= 0 and lk.outs[code] >= 0:
                z[lk.outs[code]] = 1.0
        for prod in self.products:
            z[prod.out] = prod.value(row)
        for comp in self.components:
            z[comp.out] = comp.value(row)
        return z

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Model inputs of many employees (a DataFrame with the input columns)."""
        n = len(frame)
        z = np.zeros((n, self.width))
        for s in self.scaled:
            z[:, s.out] = s.values(frame[s.column].to_numpy(dtype=float, na_value=np.nan))
        rows = np.arange(n)
        for lk in self.lookups:
            codes = lk.codes(frame[lk.column])
            known = codes >= 0
            if lk.code_out >= 0:
                z[:, lk.code_out] = np.where(known, codes, lk.unknown)
                continue
            outs = np.asarray(lk.outs, dtype=np.intp)[codes[known]]
            kept = outs >= 0
            z[rows[known][kept], outs[kept]] = 1.0
        for prod in self.products:
            z[:, prod.out] = prod.values(frame)
        for comp in self.components:
            z[:, comp.out] = comp.values(frame)
        return z

    def dot(self, frame: pd.DataFrame, coef: Sequence[float]) -> np.ndarray:
        """`matrix(frame) @ coef` without building the matrix (one pass per input column)."""
        total = np.zeros(len(frame))
        for s in self.scaled:
            total += coef[s.out] * s.values(frame[s.column].to_numpy(dtype=float, na_value=np.nan))
        for lk in self.lookups:
            codes = lk.codes(frame[lk.column])
            if lk.code_out >= 0:
                total += coef[lk.code_out] * np.where(codes >= 0, codes, lk.unknown)
            else:
                total += lk.weights(coef)[codes]
        for prod in self.products:
            total += coef[prod.out] * prod.values(frame)
        for comp in self.components:
            total += coef[comp.out] * comp.values(frame)
        return total
