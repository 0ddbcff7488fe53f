"""`attrition tune-worker`: one more worker on a shared search study (`train --study-storage`).

A shared study lives in an Optuna RDB storage (`postgresql://…`, `sqlite:///…`).
`train --study-storage URL --workers N` makes the study and runs N local worker
processes on it; `tune-worker --study NAME --storage URL` adds a worker from any
machine that reaches the storage, rebuilding the problem from what the study records.
"""

from __future__ import annotations

from typing import Annotated

import typer

from attrition.commands.common import one_line_errors, out

tune_app = typer.Typer()


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
