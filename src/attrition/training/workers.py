"""Parallel tuning: worker processes sharing one Optuna study in an RDB storage.

`shared_search` writes the study (its recipe and its trial budget, see `study`),
starts `Tuning.workers` processes (spawned, so nothing forked from the parent's
threads) that run trials until the budget is used up, waits for them and for any
worker that joined from another machine (`attrition tune-worker`), then returns
the best trial as the in-memory search does.

What is deterministic: the problem (rows, folds), the model seed, and so each
trial's score given its parameters; with one worker, the whole search, which then
equals the in-memory search of the same seed. What is not, with several workers:
which parameters get sampled, since each worker's TPE sampler conditions on the
trials completed so far, and that depends on the order in which they finish.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from typing import Any

import optuna
from joblib import Parallel
from optuna.trial import TrialState

from attrition.config import DatasetConfig
from attrition.errors import TuningError
from attrition.training.problem import Problem, SearchOutcome, TrialRecord, trial_record
from attrition.training.study import (
    FINISHED,
    budget_trials,
    create_shared_study,
    outcome,
    problem_digest,
    work,
)

POLL_S = 1.0
RECIPE_FORMAT = 1


@dataclass(frozen=True)
class Tuning:
    """Where the shared study lives and how many local worker processes run it.

    `data` is where a worker joining from another machine finds the training data
    (a path, an SQL URL without password, or `generated:ROWS`); it goes in the recipe.
    """

    storage: str
    study_name: str
    workers: int = 1
    data: str | None = None


def recipe(
    task: Problem,
    config: DatasetConfig,
    tuning: Tuning,
    *,
    trials: int,
    seed: int,
    kinds: tuple[str, ...],
) -> dict[str, Any]:
    """What the study records for workers that join it: enough to rebuild `task`, and its digest."""
    return {
        "format": RECIPE_FORMAT,
        "data": tuning.data,
        "config": config.model_dump(mode="json"),
        "seed": seed,
        "kinds": list(kinds),
        "cv_folds": len(task.folds),
        "max_abs_correlation": task.extra.get("max_abs_correlation"),
        "associated_inputs": task.extra.get("associated_inputs", ""),
        "trials": trials,
        "workers": tuning.workers,
        "digest": problem_digest(task),
    }


def shared_search(
    task: Problem,
    config: DatasetConfig,
    parallel: Parallel,
    tuning: Tuning,
    *,
    trials: int,
    seed: int,
    kinds: tuple[str, ...],
    n_jobs: int,
    on_trial: Callable[[TrialRecord], None] | None,
) -> SearchOutcome:
    """Run the search on a new shared study with `tuning.workers` processes; the best trial.

    Each worker gets `n_jobs // workers` fold threads (at least one), so the machine
    runs about as many threads as it would in memory.

    Raises:
        TuningError: when the study cannot be made or a worker fails.
        RuntimeError: when no trial completed.
    """
    if tuning.workers < 1:
        raise ValueError(f"workers must be at least 1, got {tuning.workers}")
    plan = recipe(task, config, tuning, trials=trials, seed=seed, kinds=kinds)
    study = create_shared_study(tuning.storage, tuning.study_name, plan, trials=trials, kinds=kinds)
    report = _reporter(study, trials, task, kinds, on_trial)
    threads = max(1, n_jobs // tuning.workers)
    pool = multiprocessing.get_context("spawn").Pool(processes=tuning.workers)
    try:
        jobs = [
            pool.apply_async(
                work,
                (tuning.storage, tuning.study_name, task, config),
                {"seed": seed, "kinds": kinds, "n_jobs": threads, "index": index},
            )
            for index in range(tuning.workers)
        ]
        _wait_for(jobs, report)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    _wait_for_joined(study, trials, report)
    return outcome(study, task, config, parallel, seed=seed, kinds=kinds, n_jobs=n_jobs)


def _reporter(
    study: optuna.Study,
    budget: int,
    task: Problem,
    kinds: tuple[str, ...],
    on_trial: Callable[[TrialRecord], None] | None,
) -> Callable[[], None]:
    """Calls `on_trial` once for each trial that finished since the last call."""
    seen: set[int] = set()

    def report() -> None:
        for frozen in budget_trials(study, budget, FINISHED):
            if frozen.number not in seen:
                seen.add(frozen.number)
                if on_trial is not None:
                    on_trial(trial_record(frozen, kinds[0], task.extra))

    return report


def _wait_for(jobs: list[AsyncResult[int]], report: Callable[[], None]) -> None:
    """Wait for the local workers, reporting finished trials; a worker's error ends the wait."""
    pending = list(enumerate(jobs))
    while pending:
        pending[0][1].wait(POLL_S)
        report()
        for index, job in [p for p in pending if p[1].ready()]:
            if not job.successful():
                try:
                    job.get()
                except Exception as exc:
                    raise TuningError(f"tuning worker {index} failed: {exc}") from exc
            pending.remove((index, job))
    report()


def _wait_for_joined(study: optuna.Study, budget: int, report: Callable[[], None]) -> None:
    """Wait for trials still run by workers that joined from elsewhere.

    A silent one (no heartbeat for the grace period) is failed, so this ends.
    """
    while budget_trials(study, budget, (TrialState.RUNNING, TrialState.WAITING)):
        optuna.storages.fail_stale_trials(study)
        time.sleep(POLL_S)
        report()
