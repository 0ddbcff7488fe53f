"""Fairness-constrained candidates beside the unconstrained model, each cross-fitted.

Every candidate is the searched model kind with its searched parameters, trained
another way:

- `reweigh s=…`: rows weighted by group and label (`fairness.reweigh`) at strength s,
  through `sample_weight`, so it works for every model family;
- `mitigate <constraint>` (with `train --mitigate`): Fairlearn's exponentiated-gradient
  reduction, served as the deterministic average of its classifiers' probabilities.

Each gets out-of-fold predictions over the training split from the same folds as the
search, and its own operating threshold from them by the run's threshold rule. Only the
chosen candidate is refitted on every training row. The sensitive attributes shape the
weights or the reduction, never the model's inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from attrition.config import DatasetConfig
from attrition.data.keys import row_keys
from attrition.data.prepare import PreparedData
from attrition.fairness.reweigh import group_label_weights
from attrition.pipeline import build_pipeline
from attrition.training.search import (
    Problem,
    ThresholdRule,
    TrainResult,
    best_f1_threshold,
    search_problem,
)

REWEIGH_STRENGTHS: tuple[float, ...] = (0.5, 1.0)
UNCONSTRAINED = "unconstrained"


@dataclass
class Candidate:
    """One way of training the chosen model kind, with its out-of-fold predictions.

    `fit` refits it on every training row; the unconstrained candidate is fitted already.
    """

    name: str
    params: dict[str, Any]
    oof_proba: np.ndarray
    threshold: float
    fold_auc: list[float]
    fit: Callable[[], Any] | None = None
    model: Any = None

    def fitted(self) -> Any:
        """The model fitted on every training row (fitting it the first time it is asked)."""
        if self.model is None and self.fit is not None:
            self.model = self.fit()
        return self.model


def unconstrained(result: TrainResult, task: Problem) -> Candidate:
    """The searched model as it is."""
    return Candidate(
        name=UNCONSTRAINED,
        params={"method": "none", "calibrated": result.calibrated},
        oof_proba=result.oof_proba,
        threshold=result.threshold,
        fold_auc=_fold_auc(task, result.oof_proba),
        model=result.model,
    )


def training_problem(
    train: PreparedData, config: DatasetConfig, result: TrainResult, seed: int
) -> Problem:
    """The search's inputs again: the same columns, labels and folds (the split is seeded)."""
    return search_problem(
        train.features,
        train.labels,
        config,
        seed=seed,
        cv_folds=5,
        trials=1,
        kinds=(result.kind,),
        max_abs_correlation=float(result.params.get("max_abs_correlation", 0.8)),
        groups=row_keys(train.features),
    )


def reweighed(
    result: TrainResult,
    task: Problem,
    audit: pd.DataFrame,
    config: DatasetConfig,
    *,
    seed: int,
    strengths: tuple[float, ...] = REWEIGH_STRENGTHS,
    threshold_rule: ThresholdRule | None = None,
    n_jobs: int = 2,
) -> list[Candidate]:
    """One candidate per reweighing strength; none without sensitive attributes."""
    if audit.shape[1] == 0:
        return []
    rule = threshold_rule or best_f1_threshold
    pipeline = build_pipeline(result.kind, result.params, task.column_kinds, config, seed)
    candidates = []
    for strength in strengths:
        weights = group_label_weights(task.y, audit.reset_index(drop=True), strength)
        oof = _cross_fit(pipeline, task, weights, n_jobs)
        candidates.append(
            Candidate(
                name=f"reweigh s={strength:g}",
                params={"method": "reweigh", "strength": strength},
                oof_proba=oof,
                threshold=rule(task.y, oof),
                fold_auc=_fold_auc(task, oof),
                fit=_refit(pipeline, task, weights),
            )
        )
    return candidates


def mitigated(
    result: TrainResult,
    task: Problem,
    audit: pd.DataFrame,
    config: DatasetConfig,
    constraint: str,
    *,
    seed: int,
    threshold_rule: ThresholdRule | None = None,
    n_jobs: int = 2,
) -> Candidate:
    """The exponentiated-gradient candidate of `train --mitigate`, cross-fitted like the rest."""
    from attrition.mitigation import fit_mitigated

    groups = audit.reset_index(drop=True)
    base = build_pipeline(result.kind, result.params, task.column_kinds, config, seed)

    def fit_on(rows: np.ndarray) -> Any:
        return fit_mitigated(
            base,
            task.X.iloc[rows],
            pd.Series(task.y[rows]),
            groups.iloc[rows].reset_index(drop=True),
            constraint,  # type: ignore[arg-type]
            seed=seed,
            threshold=result.threshold,
        )

    def one(train_rows: np.ndarray, valid_rows: np.ndarray) -> np.ndarray:
        return np.asarray(fit_on(train_rows).predict_proba(task.X.iloc[valid_rows])[:, 1])

    oof = np.zeros(len(task.y))
    with _quiet(), Parallel(n_jobs=n_jobs, prefer="threads") as parallel:
        preds = parallel(delayed(one)(t, v) for t, v in task.folds)
    for (_, valid_rows), pred in zip(task.folds, preds, strict=True):
        oof[valid_rows] = pred
    everyone = np.arange(len(task.y))
    return Candidate(
        name=f"mitigate {constraint}",
        params={"method": "exponentiated_gradient", "constraint": constraint},
        oof_proba=oof,
        threshold=(threshold_rule or best_f1_threshold)(task.y, oof),
        fold_auc=_fold_auc(task, oof),
        fit=lambda: _quietly(lambda: fit_on(everyone)),
    )


def as_result(result: TrainResult, candidate: Candidate) -> TrainResult:
    """The search result with the candidate's model, predictions and threshold in its place."""
    if candidate.name == UNCONSTRAINED:
        return result
    return replace(
        result,
        model=candidate.fitted(),
        threshold=candidate.threshold,
        oof_proba=candidate.oof_proba,
        cv_roc_auc=float(np.mean(candidate.fold_auc)),
        cv_roc_auc_std=float(np.std(candidate.fold_auc)),
        calibrated=False,
    )


def _fold_auc(task: Problem, proba: np.ndarray) -> list[float]:
    return [float(roc_auc_score(task.y[v], proba[v])) for _, v in task.folds]


def _fit_weighted(model: Any, task: Problem, weights: np.ndarray, rows: np.ndarray) -> Any:
    return clone(model).fit(task.X.iloc[rows], task.y[rows], model__sample_weight=weights[rows])


def _cross_fit(model: Any, task: Problem, weights: np.ndarray, n_jobs: int) -> np.ndarray:
    def one(train_rows: np.ndarray, valid_rows: np.ndarray) -> np.ndarray:
        fitted = _fit_weighted(model, task, weights, train_rows)
        return np.asarray(fitted.predict_proba(task.X.iloc[valid_rows])[:, 1])

    proba = np.zeros(len(task.y))
    with _quiet(), Parallel(n_jobs=n_jobs, prefer="threads") as parallel:
        preds = parallel(delayed(one)(t, v) for t, v in task.folds)
    for (_, valid_rows), pred in zip(task.folds, preds, strict=True):
        proba[valid_rows] = pred
    return proba


def _refit(model: Any, task: Problem, weights: np.ndarray) -> Callable[[], Any]:
    everyone = np.arange(len(task.y))
    return lambda: _quietly(lambda: _fit_weighted(model, task, weights, everyone))


@contextmanager
def _quiet() -> Iterator[None]:
    """One BLAS thread and no convergence warnings, as in the search."""
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _quietly(build: Callable[[], Any]) -> Any:
    with _quiet():
        return build()
