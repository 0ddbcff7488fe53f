"""A worker that joins a running shared study from anywhere (`attrition tune-worker`).

It rebuilds the study's problem from the recipe the study keeps: the dataset
config, seed, model kinds and CV settings come from the study itself; the data is
read again from the location the study names (or from `data`, where the file sits
elsewhere on this machine or the URL needs a password). The split, preparation and
folds are the training run's own, and the rebuilt rows and folds must match the
study's digest before any trial runs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from pydantic import ValidationError

from attrition.config import DatasetConfig
from attrition.data.keys import row_keys
from attrition.data.load import load_table
from attrition.errors import TuningError
from attrition.redact import redact_url
from attrition.training.problem import Problem, search_problem
from attrition.training.run import checked_data, split
from attrition.training.study import load_shared_study, recipe_of, work, worker_seed
from attrition.training.workers import RECIPE_FORMAT

GENERATED = "generated:"


@dataclass(frozen=True)
class Joined:
    """What one joining worker did: trials run, of how many, with which sampler seed."""

    study: str
    ran: int
    budget: int
    index: int
    sampler_seed: int


def load_frame(location: str, config: DatasetConfig, seed: int) -> pd.DataFrame:
    """The training table at `location`: a file, an SQL URL, or `generated:ROWS` (seeded)."""
    if location.startswith(GENERATED):
        from attrition.data.generate import generate_employees

        return generate_employees(int(location.removeprefix(GENERATED)), seed=seed)
    return load_table(location, table=config.table)


def rebuild_problem(recipe: dict[str, Any], data: str | None) -> tuple[Problem, DatasetConfig]:
    """The search problem of a study's recipe, from its data location or `data`.

    Raises:
        TuningError: for a recipe this version cannot read, or no data location.
        DataError: when the data cannot be read or is invalid.
    """
    if recipe.get("format") != RECIPE_FORMAT:
        raise TuningError(f"study recipe format {recipe.get('format')!r} is not {RECIPE_FORMAT}")
    location = data or recipe.get("data")
    if not location:
        raise TuningError("the study does not name its data: give --data")
    try:
        config = DatasetConfig.model_validate(recipe["config"])
    except ValidationError as exc:
        raise TuningError(f"the study's dataset config is invalid here: {exc}") from None
    seed = int(recipe["seed"])
    prepared = checked_data(load_frame(location, config, seed), config, redact_url(location))
    train = split(prepared, seed).train
    task = search_problem(
        train.features,
        train.labels,
        config,
        seed=seed,
        cv_folds=int(recipe["cv_folds"]),
        trials=int(recipe["trials"]),
        kinds=tuple(recipe["kinds"]),
        max_abs_correlation=float(recipe["max_abs_correlation"]),
        groups=row_keys(train.features),
    )
    if recipe.get("associated_inputs"):
        # The handling of associated inputs chosen before the search: every trial uses it.
        task = replace(task, extra={**task.extra, "associated_inputs": recipe["associated_inputs"]})
    return task, config


def join_study(
    storage: str,
    name: str,
    *,
    data: str | None = None,
    index: int | None = None,
    n_jobs: int = 2,
) -> Joined:
    """Run the study's waiting trials until none is left.

    Without `index`, a random one above the training run's own workers: a joining
    worker's samples depend on timing anyway, so only distinct seeds matter.
    """
    recipe = recipe_of(load_shared_study(storage, name))
    task, config = rebuild_problem(recipe, data)
    seed = int(recipe["seed"])
    chosen = index if index is not None else int(recipe["workers"]) + 1 + secrets.randbelow(10**6)
    ran = work(
        storage,
        name,
        task,
        config,
        seed=seed,
        kinds=tuple(recipe["kinds"]),
        n_jobs=n_jobs,
        index=chosen,
    )
    return Joined(name, ran, int(recipe["trials"]), chosen, worker_seed(seed, chosen))
