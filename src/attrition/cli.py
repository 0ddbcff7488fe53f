"""The `attrition` command: one Typer app with sub-apps per lifecycle stage.

Commands parse options, read settings once, call the core and print. Every
failure ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from attrition.commands.common import err, fail, one_line_errors, out, progress_bar, settings
from attrition.config import load_dataset_config, load_gate_thresholds

app = typer.Typer(
    help="Employee attrition: train, review, promote, serve and monitor models in MLflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Generate and validate HR data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _mount_sub_apps() -> None:
    """Sub-apps that live beside their stage's code."""
    from attrition.commands.models import models_app
    from attrition.commands.monitor import monitor_app
    from attrition.commands.review import review_app
    from attrition.commands.serve import serve_app

    app.add_typer(models_app, name="models", help="Registry: list, describe, transition, rollback.")
    app.add_typer(
        monitor_app, name="monitor", help="Drift, realised performance, the scheduled job."
    )
    app.registered_commands.extend(review_app.registered_commands)
    app.registered_commands.extend(serve_app.registered_commands)


_mount_sub_apps()

DataOption = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="CSV or Parquet file, or an SQLAlchemy URL with '#table'. Default: generated data.",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Dataset config (YAML). Default: the IBM HR schema."),
]


@data_app.command("generate")
def data_generate(
    out_path: Annotated[
        Path, typer.Option("--out", help="Where to write the CSV or Parquet file.")
    ],
    rows: Annotated[int, typer.Option(help="Number of employees.", min=1)] = 1470,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 0,
) -> None:
    """Write synthetic employees in the IBM HR schema."""
    with one_line_errors():
        from attrition.data.generate import generate_employees
        from attrition.data.load import write_table

        start = time.perf_counter()
        with err.status(f"Generating {rows:,} employees"):
            frame = generate_employees(rows, seed=seed)
            write_table(frame, out_path)
        rate = (frame["Attrition"] == "Yes").mean()
        out.print(
            f"Wrote {len(frame):,} employees to {out_path} "
            f"(leaver rate {rate:.1%}) in {time.perf_counter() - start:.1f} s"
        )


@data_app.command("validate")
def data_validate(
    path: Annotated[
        str, typer.Argument(help="CSV or Parquet file, or an SQLAlchemy URL with '#table'.")
    ],
    config: ConfigOption = None,
) -> None:
    """Check schema and data quality; exit 1 listing every problem."""
    with one_line_errors():
        from attrition.data.load import load_table
        from attrition.data.validate import validate_frame

        dataset = load_dataset_config(config)
        frame = load_table(path, table=dataset.table)
        report = validate_frame(frame, dataset, path)
        if not report.ok:
            for problem in report.problems:
                err.print(f"  - {problem}", highlight=False)
            raise fail(report.summary())
        out.print(report.summary())


@app.command()
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
        str | None,
        typer.Option(help="Fairness mitigation: demographic_parity or equalized_odds."),
    ] = None,
    gates: Annotated[Path | None, typer.Option(help="Gate thresholds (YAML).")] = None,
    no_profile: Annotated[
        bool, typer.Option("--no-profile", help="Skip the data profile.")
    ] = False,
) -> None:
    """Train, evaluate and log a model run; register it as a new version."""
    with one_line_errors():
        from attrition.data.load import load_table
        from attrition.training_run import TrainOptions, run_training

        if mitigate not in (None, "demographic_parity", "equalized_odds"):
            raise fail(
                f"--mitigate: unknown value '{mitigate}' (use demographic_parity or equalized_odds)"
            )
        conf = settings()
        dataset = load_dataset_config(config or conf.dataset_config)
        thresholds = load_gate_thresholds(gates or conf.gates_config)
        if data is None:
            from attrition.data.generate import generate_employees

            frame, source = generate_employees(3000, seed=seed), "generated:3000"
        else:
            frame, source = load_table(data, table=dataset.table), data
        from attrition.train import DEFAULT_TRIALS

        options = TrainOptions(
            trials=trials or DEFAULT_TRIALS,
            seed=seed,
            experiment=experiment or conf.experiment,
            mitigate=mitigate,
            profile=not no_profile,
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
        out.print(
            f"Run {outcome.run_id} registered as version {outcome.version} "
            f"(threshold {outcome.threshold:.3f}) in {outcome.seconds:.0f} s.\n"
            f"Look at it: attrition ui  (MLflow UI on http://127.0.0.1:5001)"
        )


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


@app.command()
def doctor() -> None:
    """Check the tracking store, artifact location and registry; suggest fixes."""
    with one_line_errors():
        from attrition.doctor import diagnose

        conf = settings()
        checks = diagnose(conf.tracking_uri, conf.artifact_location, conf.model_name)
        table = Table(title="attrition doctor")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for check in checks:
            status = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
            table.add_row(check.name, status, check.detail, check.fix)
        out.print(table)
        failed = [c.name for c in checks if not c.ok]
        if failed:
            raise fail(f"{len(failed)} check(s) failed: {', '.join(failed)}")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the MLflow UI.")] = 5001,
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
) -> None:
    """Start the MLflow UI on the project's tracking store (Ctrl-C stops it)."""
    with one_line_errors():
        import shutil
        import signal
        import subprocess

        from attrition import tracking

        conf = settings()
        mlflow_bin = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
        command = [
            mlflow_bin,
            "server",
            "--workers",
            "2",
            "--backend-store-uri",
            conf.tracking_uri,
            "--host",
            host,
            "--port",
            str(port),
        ]
        root = tracking.local_artifact_root(conf.tracking_uri, conf.artifact_location)
        if root:
            command += ["--default-artifact-root", root]
        out.print(f"MLflow UI on http://{host}:{port} for {conf.tracking_uri} (Ctrl-C to stop)")
        # Its own process group: mlflow server starts several workers, stopped together.
        process = subprocess.Popen(command, start_new_session=True)
        try:
            code = process.wait()
        except KeyboardInterrupt:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
            code = 0
        if code:
            raise fail(f"mlflow server exited with code {code}")
