"""The pure training core: model search by cross-validation, threshold, calibration, refit.

Nothing here prints, logs to MLflow or reads the environment; callers get a
`TrainResult` and an optional per-trial callback. `train_model` runs the three
steps in turn: `search_problem` checks the inputs and fixes the folds, `search`
runs the Optuna study (in memory, or shared by worker processes through an RDB
storage: `tuning`), `refit` decides on calibration and fits the winner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from joblib import Parallel
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from attrition.config import DatasetConfig
from attrition.pipeline import DEFAULT_MAX_CORRELATION, KINDS, build_pipeline
from attrition.training.problem import (
    CAUGHT,
    Folds,
    Problem,
    SearchOutcome,
    TrialRecord,
    cv_proba,
    default_trials,
    new_pruner,
    new_sampler,
    search_context,
    search_problem,
    trial_objective,
    trial_record,
)
from attrition.training.thresholds import ThresholdRule, best_f1_threshold
from attrition.training.workers import Tuning, shared_search

DEFAULT_TRIALS = 40
__all__ = [
    "DEFAULT_TRIALS",
    "Folds",
    "Problem",
    "SearchOutcome",
    "ThresholdRule",
    "TrainResult",
    "TrialRecord",
    "Tuning",
    "best_f1_threshold",
    "cv_proba",
    "refit",
    "search",
    "search_problem",
    "train_model",
    "trial_record",
]


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


def _calibrated(model: Pipeline, seed: int) -> CalibratedClassifierCV:
    inner = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    return CalibratedClassifierCV(model, method="sigmoid", cv=inner, ensemble=False)


def _calibration_helps(y: np.ndarray, raw: np.ndarray, calibrated: np.ndarray) -> bool:
    """Calibrate only for a lower Brier score that does not cost log loss."""
    brier_better = brier_score_loss(y, calibrated) < brier_score_loss(y, raw)
    return bool(brier_better and log_loss(y, calibrated) <= log_loss(y, raw))


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
    """One seeded TPE study in memory over model kinds and their parameters; the best trial.

    Raises:
        RuntimeError: when no trial completed.
    """
    oof: dict[int, np.ndarray] = {}
    records: list[TrialRecord] = []
    objective = trial_objective(
        task, config, parallel, kinds=kinds, n_jobs=n_jobs, seed=seed, oof=oof
    )

    def record(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        records.append(trial_record(frozen, kinds[0], task.extra))
        if on_trial is not None:
            on_trial(records[-1])

    study = optuna.create_study(
        direction="maximize", sampler=new_sampler(seed), pruner=new_pruner()
    )
    for params in default_trials(kinds):
        study.enqueue_trial(params)
    study.optimize(objective, n_trials=trials, timeout=timeout_s, callbacks=[record], catch=CAUGHT)
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
    tuning: Tuning | None = None,
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
    drops or combines. With `tuning`, the study lives in an RDB storage
    and `tuning.workers` processes share its budget (see `workers.shared_search`);
    one worker gives the in-memory result, several give a scheduling-dependent one.

    Raises:
        ValueError: on bad inputs, or `timeout_s` with `tuning`.
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
    if tuning is not None and timeout_s is not None:
        raise ValueError("timeout_s applies to the in-memory search only, not with tuning")
    with search_context(n_jobs) as parallel:
        if tuning is None:
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
        else:
            found = shared_search(
                task,
                config,
                parallel,
                tuning,
                trials=trials,
                seed=seed,
                kinds=kinds,
                n_jobs=n_jobs,
                on_trial=on_trial,
            )
        return refit(
            task, found, config, parallel, seed=seed, n_jobs=n_jobs, threshold_rule=threshold_rule
        )
