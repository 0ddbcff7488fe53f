"""An Optuna study in an RDB storage (PostgreSQL, SQLite) that several processes share.

The budget is exact: the storage numbers trials atomically, a worker starts a trial
only while the study has fewer than `BUDGET` trials, and a trial numbered past the
budget (two workers asking for the last one at once) is pruned at once, marked
`SURPLUS`, and left out. (Optuna's `MaxTrialsCallback` counts only after a trial
ends, so concurrent workers would overshoot it by up to N-1 trials.) Each model
kind's defaults are queued first, as in memory.

The study also keeps what a worker on another machine needs to rebuild the same
problem (`RECIPE`: data location, dataset config, seed, kinds, CV settings) and a
digest of the training rows and folds that its rebuilt problem must match.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
import pandas as pd
from joblib import Parallel
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.exc import SQLAlchemyError

from attrition.config import DatasetConfig
from attrition.errors import TuningError
from attrition.pipeline import build_pipeline
from attrition.redact import redact_url
from attrition.training.problem import (
    CAUGHT,
    Problem,
    SearchOutcome,
    cv_proba,
    default_trials,
    mean_fold_auc,
    new_pruner,
    new_sampler,
    search_context,
    trial_objective,
    trial_record,
)

BUDGET = "attrition.budget"
SURPLUS = "attrition.surplus"
RECIPE = "attrition.recipe"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
# A worker's trials send a heartbeat; one silent for the grace period (a killed
# worker) is marked failed, so the others and the waiting parent carry on.
HEARTBEAT_S = 10
GRACE_S = 60


def rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage at `url`, with heartbeats; SQLite waits on locks instead of failing.

    Raises:
        TuningError: when the storage cannot be opened (the URL shown without password).
    """
    engine: dict[str, Any] = (
        {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S
            )
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TuningError(f"study storage {redact_url(url)}: {redact_url(reason)}") from None


def worker_seed(seed: int, index: int) -> int:
    """The sampler seed of worker `index`: the run's own seed for worker 0, so one worker
    reproduces the in-memory search; independent streams from (seed, index) for the rest."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def problem_digest(task: Problem) -> str:
    """A hash of the training rows, labels, folds and fixed parameters of a search."""
    digest = hashlib.sha256()
    digest.update(json.dumps([list(map(str, task.X.columns)), task.extra], default=str).encode())
    digest.update(pd.util.hash_pandas_object(task.X, index=False).to_numpy().tobytes())
    digest.update(np.asarray(task.y, dtype=np.int64).tobytes())
    for train, valid in task.folds:
        digest.update(np.asarray(train, dtype=np.int64).tobytes() + b"|")
        digest.update(np.asarray(valid, dtype=np.int64).tobytes() + b";")
    return digest.hexdigest()


def create_shared_study(
    url: str, name: str, recipe: dict[str, Any], *, trials: int, kinds: tuple[str, ...]
) -> optuna.Study:
    """A new study named `name` with its recipe, a budget of `trials` and the defaults queued.

    Raises:
        TuningError: when a study of that name exists already.
    """
    try:
        study = optuna.create_study(storage=rdb_storage(url), study_name=name, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        raise TuningError(
            f"a study named '{name}' exists already in {redact_url(url)}: choose another name"
        ) from None
    study.set_user_attr(RECIPE, recipe)
    study.set_user_attr(BUDGET, trials)
    for params in default_trials(kinds)[:trials]:
        study.enqueue_trial(params)
    return study


def load_shared_study(url: str, name: str, seed: int | None = None) -> optuna.Study:
    """The study `name` at `url`, with a sampler seeded by `seed` and the search's pruner.

    Raises:
        TuningError: when there is no such study.
    """
    try:
        return optuna.load_study(
            study_name=name,
            storage=rdb_storage(url),
            sampler=new_sampler(seed) if seed is not None else None,
            pruner=new_pruner(),
        )
    except KeyError:
        raise TuningError(f"no study named '{name}' in {redact_url(url)}") from None


def recipe_of(study: optuna.Study) -> dict[str, Any]:
    """What a worker needs to rebuild the study's problem.

    Raises:
        TuningError: when the study was not made by `attrition train`.
    """
    return dict(_attribute(study, RECIPE, dict))


def budget_of(study: optuna.Study) -> int:
    """How many trials the study runs in all.

    Raises:
        TuningError: when the study was not made by `attrition train`.
    """
    return int(_attribute(study, BUDGET, int))


def _attribute(study: optuna.Study, key: str, kind: type) -> Any:
    value = study.user_attrs.get(key)
    if not isinstance(value, kind):
        raise TuningError(f"study '{study.study_name}' has no {key}: not an attrition study")
    return value


def budget_trials(
    study: optuna.Study, budget: int, states: tuple[TrialState, ...] | None = None
) -> list[FrozenTrial]:
    """The study's trials within its budget (surplus ones left out), by number."""
    return [t for t in study.get_trials(deepcopy=False, states=states) if t.number < budget]


def work(
    url: str,
    name: str,
    task: Problem,
    config: DatasetConfig,
    *,
    seed: int,
    kinds: tuple[str, ...],
    n_jobs: int,
    index: int,
) -> int:
    """Run the study's trials one at a time until its budget is used up; how many it ran.

    The sampler is seeded by `worker_seed(seed, index)`; models and folds by `seed`.

    Raises:
        TuningError: when `task` is not the problem the study was made for.
    """
    study = load_shared_study(url, name, worker_seed(seed, index))
    if recipe_of(study).get("digest") != problem_digest(task):
        raise TuningError(
            f"the training rows or folds differ from those of study '{name}': "
            "use the same data file, dataset config and seed"
        )
    budget = budget_of(study)
    ran: list[bool] = []  # per trial this worker ran: within the budget?
    with search_context(n_jobs) as parallel:
        objective = trial_objective(task, config, parallel, kinds=kinds, n_jobs=n_jobs, seed=seed)
        guarded = within_budget(objective, budget)
        while len(study.get_trials(deepcopy=False)) < budget:
            study.optimize(
                guarded,
                n_trials=1,
                catch=CAUGHT,
                callbacks=[lambda _, frozen: ran.append(frozen.number < budget)],
            )
    return sum(ran)


def within_budget(
    objective: Callable[[optuna.Trial], float], budget: int
) -> Callable[[optuna.Trial], float]:
    """`objective` for trials numbered within `budget`; a trial past it is pruned at once."""

    def guarded(trial: optuna.Trial) -> float:
        if trial.number >= budget:
            trial.set_user_attr(SURPLUS, True)
            # Pruned, not failed: Optuna logs a failure with its traceback; neither
            # state lets a trial without parameters or values sway sampler or pruner.
            raise optuna.TrialPruned(f"trial {trial.number} is past the budget of {budget}")
        return objective(trial)

    return guarded


def outcome(
    study: optuna.Study,
    task: Problem,
    config: DatasetConfig,
    parallel: Parallel,
    *,
    seed: int,
    kinds: tuple[str, ...],
    n_jobs: int,
) -> SearchOutcome:
    """The best complete trial (lowest number among equals) with its out-of-fold predictions.

    Workers keep only scores in the storage, so the winner's out-of-fold predictions
    are computed again here; they must give the score the worker stored.

    Raises:
        RuntimeError: when no trial completed.
        TuningError: when the winner scores differently here than in its worker.
    """
    trials = budget_trials(study, budget_of(study))
    records = [trial_record(t, kinds[0], task.extra) for t in trials]
    completed = [t for t in trials if t.state == TrialState.COMPLETE]
    if not completed:
        raise RuntimeError(f"none of {len(trials)} training trials completed")
    best = max(completed, key=lambda t: (float(t.value or 0.0), -t.number))
    kind = str(best.params["kind"])
    params = {**{k: v for k, v in best.params.items() if k != "kind"}, **task.extra}
    model = build_pipeline(kind, params, task.column_kinds, config, seed)
    oof = cv_proba(model, task, parallel, n_jobs)
    again = mean_fold_auc(task, oof)
    if not np.isclose(again, float(best.value or 0.0), rtol=0, atol=1e-9):
        raise TuningError(
            f"trial {best.number} scored {best.value:.6f} in its worker but {again:.6f} here: "
            "every worker must run the same code and library versions"
        )
    return SearchOutcome(
        kind=kind,
        params=params,
        cv_roc_auc=float(best.value or 0.0),
        cv_roc_auc_std=float(best.user_attrs["cv_roc_auc_std"]),
        oof_proba=oof,
        trials=records,
        study=study,
    )
