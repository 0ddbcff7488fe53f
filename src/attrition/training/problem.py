"""The search problem every trial shares, and one trial's work on it.

A `Problem` fixes the model's input columns, the 0/1 labels and the CV folds;
`trial_objective` scores one Optuna trial's model kind and parameters on it by
out-of-fold ROC AUC. The in-memory search (`search`) and the workers of a shared
study (`study`) both run this objective with the same sampler, pruner and
enqueued defaults, so a trial's score depends only on its parameters.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from attrition.config import DatasetConfig
from attrition.features import ColumnKinds, infer_column_kinds
from attrition.pipeline import DEFAULT_PARAMS, KINDS, build_pipeline, suggest_params

Folds = list[tuple[np.ndarray, np.ndarray]]
# Trials that fail on bad parameter values are recorded as failed and the search goes on.
CAUGHT: tuple[type[Exception], ...] = (ValueError, ArithmeticError)


@dataclass
class TrialRecord:
    """One Optuna trial: its model kind, parameters and mean CV ROC AUC (None unless complete)."""

    number: int
    kind: str
    params: dict[str, Any]
    cv_roc_auc: float | None
    state: str


def _fit_predict(model: Any, X: pd.DataFrame, y: np.ndarray, fold: tuple[Any, Any]) -> np.ndarray:
    train, valid = fold
    fitted = clone(model).fit(X.iloc[train], y[train])
    return np.asarray(fitted.predict_proba(X.iloc[valid])[:, 1])


def _batches(folds: Folds, size: int) -> Iterator[list[tuple[int, tuple[np.ndarray, np.ndarray]]]]:
    indexed = list(enumerate(folds))
    for start in range(0, len(indexed), size):
        yield indexed[start : start + size]


def _searched(kind: str) -> dict[str, Any]:
    """The kind's defaults restricted to the parameters its search space samples."""
    return suggest_params(kind, optuna.trial.FixedTrial(DEFAULT_PARAMS[kind]))


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def _check_inputs(features: pd.DataFrame, y: np.ndarray, cv_folds: int, trials: int) -> None:
    if len(features) != len(y):
        raise ValueError(f"features have {len(features)} rows but labels have {len(y)}")
    values, counts = np.unique(y, return_counts=True)
    if not set(values.tolist()) <= {0, 1} or len(values) != 2:
        shown = sorted(map(str, values.tolist()))[:5]
        raise ValueError(f"labels must be 0/1 with both classes present, got {shown}")
    if counts.min() < cv_folds:
        raise ValueError(
            f"the smaller class has {counts.min()} rows, fewer than cv_folds={cv_folds}"
        )
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")


@dataclass(frozen=True)
class Problem:
    """The checked inputs of a search: the model's columns, 0/1 labels and the CV folds."""

    X: pd.DataFrame
    y: np.ndarray
    column_kinds: ColumnKinds
    folds: Folds
    extra: dict[str, Any]


@dataclass
class SearchOutcome:
    """The best trial of a search: its kind, parameters, CV scores and out-of-fold predictions."""

    kind: str
    params: dict[str, Any]
    cv_roc_auc: float
    cv_roc_auc_std: float
    oof_proba: np.ndarray
    trials: list[TrialRecord]
    study: Any = None


def search_problem(
    features: pd.DataFrame,
    labels: pd.Series,
    config: DatasetConfig,
    *,
    seed: int,
    cv_folds: int,
    trials: int,
    kinds: tuple[str, ...],
    max_abs_correlation: float,
    groups: pd.Series | None = None,
) -> Problem:
    """Check the inputs and fix what every trial shares: input columns, labels, folds.

    With `groups` (e.g. input content keys) that repeat, rows of one group share a fold.

    Raises:
        ValueError: naming the mismatched rows, bad labels, too small a class, budget or kind.
    """
    y = np.asarray(labels)
    _check_inputs(features, y, cv_folds, trials)
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise ValueError(f"unknown model kind(s) {unknown}; choose from {', '.join(KINDS)}")
    column_kinds = infer_column_kinds(features, config)
    used = set(column_kinds.columns)
    X = features[[str(c) for c in features.columns if c in used]]
    y = y.astype(int)
    folds: Folds
    if groups is not None and pd.Series(np.asarray(groups)).duplicated().any():
        grouped = StratifiedGroupKFold(cv_folds, shuffle=True, random_state=seed)
        folds = list(grouped.split(X, y, groups=np.asarray(groups)))
    else:
        folds = list(StratifiedKFold(cv_folds, shuffle=True, random_state=seed).split(X, y))
    return Problem(X, y, column_kinds, folds, {"max_abs_correlation": max_abs_correlation})


def cv_proba(
    model: Any,
    task: Problem,
    parallel: Parallel,
    n_jobs: int,
    trial: optuna.Trial | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities of `model`: each row scored by a fit that never saw it.

    With a `trial`, the running mean fold AUC is reported after each fold so the
    pruner can stop a trailing trial (`optuna.TrialPruned`).
    """
    y = task.y
    proba = np.zeros(len(y))
    scores: list[float] = []
    for batch in _batches(task.folds, max(1, n_jobs)):
        preds = parallel(delayed(_fit_predict)(model, task.X, y, fold) for _, fold in batch)
        for (i, (_, valid)), pred in zip(batch, preds, strict=True):
            proba[valid] = pred
            scores.append(roc_auc_score(y[valid], pred))
            if trial is not None:
                trial.report(float(np.mean(scores)), step=i)
                if trial.should_prune():
                    raise optuna.TrialPruned()
    if trial is not None:
        trial.set_user_attr("cv_roc_auc_std", float(np.std(scores)))
    return proba


def trial_record(
    frozen: optuna.trial.FrozenTrial, default_kind: str, extra: dict[str, Any]
) -> TrialRecord:
    """What the run keeps of one finished Optuna trial (a score only when it completed)."""
    params = {k: v for k, v in frozen.params.items() if k != "kind"}
    complete = frozen.state == optuna.trial.TrialState.COMPLETE
    return TrialRecord(
        number=frozen.number,
        kind=str(frozen.params.get("kind", default_kind)),
        params={**params, **extra},
        cv_roc_auc=float(frozen.value) if complete and frozen.value is not None else None,
        state=frozen.state.name,
    )


def new_sampler(seed: int) -> optuna.samplers.BaseSampler:
    """The seeded TPE sampler of every search."""
    return optuna.samplers.TPESampler(seed=seed)


def new_pruner() -> optuna.pruners.BasePruner:
    """Stops a trial whose running fold AUC trails the median of earlier trials."""
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)


def default_trials(kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """The first trials of every search: each kind with its default parameters."""
    return [{"kind": kind, **_searched(kind)} for kind in kinds]


def trial_objective(
    task: Problem,
    config: DatasetConfig,
    parallel: Parallel,
    *,
    kinds: tuple[str, ...],
    n_jobs: int,
    seed: int,
    oof: dict[int, np.ndarray] | None = None,
) -> Callable[[optuna.Trial], float]:
    """The objective of one search: a trial's mean fold ROC AUC (its OOF kept in `oof`).

    The model and folds are seeded with `seed` whatever sampler picked the parameters,
    so a trial's score depends only on its parameters.
    """

    def objective(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", list(kinds))
        params = {**suggest_params(kind, trial), **task.extra}
        model = build_pipeline(kind, params, task.column_kinds, config, seed)
        proba = cv_proba(model, task, parallel, n_jobs, trial)
        if oof is not None:
            oof[trial.number] = proba
        return mean_fold_auc(task, proba)

    return objective


def mean_fold_auc(task: Problem, proba: np.ndarray) -> float:
    """The mean over folds of the ROC AUC of out-of-fold probabilities."""
    return float(np.mean([roc_auc_score(task.y[v], proba[v]) for _, v in task.folds]))


@contextmanager
def search_context(n_jobs: int) -> Iterator[Parallel]:
    """Quiet Optuna, no convergence warnings, one BLAS thread, `n_jobs` fold threads.

    One BLAS thread: fold-level threads do the parallel work, and oversubscribed
    BLAS threads are several times slower on a busy 2-core machine.
    """
    with (
        _quiet_optuna(),
        warnings.catch_warnings(),
        threadpool_limits(limits=1),
        Parallel(n_jobs=n_jobs, prefer="threads") as parallel,
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield parallel
