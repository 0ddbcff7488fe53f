"""`attrition tune-worker`, and the shared-study options of `attrition train`.

A shared study lives in an Optuna RDB storage (`postgresql://…`, `sqlite:///…`).
`train --study-storage URL --workers N` makes the study and runs N local worker
processes on it; `tune-worker --study NAME --storage URL` adds a worker from any
machine that reaches the storage, rebuilding the problem from what the study records.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from attrition.commands.common import fail, one_line_errors, out
from attrition.redact import redact_url

tune_app = typer.Typer()

DETERMINISM = (
    "Deterministic: the training rows, folds and model seed, hence each trial's score given "
    "its parameters; with --workers 1 the whole search, equal to the in-memory one. Not "
    "deterministic with several workers: which parameters are sampled, since each worker's "
    "TPE sampler conditions on the trials completed so far, in the order they finish, and "
    "which trials the pruner stops."
)
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--study-storage",
        help="Optuna RDB storage for a shared search study (postgresql://… or sqlite:///…), "
        "in a database of its own, not MLflow's. Default: the study stays in memory.",
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        help="Worker processes that share the study's trial budget (needs --study-storage). "
        + DETERMINISM,
    ),
]
StudyNameOption = Annotated[
    str | None,
    typer.Option(
        "--study-name",
        help="Name of the new study. Default: attrition-EXPERIMENT-SEED-UTCTIME-RANDOM.",
    ),
]


def study_name(experiment: str, seed: int) -> str:
    """A new study's default name: the run's experiment and seed, the time, a random tag."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"attrition-{experiment}-{seed}-{stamp}-{secrets.token_hex(2)}"


def data_location(data: str | None, rows: int) -> str:
    """Where a joining worker finds the data: an absolute path, a URL without its password,
    or `generated:ROWS` (regenerated from the seed)."""
    if data is None:
        return f"generated:{rows}"
    if "://" in data:
        return redact_url(data)
    return str(Path(data).resolve())


def check_storage(storage: str | None, workers: int, tracking_uri: str) -> None:
    """Refuse several workers without a storage, and a study kept in MLflow's own database."""
    if storage is None:
        if workers > 1:
            raise fail("--workers needs --study-storage: worker processes share a stored study")
        return
    if storage.rstrip("/") == tracking_uri.rstrip("/"):
        raise fail(
            "--study-storage must be a database of its own: Optuna and MLflow "
            "both keep an alembic_version table"
        )


@tune_app.command("tune-worker")
def tune_worker(
    study: Annotated[str, typer.Option("--study", help="Name of the running study to join.")],
    storage: Annotated[
        str, typer.Option("--storage", help="Its Optuna RDB storage URL (as given to train).")
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="The training data, where it differs here from the location the study "
            "records (another path, or an SQL URL with its password). Default: that location.",
        ),
    ] = None,
    index: Annotated[
        int | None,
        typer.Option(
            "--index",
            min=1,
            help="Worker index, which seeds this worker's sampler with the run's seed. "
            "Default: a random index above the run's own workers.",
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Fold threads per trial.")] = 2,
) -> None:
    """Join a running shared study: run its waiting trials until its budget is used up.

    The dataset config, seed, model kinds and CV settings come from the study; the
    data is read again and must give the study's training rows and folds. Each
    trial's score given its parameters is deterministic; which parameters a worker
    samples depends on the trials completed before, so on timing.
    """
    with one_line_errors():
        from attrition.training.rejoin import join_study

        joined = join_study(storage, study, data=data, index=index, n_jobs=jobs)
        out.print(
            f"Ran {joined.ran} of the {joined.budget} trials of study '{joined.study}' "
            f"(worker {joined.index}, sampler seed {joined.sampler_seed})."
        )
