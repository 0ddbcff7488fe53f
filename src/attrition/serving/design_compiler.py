"""Compile fitted input steps into a `Design`, or refuse with `NotCompilable`.

`compile_design` reads the learned state of a fitted ColumnTransformer (and an
optional correlation filter) step by step. Anything it does not recognise raises
`NotCompilable`, and callers fall back to the pipeline itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from attrition.features import CorrelationFilter, InteractionFeatures, PairComponent, SkewedLog1p
from attrition.pipeline import as_text
from attrition.serving.design import (
    Component,
    Design,
    Lookup,
    Product,
    Scaled,
    Term,
    is_missing,
)


class NotCompilable(ValueError):
    """The fitted model holds a step the fast path does not reproduce exactly."""


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
        elif len(steps) > 1 and isinstance(steps[1], PairComponent):
            _add_component(design, steps, cols, place)
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


def _add_component(design: Design, steps: list[Any], columns: list[str], place: Placer) -> None:
    """Imputer, `PairComponent`, then optionally a scaler: one combined input."""
    imputer, component, *rest = steps
    if not isinstance(imputer, SimpleImputer):
        raise NotCompilable(f"step {type(imputer).__name__} before PairComponent")
    impute = _imputer_values(imputer, len(columns))
    _, _, mean, scale = _elementwise(rest, 1)
    out = place(0)
    if out >= 0:
        design.components.append(
            Component(
                columns=tuple(columns),
                impute=tuple(None if v is None else float(v) for v in impute),
                centre=tuple(float(v) for v in component.mean_),
                spread=tuple(float(v) for v in component.scale_),
                loadings=tuple(float(v) for v in component.loadings_),
                mean=mean[0],
                scale=scale[0],
                out=out,
            )
        )
