"""The pure training core: model search by cross-validation, threshold, calibration, refit.

Nothing here prints, logs to MLflow or reads the environment; callers get a
`TrainResult` and an optional per-trial callback. `train_model` runs the three
steps in turn: `search_problem` checks the inputs and fixes the folds, `search`
runs the Optuna study, `refit` decides on calibration and fits the winner.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from attrition.config import DatasetConfig
from attrition.features import ColumnKinds, infer_column_kinds
from attrition.pipeline import (
    DEFAULT_MAX_CORRELATION,
    DEFAULT_PARAMS,
    KINDS,
    build_pipeline,
    suggest_params,
)
from attrition.training.thresholds import ThresholdRule, best_f1_threshold

DEFAULT_TRIALS = 40
Folds = list[tuple[np.ndarray, np.ndarray]]
# Picks the operating threshold from 0/1 labels and out-of-fold probabilities.


@dataclass
class TrialRecord:
    """One Optuna trial: its model kind, parameters and mean CV ROC AUC (None unless complete)."""

    number: int
    kind: str
    params: dict[str, Any]
    cv_roc_auc: float | None
    state: str


@dataclass
class TrainResult:
    """The chosen model, fitted on all training rows, and how it was chosen."""

    model: Any
    kind: str
    params: dict[str, Any]
    threshold: float
    oof_proba: np.ndarray
    cv_roc_auc: float
    cv_roc_auc_std: float
    trials: list[TrialRecord]
    calibrated: bool
    feature_names_in: list[str]
    study: Any = None  # the Optuna study, for its plots


def _fit_predict(model: Any, X: pd.DataFrame, y: np.ndarray, fold: tuple[Any, Any]) -> np.ndarray:
    train, valid = fold
    fitted = clone(model).fit(X.iloc[train], y[train])
    return np.asarray(fitted.predict_proba(X.iloc[valid])[:, 1])


def _batches(folds: Folds, size: int) -> Iterator[list[tuple[int, tuple[np.ndarray, np.ndarray]]]]:
    indexed = list(enumerate(folds))
    for start in range(0, len(indexed), size):
        yield indexed[start : start + size]


def _calibrated(model: Pipeline, seed: int) -> CalibratedClassifierCV:
    inner = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    return CalibratedClassifierCV(model, method="sigmoid", cv=inner, ensemble=False)


def _searched(kind: str) -> dict[str, Any]:
    """The kind's defaults restricted to the parameters its search space samples."""
    return suggest_params(kind, optuna.trial.FixedTrial(DEFAULT_PARAMS[kind]))


def _calibration_helps(y: np.ndarray, raw: np.ndarray, calibrated: np.ndarray) -> bool:
    """Calibrate only for a lower Brier score that does not cost log loss."""
    brier_better = brier_score_loss(y, calibrated) < brier_score_loss(y, raw)
    return bool(brier_better and log_loss(y, calibrated) <= log_loss(y, raw))


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


def search(
    task: Problem,
    config: DatasetConfig,
    parallel: Parallel,
    *,
    trials: int,
    seed: int,
    kinds: tuple[str, ...],
    n_jobs: int,
    on_trial: Callable[[TrialRecord], None] | None,
    timeout_s: float | None,
) -> SearchOutcome:
    """One seeded TPE study over model kinds and their parameters; the best complete trial.

    Raises:
        RuntimeError: when no trial completed.
    """
    oof: dict[int, np.ndarray] = {}
    records: list[TrialRecord] = []

    def objective(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", list(kinds))
        params = {**suggest_params(kind, trial), **task.extra}
        model = build_pipeline(kind, params, task.column_kinds, config, seed)
        proba = cv_proba(model, task, parallel, n_jobs, trial)
        oof[trial.number] = proba
        return float(np.mean([roc_auc_score(task.y[v], proba[v]) for _, v in task.folds]))

    def record(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        records.append(trial_record(frozen, kinds[0], task.extra))
        if on_trial is not None:
            on_trial(records[-1])

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    )
    for kind in kinds:
        study.enqueue_trial({"kind": kind, **_searched(kind)})
    study.optimize(
        objective,
        n_trials=trials,
        timeout=timeout_s,
        callbacks=[record],
        catch=(ValueError, ArithmeticError),
    )
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise RuntimeError(f"none of {len(study.trials)} training trials completed")
    best = study.best_trial
    return SearchOutcome(
        kind=str(best.params["kind"]),
        params={**{k: v for k, v in best.params.items() if k != "kind"}, **task.extra},
        cv_roc_auc=float(best.value if best.value is not None else np.nan),
        cv_roc_auc_std=float(best.user_attrs["cv_roc_auc_std"]),
        oof_proba=oof[best.number],
        trials=records,
        study=study,
    )


def refit(
    task: Problem,
    found: SearchOutcome,
    config: DatasetConfig,
    parallel: Parallel,
    *,
    seed: int,
    n_jobs: int,
    threshold_rule: ThresholdRule | None = None,
) -> TrainResult:
    """Calibrate the best pipeline only if nested CV says it helps; fit it on all rows.

    The threshold comes from `threshold_rule` on the out-of-fold predictions (default:
    the best attrition-class F1).
    """
    pipeline = build_pipeline(found.kind, found.params, task.column_kinds, config, seed)
    calibrated_oof = cv_proba(_calibrated(pipeline, seed), task, parallel, n_jobs)
    calibrate = _calibration_helps(task.y, found.oof_proba, calibrated_oof)
    model: Any = _calibrated(pipeline, seed) if calibrate else pipeline
    model.fit(task.X, task.y)
    chosen_oof = calibrated_oof if calibrate else found.oof_proba
    return TrainResult(
        model=model,
        kind=found.kind,
        params=found.params,
        threshold=(threshold_rule or best_f1_threshold)(task.y, chosen_oof),
        oof_proba=chosen_oof,
        cv_roc_auc=found.cv_roc_auc,
        cv_roc_auc_std=found.cv_roc_auc_std,
        trials=found.trials,
        calibrated=calibrate,
        feature_names_in=list(task.X.columns),
        study=found.study,
    )


def train_model(
    features: pd.DataFrame,
    labels: pd.Series,
    config: DatasetConfig,
    *,
    trials: int = DEFAULT_TRIALS,
    seed: int = 42,
    cv_folds: int = 5,
    kinds: tuple[str, ...] = KINDS,
    n_jobs: int = 2,
    on_trial: Callable[[TrialRecord], None] | None = None,
    timeout_s: float | None = None,
    max_abs_correlation: float = DEFAULT_MAX_CORRELATION,
    threshold_rule: ThresholdRule | None = None,
    groups: pd.Series | None = None,
    associated_inputs: str = "",
) -> TrainResult:
    """Search model kinds and parameters by stratified CV on the training rows; refit the best.

    The model kind is a categorical in one Optuna TPE search of `trials` trials,
    seeded with each kind's defaults; a median pruner stops trials whose running
    fold AUC trails. The chosen pipeline is wrapped in sigmoid calibration only if
    nested CV shows a lower Brier score without a worse log loss. The decision
    threshold maximises attrition-class F1 on the out-of-fold predictions, unless a
    `threshold_rule` (e.g. the cost-optimal one) is given.
    Results depend only on the data, config and seed (not on `n_jobs`), unless
    `timeout_s` cuts the search short. Rows sharing a `groups` value (repeated
    inputs) are kept in one fold. `associated_inputs` (a `features.handling_spec`,
    see `training.pair_choice`) says which strongly associated inputs every model
    drops or combines.
    """
    task = search_problem(
        features,
        labels,
        config,
        seed=seed,
        cv_folds=cv_folds,
        trials=trials,
        kinds=kinds,
        max_abs_correlation=max_abs_correlation,
        groups=groups,
    )
    if associated_inputs:
        task = replace(task, extra={**task.extra, "associated_inputs": associated_inputs})
    # One BLAS thread: fold-level threads do the parallel work, and oversubscribed
    # BLAS threads are several times slower on a busy 2-core machine.
    with (
        _quiet_optuna(),
        warnings.catch_warnings(),
        threadpool_limits(limits=1),
        Parallel(n_jobs=n_jobs, prefer="threads") as parallel,
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        found = search(
            task,
            config,
            parallel,
            trials=trials,
            seed=seed,
            kinds=kinds,
            n_jobs=n_jobs,
            on_trial=on_trial,
            timeout_s=timeout_s,
        )
        return refit(
            task, found, config, parallel, seed=seed, n_jobs=n_jobs, threshold_rule=threshold_rule
        )
