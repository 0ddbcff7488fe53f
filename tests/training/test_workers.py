"""Worker processes on a shared SQLite study: one worker equals the in-memory search,
several run exactly the budget, and a worker joining later rebuilds the same problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from optuna.trial import TrialState

from attrition.config import load_dataset_config
from attrition.data.generate import generate_employees
from attrition.data.keys import row_keys
from attrition.data.prepare import prepare
from attrition.errors import TuningError
from attrition.training.problem import Problem, mean_fold_auc, search_problem
from attrition.training.rejoin import join_study
from attrition.training.run import checked_data, split
from attrition.training.search import TrainResult, Tuning, train_model
from attrition.training.study import (
    budget_trials,
    create_shared_study,
    load_shared_study,
)
from attrition.training.workers import recipe

pytestmark = pytest.mark.xdist_group("training-workers")

IBM = load_dataset_config()
TRIALS = 7  # past the pruner's 5 startup trials, so pruning decisions are compared too


@pytest.fixture(scope="module")
def employees(generated_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    data = prepare(generated_frame.head(800), IBM)
    return data.features, data.labels


@pytest.fixture(scope="module")
def in_memory(employees: tuple[pd.DataFrame, pd.Series]) -> TrainResult:
    features, labels = employees
    return train_model(features, labels, IBM, trials=TRIALS, seed=3, n_jobs=1)


def test_one_worker_on_a_storage_equals_the_in_memory_search(
    in_memory: TrainResult, employees: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    features, labels = employees
    tuning = Tuning(f"sqlite:///{tmp_path / 'study.db'}", "one", workers=1)
    shared = train_model(features, labels, IBM, trials=TRIALS, seed=3, n_jobs=1, tuning=tuning)
    assert shared.trials == in_memory.trials
    assert [t.state for t in shared.trials].count("COMPLETE") >= 2
    np.testing.assert_array_equal(shared.oof_proba, in_memory.oof_proba)
    assert (shared.kind, shared.params, shared.threshold, shared.calibrated) == (
        in_memory.kind,
        in_memory.params,
        in_memory.threshold,
        in_memory.calibrated,
    )
    assert (shared.cv_roc_auc, shared.cv_roc_auc_std) == (
        in_memory.cv_roc_auc,
        in_memory.cv_roc_auc_std,
    )
    assert shared.study.study_name == "one"


def test_two_workers_run_exactly_the_budget_and_keep_the_best(
    employees: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    features, labels = employees
    seen: list[int] = []
    url = f"sqlite:///{tmp_path / 'study.db'}"
    result = train_model(
        features,
        labels,
        IBM,
        trials=6,
        seed=5,
        n_jobs=2,
        on_trial=lambda record: seen.append(record.number),
        tuning=Tuning(url, "two", workers=2),
    )
    study = load_shared_study(url, "two")
    slots = budget_trials(study, 6)
    assert len(study.trials) in (6, 7)  # at most one surplus: two workers asked for the last
    assert [t.number for t in slots] == list(range(6))
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in slots)
    assert sorted(seen) == list(range(6))
    assert [r.number for r in result.trials] == list(range(6))
    complete = [t for t in slots if t.state == TrialState.COMPLETE]
    best = max(complete, key=lambda t: (t.value, -t.number))
    assert result.cv_roc_auc == best.value
    assert result.kind == best.params["kind"]
    task = search_problem(
        features,
        labels,
        IBM,
        seed=5,
        cv_folds=5,
        trials=6,
        kinds=("logreg", "lightgbm"),
        max_abs_correlation=result.params["max_abs_correlation"],
    )
    if not result.calibrated:
        assert mean_fold_auc(task, result.oof_proba) == pytest.approx(best.value, abs=1e-12)


def run_task(rows: int, seed: int) -> Problem:
    """The problem `attrition train` builds from `generated:ROWS` data with this seed."""
    train = split(checked_data(generate_employees(rows, seed=seed), IBM, "t"), seed).train
    task = search_problem(
        train.features,
        train.labels,
        IBM,
        seed=seed,
        cv_folds=5,
        trials=3,
        kinds=("logreg",),
        max_abs_correlation=0.8,
        groups=row_keys(train.features),
    )
    return task


def test_a_joining_worker_rebuilds_the_problem_and_runs_the_waiting_trials(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    task = run_task(500, seed=4)
    tuning = Tuning(url, "joined", workers=1, data="generated:500")
    plan = recipe(task, IBM, tuning, trials=3, seed=4, kinds=("logreg",))
    create_shared_study(url, "joined", plan, trials=3, kinds=("logreg",))
    joined = join_study(url, "joined", index=2, n_jobs=1)
    assert (joined.ran, joined.budget, joined.index) == (3, 3, 2)
    slots = budget_trials(load_shared_study(url, "joined"), 3)
    assert [t.state for t in slots] == [TrialState.COMPLETE] * 3
    assert join_study(url, "joined", index=3, n_jobs=1).ran == 0


def test_a_worker_with_other_data_is_refused_before_any_trial(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    task = run_task(500, seed=4)
    plan = recipe(
        task, IBM, Tuning(url, "s", data="generated:500"), trials=2, seed=4, kinds=("logreg",)
    )
    create_shared_study(url, "s", plan, trials=2, kinds=("logreg",))
    with pytest.raises(TuningError, match="rows or folds differ"):
        join_study(url, "s", data="generated:400", n_jobs=1)
    untouched = load_shared_study(url, "s").get_trials()
    assert [t.state for t in untouched] == [TrialState.WAITING]  # the queued default only
    unnamed = recipe(task, IBM, Tuning(url, "u"), trials=1, seed=4, kinds=("logreg",))
    create_shared_study(url, "u", unnamed, trials=1, kinds=("logreg",))
    with pytest.raises(TuningError, match="give --data"):
        join_study(url, "u", n_jobs=1)
