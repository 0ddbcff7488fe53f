"""The fitted input steps (ColumnTransformer + correlation filter) as plain arithmetic.

A one-row `Pipeline.predict_proba` spends milliseconds in pandas and
ColumnTransformer bookkeeping for what is, per input field, one table lookup or
one scaled (possibly logged) number. `compile_design` reads the fitted steps'
learned state and replays exactly the same operations: `Design.row` in pure
Python for one employee, `Design.matrix` and `Design.dot` vectorised in numpy
for many. Anything it does not recognise raises `NotCompilable`, and callers
fall back to the pipeline itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from attrition.features import CorrelationFilter, InteractionFeatures, SkewedLog1p
from attrition.pipeline import as_text


class NotCompilable(ValueError):
    """The fitted model holds a step the fast path does not reproduce exactly."""


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


@dataclass
class Design:
    """The model-input matrix of a fitted ColumnTransformer (+ filter), as plain arithmetic."""

    columns: list[str]
    width: int
    scaled: list[Scaled]
    lookups: list[Lookup]
    products: list[Product]

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
        return total


def _steps(transformer: Any) -> list[Any]:
    if isinstance(transformer, Pipeline):
        return [step for _, step in transformer.steps if step not in (None, "passthrough")]
    return [] if transformer == "passthrough" else [transformer]


def _imputer_values(imputer: SimpleImputer, width: int) -> list[Any]:
    if imputer.add_indicator:
        raise NotCompilable("SimpleImputer(add_indicator=True) is not supported")
    missing = imputer.missing_values
    if not (isinstance(missing, float) and math.isnan(missing)):
        raise NotCompilable(f"SimpleImputer(missing_values={missing!r}) is not supported")
    stats = list(np.asarray(imputer.statistics_).tolist())
    if len(stats) != width:
        raise NotCompilable("SimpleImputer width does not match its columns")
    if not imputer.keep_empty_features and any(is_missing(v) for v in stats):
        raise NotCompilable("SimpleImputer dropped an all-missing column")
    return [None if is_missing(v) else v for v in stats]


def _elementwise(
    steps: Sequence[Any], width: int
) -> tuple[list[Any], list[bool], list[float | None], list[float | None]]:
    """Per column (impute, log, mean, scale) from steps in the order imputer, log, scaler."""
    impute: list[Any] = [None] * width
    log = [False] * width
    mean: list[float | None] = [None] * width
    scale: list[float | None] = [None] * width
    rank = 0
    for step in steps:
        if isinstance(step, SimpleImputer) and rank < 1:
            impute, rank = _imputer_values(step, width), 1
        elif isinstance(step, SkewedLog1p) and rank < 2:
            log, rank = [bool(v) for v in step.log_columns_], 2
        elif isinstance(step, StandardScaler) and rank < 3:
            if step.with_mean:
                mean = [float(v) for v in step.mean_]
            if step.with_std:
                scale = [float(v) for v in step.scale_]
            rank = 3
        else:
            raise NotCompilable(f"step {type(step).__name__} is not supported here")
    return impute, log, mean, scale


def _check_encoder(encoder: OneHotEncoder | OrdinalEncoder) -> None:
    if getattr(encoder, "_infrequent_enabled", False):
        raise NotCompilable("encoders with infrequent categories are not supported")
    if isinstance(encoder, OneHotEncoder):
        if encoder.drop_idx_ is not None:
            raise NotCompilable("OneHotEncoder(drop=...) is not supported")
        if encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
            raise NotCompilable("OneHotEncoder must ignore unknown categories")
    elif encoder.handle_unknown != "use_encoded_value":
        raise NotCompilable("OrdinalEncoder must encode unknown categories as a value")


def _is_as_text(step: Any) -> bool:
    return (
        isinstance(step, FunctionTransformer)
        and step.func is as_text
        and not step.kw_args
        and step.inverse_func is None
    )


Placer = Callable[[int], int]


def _encoder_block(steps: list[Any], columns: list[str], place: Placer) -> list[Lookup]:
    text = _is_as_text(steps[0])
    rest = steps[1:] if text else steps
    encoder = rest[-1]
    _check_encoder(encoder)
    impute: list[Any] = [None] * len(columns)
    for step in rest[:-1]:
        if not isinstance(step, SimpleImputer) or text:
            raise NotCompilable(f"step {type(step).__name__} before an encoder is not supported")
        impute = _imputer_values(step, len(columns))
    lookups: list[Lookup] = []
    offset = 0
    for i, column in enumerate(columns):
        categories = tuple(np.asarray(encoder.categories_[i]).tolist())
        if text and not all(isinstance(c, str) for c in categories):
            raise NotCompilable(f"non-text categories for text column '{column}'")
        if isinstance(encoder, OneHotEncoder):
            outs = tuple(place(offset + k) for k in range(len(categories)))
            lookups.append(Lookup(column, text, impute[i], categories, outs))
            offset += len(categories)
        else:
            unknown = float(encoder.unknown_value)
            lookups.append(
                Lookup(column, text, impute[i], categories, (), place(offset), unknown=unknown)
            )
            offset += 1
    return lookups


def compile_design(ct: ColumnTransformer, selector: CorrelationFilter | None = None) -> Design:
    """Compile a fitted ColumnTransformer, optionally followed by a fitted correlation filter."""
    if not isinstance(ct, ColumnTransformer):
        raise NotCompilable(f"expected a ColumnTransformer, got {type(ct).__name__}")
    if getattr(ct, "sparse_output_", False):
        raise NotCompilable("sparse ColumnTransformer output is not supported")
    total = sum(s.stop - s.start for s in ct.output_indices_.values())
    support = np.ones(total, dtype=bool) if selector is None else np.asarray(selector.support_)
    if len(support) != total:
        raise NotCompilable("correlation filter width does not match the ColumnTransformer")
    kept = np.cumsum(support) - 1
    design = Design(
        columns=[str(c) for c in ct.feature_names_in_],
        width=int(support.sum()),
        scaled=[],
        lookups=[],
        products=[],
    )
    for name, transformer, columns in ct.transformers_:
        if transformer == "drop":
            continue
        block = ct.output_indices_[name]
        if block.stop == block.start:
            continue
        cols = [str(c) for c in (columns if isinstance(columns, list | tuple) else list(columns))]
        if any(c not in design.columns for c in cols):
            raise NotCompilable(f"transformer '{name}' selects columns by position or mask")

        def place(k: int, start: int = block.start) -> int:
            return int(kept[start + k]) if support[start + k] else -1

        steps = _steps(transformer)
        if steps and isinstance(steps[0], InteractionFeatures):
            _add_interactions(design, steps, place)
        elif steps and isinstance(steps[-1], OneHotEncoder | OrdinalEncoder):
            design.lookups.extend(_encoder_block(steps, cols, place))
        else:
            impute, log, mean, scale = _elementwise(steps, len(cols))
            for i, column in enumerate(cols):
                out = place(i)
                if out >= 0:
                    imp = None if impute[i] is None else float(impute[i])
                    design.scaled.append(Scaled(column, imp, log[i], mean[i], scale[i], out))
    return design


def _add_interactions(design: Design, steps: list[Any], place: Placer) -> None:
    make: InteractionFeatures = steps[0]
    impute, log, mean, scale = _elementwise(steps[1:], len(make.interactions))
    if any(log):
        raise NotCompilable("log transform of interaction features is not supported")
    for j, (spec, means) in enumerate(zip(make.interactions, make.means_, strict=True)):
        terms = []
        for (column, equals), m in zip(spec, means, strict=True):
            if not isinstance(column, str):
                raise NotCompilable("interaction terms must name their columns")
            terms.append(Term(column, equals, float(m)))
        out = place(j)
        if out >= 0:
            imp = None if impute[j] is None else float(impute[j])
            design.products.append(Product(tuple(terms), imp, mean[j], scale[j], out))
