"""A fitted attrition model compiled for serving: the same probabilities, without the overhead.

`compile_model` understands the estimators `attrition.training.search` and
`attrition.mitigation` produce: a Pipeline (ColumnTransformer, correlation
filter, then logistic regression or LightGBM), a sigmoid `CalibratedClassifierCV`
around one, and a `MitigatedClassifier` mixture of logistic regressions.
`checked_scorer` compiles and then proves the result on probe rows against the
model's own `predict_proba`; when either step fails it returns the model's
pipeline behind the same interface, with the reason, so serving is never wrong,
only slower.
"""

from __future__ import annotations

import contextlib
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from attrition.features import CorrelationFilter
from attrition.serving.design import Design
from attrition.serving.design_compiler import NotCompilable, compile_design

TOLERANCE = 1e-9


class Scorer(Protocol):
    """Attrition probability for one employee (a mapping) or many (a DataFrame)."""

    compiled: bool
    reason: str

    def one(self, row: Mapping[str, Any]) -> float: ...

    def many(self, frame: pd.DataFrame) -> np.ndarray: ...


def _expit(x: float) -> float:
    # scipy's expit, branch for branch, so one row and many rows agree to the last bits.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@dataclass
class Linear:
    """Logistic regression on the design: `decision` is the log-odds, `proba` its sigmoid."""

    design: Design
    coef: list[float]
    intercept: float

    def decision_one(self, row: Mapping[str, Any]) -> float:
        return sum(map(operator.mul, self.design.row(row), self.coef)) + self.intercept

    def decision_many(self, frame: pd.DataFrame) -> np.ndarray:
        return self.design.dot(frame, self.coef) + self.intercept

    def proba_one(self, row: Mapping[str, Any]) -> float:
        return float(expit(self.decision_one(row)))

    def proba_many(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(expit(self.decision_many(frame)))


@dataclass
class Trees:
    """A LightGBM booster on the design."""

    design: Design
    booster: Any

    def proba_one(self, row: Mapping[str, Any]) -> float:
        z = np.asarray([self.design.row(row)])
        return float(self.booster.predict(z, num_threads=1)[0])

    def proba_many(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self.design.matrix(frame)), dtype=float)


@dataclass
class Calibrated:
    """Sigmoid calibration over the members' decision (or probability), averaged."""

    members: list[tuple[Any, bool, float, float]]  # (head, uses decision, a, b)

    def proba_one(self, row: Mapping[str, Any]) -> float:
        total = 0.0
        for head, decision, a, b in self.members:
            f = head.decision_one(row) if decision else head.proba_one(row)
            total += float(expit(-(a * f + b)))
        return total / len(self.members)

    def proba_many(self, frame: pd.DataFrame) -> np.ndarray:
        total = np.zeros(len(frame))
        for head, decision, a, b in self.members:
            f = head.decision_many(frame) if decision else head.proba_many(frame)
            total += expit(-(a * f + b))
        return np.asarray(total / len(self.members))


@dataclass
class Mixture:
    """`MitigatedClassifier`: weighted, threshold-shifted mixture of linear heads."""

    heads: list[Linear]
    weights: list[float]
    shift: float
    eps: float

    def proba_one(self, row: Mapping[str, Any]) -> float:
        z = self.heads[0].design.row(row)
        leave = 0.0
        for weight, head in zip(self.weights, self.heads, strict=True):
            d = sum(map(operator.mul, z, head.coef)) + head.intercept
            p = min(max(float(expit(d)), self.eps), 1.0 - self.eps)
            leave += weight / (1.0 + math.exp(-(math.log(p / (1.0 - p)) + self.shift)))
        return leave

    def proba_many(self, frame: pd.DataFrame) -> np.ndarray:
        z = self.heads[0].design.matrix(frame)
        leave = np.zeros(len(frame))
        for weight, head in zip(self.weights, self.heads, strict=True):
            p = np.clip(expit(z @ np.asarray(head.coef) + head.intercept), self.eps, 1 - self.eps)
            leave += weight / (1.0 + np.exp(-(np.log(p / (1.0 - p)) + self.shift)))
        return leave


Head = Linear | Trees | Calibrated | Mixture


def _design_of(steps: Sequence[Any]) -> Design:
    if not steps:
        raise NotCompilable("the pipeline has no input steps")
    selector = None
    if len(steps) == 2 and isinstance(steps[1], CorrelationFilter):
        selector = steps[1]
    elif len(steps) != 1:
        names = ", ".join(type(s).__name__ for s in steps)
        raise NotCompilable(f"unsupported input steps: {names}")
    return compile_design(steps[0], selector)


def _linear(estimator: LogisticRegression, design: Design) -> Linear:
    if list(np.asarray(estimator.classes_).tolist()) != [0, 1]:
        raise NotCompilable("logistic regression must have classes [0, 1]")
    coef = np.asarray(estimator.coef_, dtype=float)
    if coef.shape != (1, design.width):
        raise NotCompilable(f"coefficients {coef.shape} do not match {design.width} inputs")
    return Linear(design, coef[0].tolist(), float(np.asarray(estimator.intercept_)[0]))


def _booster(estimator: Any) -> Any:
    inner = getattr(estimator, "estimator_", estimator)
    booster = getattr(inner, "booster_", None)
    classes = list(np.asarray(getattr(estimator, "classes_", [])).tolist())
    if booster is None or classes != [0, 1] or callable(getattr(inner, "objective", None)):
        raise NotCompilable(f"unsupported final estimator {type(estimator).__name__}")
    return booster


def _pipeline_head(pipeline: Any) -> Head:
    if not isinstance(pipeline, Pipeline):
        raise NotCompilable(f"expected a Pipeline, got {type(pipeline).__name__}")
    steps = [step for _, step in pipeline.steps if step not in (None, "passthrough")]
    design = _design_of(steps[:-1])
    final = steps[-1]
    if isinstance(final, LogisticRegression):
        return _linear(final, design)
    return Trees(design, _booster(final))


def _calibrated_head(model: CalibratedClassifierCV) -> Calibrated:
    members = []
    for member in model.calibrated_classifiers_:
        if member.method != "sigmoid" or len(member.calibrators) != 1:
            raise NotCompilable(f"calibration method '{member.method}' is not supported")
        head = _pipeline_head(member.estimator)
        calibrator = member.calibrators[0]
        members.append((head, isinstance(head, Linear), float(calibrator.a_), float(calibrator.b_)))
    if list(np.asarray(model.classes_).tolist()) != [0, 1]:
        raise NotCompilable("calibrated model must have classes [0, 1]")
    return Calibrated(members)


def _mixture_head(model: Any) -> Mixture:
    from attrition.mitigation import _EPS

    if model.preprocess_ is None:
        raise NotCompilable("a mitigated model without input steps is not supported")
    design = _design_of([step for _, step in model.preprocess_.steps])
    heads = []
    for predictor in model.predictors_:
        if not isinstance(predictor, LogisticRegression):
            raise NotCompilable(f"mitigated mixture of {type(predictor).__name__}")
        heads.append(_linear(predictor, design))
    shift = math.log(model.threshold / (1.0 - model.threshold))
    return Mixture(heads, [float(w) for w in model.weights_], shift, _EPS)


def compile_head(model: Any) -> Head:
    """The model as plain arithmetic; raises `NotCompilable` naming what is not supported."""
    from attrition.mitigation import MitigatedClassifier

    if isinstance(model, CalibratedClassifierCV):
        return _calibrated_head(model)
    if isinstance(model, MitigatedClassifier):
        return _mixture_head(model)
    return _pipeline_head(model)


def input_columns(model: Any) -> list[str]:
    """The raw input columns the model was fitted on."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ValueError("the model does not record its input columns (feature_names_in_)")
    return [str(n) for n in names]


class CompiledScorer:
    """Scores with the compiled head."""

    compiled = True
    reason = "compiled: the fitted steps replayed as numpy/Python arithmetic"

    def __init__(self, head: Head, columns: list[str]) -> None:
        self.head = head
        self.columns = columns

    def one(self, row: Mapping[str, Any]) -> float:
        """Probability for one employee."""
        return self.head.proba_one(row)

    def many(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities for a frame of employees."""
        if len(frame) == 0:
            return np.zeros(0)
        return self.head.proba_many(frame)


class PipelineScorer:
    """Scores with the model's own `predict_proba` (correct, slower per call)."""

    compiled = False

    def __init__(self, model: Any, columns: list[str], dtypes: Mapping[str, Any], reason: str):
        self.model = model
        self.columns = columns
        self.dtypes = dict(dtypes)
        self.reason = reason

    def one(self, row: Mapping[str, Any]) -> float:
        """Probability for one employee."""
        frame = pd.DataFrame({c: [row[c]] for c in self.columns})
        return float(self.many(frame)[0])

    def many(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities for a frame of employees."""
        if len(frame) == 0:
            return np.zeros(0)
        data = frame[self.columns]
        casts = {c: t for c, t in self.dtypes.items() if c in data and data[c].dtype != t}
        if casts:
            with contextlib.suppress(TypeError, ValueError):
                data = data.astype(casts)
        return np.asarray(self.model.predict_proba(data), dtype=float)[:, 1]


def max_difference(scorer: Scorer, model: Any, probe: pd.DataFrame) -> float:
    """Largest absolute difference to `model.predict_proba` on `probe`, one row and many rows."""
    expected = np.asarray(model.predict_proba(probe), dtype=float)[:, 1]
    batch = scorer.many(probe)
    records = [{str(k): v for k, v in r.items()} for r in probe.to_dict(orient="records")]
    single = np.array([scorer.one(r) for r in records])
    return float(max(np.max(np.abs(batch - expected)), np.max(np.abs(single - expected))))


def probe_rows(
    reference: pd.DataFrame, columns: list[str], rows: int = 200, seed: int = 0
) -> pd.DataFrame:
    """Reference rows plus variants with unseen categories and shuffled (recombined) values."""
    rng = np.random.default_rng(seed)
    base = reference[columns].head(rows).reset_index(drop=True)
    mixed = base.apply(lambda col: col.sample(frac=1.0, random_state=int(rng.integers(1 << 30))))
    mixed = mixed.reset_index(drop=True)
    unseen = base.copy()
    for column in columns:
        if not pd.api.types.is_numeric_dtype(unseen[column]):
            unseen.loc[unseen.index[::3], column] = "never-seen-category"
    return pd.concat([base, mixed.set_axis(base.index), unseen], ignore_index=True)


def checked_scorer(model: Any, reference: pd.DataFrame) -> CompiledScorer | PipelineScorer:
    """The compiled scorer if it reproduces `model` on probe rows to 1e-9, else the pipeline.

    Args:
        model: the fitted estimator (its `predict_proba(frame)[:, 1]` is the probability).
        reference: raw input rows to prove the compiled scorer on (e.g. the test split).
    """
    columns = input_columns(model)
    dtypes = {str(k): v for k, v in reference[columns].dtypes.items()}
    try:
        scorer = CompiledScorer(compile_head(model), columns)
        probe = probe_rows(reference, columns)
        gap = max_difference(scorer, model, probe)
    except NotCompilable as exc:
        return PipelineScorer(model, columns, dtypes, f"pipeline fallback: {exc}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return PipelineScorer(model, columns, dtypes, f"pipeline fallback: compile failed ({exc})")
    if not gap <= TOLERANCE:
        reason = f"pipeline fallback: compiled scores differ by {gap:.2e} on probe rows"
        return PipelineScorer(model, columns, dtypes, reason)
    return scorer
