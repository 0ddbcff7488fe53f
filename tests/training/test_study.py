"""The shared study's plumbing on SQLite: budget, recipe, digest, seeds, surplus trials."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from attrition.config import load_dataset_config
from attrition.data.prepare import prepare
from attrition.errors import TuningError
from attrition.training.problem import Problem, default_trials, search_problem
from attrition.training.study import (
    SURPLUS,
    budget_of,
    budget_trials,
    create_shared_study,
    load_shared_study,
    problem_digest,
    rdb_storage,
    recipe_of,
    within_budget,
    worker_seed,
)

IBM = load_dataset_config()


@pytest.fixture(scope="module")
def task(generated_frame: pd.DataFrame) -> Problem:
    data = prepare(generated_frame.head(300), IBM)
    return search_problem(
        data.features,
        data.labels,
        IBM,
        seed=3,
        cv_folds=3,
        trials=1,
        kinds=("logreg",),
        max_abs_correlation=0.8,
    )


def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


def test_the_study_keeps_its_budget_and_recipe_and_queues_the_defaults(tmp_path: Path) -> None:
    url = storage(tmp_path)
    create_shared_study(url, "s", {"seed": 1}, trials=5, kinds=("logreg", "lightgbm"))
    study = load_shared_study(url, "s")
    assert (budget_of(study), recipe_of(study)) == (5, {"seed": 1})
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == default_trials(
        ("logreg", "lightgbm")
    )
    assert len(study.trials) == 2


def test_a_budget_smaller_than_the_kinds_queues_only_the_first_defaults(tmp_path: Path) -> None:
    study = create_shared_study(storage(tmp_path), "s", {}, trials=1, kinds=("logreg", "lightgbm"))
    assert [t.system_attrs["fixed_params"]["kind"] for t in study.trials] == ["logreg"]


def test_a_second_study_of_the_same_name_is_refused(tmp_path: Path) -> None:
    create_shared_study(storage(tmp_path), "twice", {}, trials=1, kinds=("logreg",))
    with pytest.raises(TuningError, match="'twice' exists already"):
        create_shared_study(storage(tmp_path), "twice", {}, trials=1, kinds=("logreg",))


def test_missing_study_recipe_or_storage_are_named(tmp_path: Path) -> None:
    url = storage(tmp_path)
    with pytest.raises(TuningError, match="no study named 'absent'"):
        load_shared_study(url, "absent")
    optuna.create_study(storage=url, study_name="foreign")
    with pytest.raises(TuningError, match="not an attrition study"):
        recipe_of(load_shared_study(url, "foreign"))
    with pytest.raises(TuningError, match="not an attrition study"):
        budget_of(load_shared_study(url, "foreign"))
    with pytest.raises(TuningError, match=r"study storage postgresql://tune:\*\*\*@"):
        rdb_storage("postgresql://tune:secret@127.0.0.1:1/none")


def test_worker_zero_keeps_the_run_seed_and_the_others_differ() -> None:
    assert worker_seed(42, 0) == 42
    seeds = {worker_seed(42, i) for i in range(1, 50)}
    assert len(seeds) == 49 and 42 not in seeds
    assert worker_seed(42, 3) == worker_seed(42, 3) != worker_seed(43, 3)


def test_the_digest_follows_rows_labels_and_folds(task: Problem) -> None:
    same = Problem(task.X.copy(), task.y.copy(), task.column_kinds, list(task.folds), task.extra)
    assert problem_digest(same) == problem_digest(task)
    edited = task.X.copy()
    edited.iloc[0, 0] = edited.iloc[1, 0] if edited.iloc[0, 0] != edited.iloc[1, 0] else None
    flipped = task.y.copy()
    flipped[0] = 1 - flipped[0]
    swapped = [task.folds[1], task.folds[0], *task.folds[2:]]
    others = [
        Problem(edited, task.y, task.column_kinds, task.folds, task.extra),
        Problem(task.X, flipped, task.column_kinds, task.folds, task.extra),
        Problem(task.X, task.y, task.column_kinds, swapped, task.extra),
        Problem(task.X, task.y, task.column_kinds, task.folds, {"max_abs_correlation": 0.9}),
    ]
    digests = {problem_digest(p) for p in others}
    assert len(digests) == 4 and problem_digest(task) not in digests


def test_a_trial_numbered_past_the_budget_is_pruned_and_not_counted(tmp_path: Path) -> None:
    study = create_shared_study(storage(tmp_path), "s", {}, trials=2, kinds=("logreg",))
    guarded = within_budget(lambda trial: float(np.float64(0.5)), budget=2)
    study.optimize(guarded, n_trials=3)
    assert [(t.state, t.value) for t in study.trials[:2]] == [(TrialState.COMPLETE, 0.5)] * 2
    extra = study.trials[2]
    assert extra.state == TrialState.PRUNED and extra.user_attrs[SURPLUS] is True
    assert extra.params == {} and extra.intermediate_values == {}
    assert [t.number for t in budget_trials(study, 2)] == [0, 1]
