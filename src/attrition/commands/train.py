"""`attrition train`: train, evaluate and log a model run, then register it as a version."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from attrition.commands.common import (
    ConfigOption,
    DataOption,
    Mitigation,
    ModelFamily,
    PolicyName,
    current_actor,
    fail,
    one_line_errors,
    out,
    progress_bar,
    registry_client,
    settings,
)
from attrition.config import load_dataset_config, load_gate_thresholds
from attrition.redact import redact_url

train_app = typer.Typer()

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


GENERATED_ROWS = 3000


@train_app.command()
def train(
    data: DataOption = None,
    config: ConfigOption = None,
    trials: Annotated[
        int | None,
        typer.Option(help="Hyper-parameter search budget (Optuna trials). Default: 40.", min=1),
    ] = None,
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment name.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the split, search and model.")] = 42,
    mitigate: Annotated[
        Mitigation | None,
        typer.Option(help="Also judge a Fairlearn exponentiated-gradient candidate."),
    ] = None,
    gates: Annotated[Path | None, typer.Option(help="Gate thresholds (YAML).")] = None,
    model_family: Annotated[
        ModelFamily,
        typer.Option(help="Model family to search; auto searches every family."),
    ] = ModelFamily.AUTO,
    fairness_policy: Annotated[
        PolicyName | None,
        typer.Option(
            help="Fairness policy the candidates are judged under. "
            "Default: the gates file's fairness_policy, else seed."
        ),
    ] = None,
    no_profile: Annotated[
        bool, typer.Option("--no-profile", help="Skip the data profile.")
    ] = False,
    log_trials: Annotated[
        bool, typer.Option("--log-trials", help="Also log each search trial as a nested run.")
    ] = False,
    note: Annotated[
        str | None, typer.Option("--note", help="A note for the changelog of the new version.")
    ] = None,
    addresses: Annotated[
        str | None,
        typer.Option("--addresses", help="The rejected version this training answers."),
    ] = None,
    study_storage: StorageOption = None,
    workers: WorkersOption = 1,
    study: StudyNameOption = None,
) -> None:
    """Train, evaluate and log a model run; register it as a new version."""
    with one_line_errors():
        from attrition.data.load import load_table
        from attrition.training.preflight import prepare_store
        from attrition.training.run import TrainOptions, run_training

        conf = settings()
        check_storage(study_storage, workers, conf.tracking_uri)
        if addresses:
            from attrition.registry.versions import REVIEW_TAG, get_version

            answered = get_version(registry_client(conf), conf.model_name, addresses)
            if (answered.tags or {}).get(REVIEW_TAG) != "rejected":
                raise fail(
                    f"version {addresses} was not rejected in review: record why first "
                    f"(attrition review --version {addresses} --reject --reason '...')"
                )
        dataset = load_dataset_config(config or conf.dataset_config)
        thresholds = load_gate_thresholds(gates or conf.gates_config)
        if data is None:
            from attrition.data.generate import generate_employees

            frame = generate_employees(GENERATED_ROWS, seed=seed)
            source = f"generated:{GENERATED_ROWS}"
        else:
            frame, source = load_table(data, table=dataset.table), redact_url(data)
        prepare_store(conf, experiment or conf.experiment)  # before the search, not after it
        from attrition.training.search import DEFAULT_TRIALS

        policy, chosen_by = policy_choice(fairness_policy, thresholds.fairness_policy)

        tuning = None
        if study_storage is not None:
            from attrition.training.workers import Tuning

            tuning = Tuning(
                storage=study_storage,
                study_name=study or study_name(experiment or conf.experiment, seed),
                workers=workers,
                data=data_location(data, GENERATED_ROWS),
            )
        options = TrainOptions(
            trials=trials or DEFAULT_TRIALS,
            seed=seed,
            experiment=experiment or conf.experiment,
            mitigate=mitigate.value if mitigate else None,
            profile=not no_profile,
            model_family=model_family.value,
            fairness_policy=policy,
            policy_chosen_by=chosen_by,
            log_trials=log_trials,
            note=note,
            addresses=addresses,
            user=current_actor(),
            tuning=tuning,
        )
        with progress_bar() as update:
            outcome = run_training(frame, source, dataset, thresholds, conf, options, update)
        table = Table(
            title=f"{outcome.model_name} version {outcome.version} ({outcome.model_kind})"
        )
        table.add_column("metric")
        table.add_column("cross-validation", justify="right")
        table.add_column("test", justify="right")
        for name, value in outcome.test_metrics.items():
            table.add_row(name, f"{outcome.cv_metrics[name]:.3f}", f"{value:.3f}")
        out.print(table)
        if outcome.frontier_line:
            out.print(outcome.frontier_line)
        if tuning is not None:
            out.print(
                f"Search study '{tuning.study_name}' in {redact_url(tuning.storage)} "
                f"({tuning.workers} worker{'s' if tuning.workers > 1 else ''})."
            )
        out.print(
            f"Run {outcome.run_id} registered as version {outcome.version} "
            f"(threshold {outcome.threshold:.3f}) in {outcome.seconds:.0f} s.\n"
            f"Look at it: attrition ui  (MLflow UI on http://127.0.0.1:5001)"
        )


def policy_choice(flag: PolicyName | None, gates_file: str | None) -> tuple[str | None, str]:
    """The fairness policy for training and who chose it: the flag, else the gates file."""
    if flag is not None:
        return flag.value, "train --fairness-policy"
    if gates_file:
        return gates_file, "gates file"
    return None, "default"
