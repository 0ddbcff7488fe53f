"""`attrition serve` (prediction API) and `attrition predict` (batch scoring).

Mounted on the root app with `app.registered_commands.extend(serve_app.registered_commands)`.
"""

from __future__ import annotations

import inspect
import os
import shutil
import signal
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from attrition.commands.common import (
    LogLevel,
    OneLineUsageGroup,
    check_reachable,
    err,
    fail,
    one_line_errors,
    out,
    registry_client,
    settings,
)
from attrition.redact import redact_url

serve_app = typer.Typer(
    cls=OneLineUsageGroup, help="Serve the champion model: HTTP API and batch scoring."
)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Engine(StrEnum):
    """Where `predict` scores: this process (pandas) or a Spark session."""

    PANDAS = "pandas"
    SPARK = "spark"


def _log_config(level: str) -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "loggers": {**LOGGING_CONFIG["loggers"]},
    }
    config["loggers"]["attrition"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


@serve_app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 exposes the API to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Server processes (each loads the model).", min=1)
    ] = 2,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request line (costs latency).")
    ] = False,
    log_level: Annotated[LogLevel, typer.Option(help="Server log level.")] = LogLevel.INFO,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="This server's address as the MLflow tracking server reaches it (e.g. "
            "http://10.0.0.5:8000): registers a registry webhook there, so a champion change "
            "reaches this replica in seconds instead of at the next poll.",
        ),
    ] = None,
) -> None:
    """Serve the registry's champion over HTTP (predict, batch, health, metrics)."""
    with one_line_errors():
        import uvicorn

        from attrition.serving.options import ServingOptions

        conf = settings()
        options = ServingOptions()
        if not conf.tracking_uri.startswith("sqlite"):
            # MLflow would retry an unreachable server for minutes before the API answered.
            check_reachable(conf.tracking_uri)
        if host not in LOOPBACK and not conf.api_key:
            err.print(
                "[yellow]warning:[/] binding to a non-loopback address without an API key "
                "(set ATTRITION_API_KEY)",
                highlight=False,
            )
        workdir = Path(tempfile.mkdtemp(prefix="attrition-serve-"))
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        if options.reload_signal is None:
            os.environ["ATTRITION_RELOAD_SIGNAL"] = str(workdir / "reload-signal")
        if workers > 1:
            metrics_dir = workdir / "metrics"
            metrics_dir.mkdir()
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        out.print(
            f"Prediction API on http://{host}:{port} ({workers} worker(s)): serving "
            f"{conf.model_name}@{options.serve_alias} from {redact_url(conf.tracking_uri)}; "
            f"docs at http://{host}:{port}/docs; HR app at http://{host}:{port}/app/ "
            "(Ctrl-C stops it)",
            highlight=False,
        )
        # uvicorn stops gracefully on SIGTERM, then raises it again: leave through `finally`.
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
        webhook = _register_webhook(conf, options, webhook_url) if webhook_url else None
        extra: dict[str, Any] = {}
        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters:
            # Workers import MLflow and load the model before they answer health checks.
            extra["timeout_worker_healthcheck"] = 120
        try:
            uvicorn.run(
                "attrition.api.app:create_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                access_log=access_log,
                log_config=_log_config(log_level.value.upper()),
                log_level=log_level.value,
                timeout_graceful_shutdown=30,
                server_header=False,
                **extra,
            )
        finally:
            if webhook is not None:
                _unregister_webhook(*webhook)
            shutil.rmtree(workdir, ignore_errors=True)


def _register_webhook(conf: Any, options: Any, url: str) -> tuple[Any, str] | None:
    """Subscribe this server to registry alias changes; (client, webhook id), or None and why."""
    import secrets

    from mlflow.exceptions import MlflowException

    from attrition.serving import registry_events

    poll = f"the poll every {options.reload_seconds:g} s still applies"
    target = registry_events.endpoint(url)
    if not registry_events.delivers_webhooks(conf.tracking_uri):
        err.print(
            "[yellow]warning:[/] no registry webhook: only an MLflow tracking server "
            f"(MLFLOW_TRACKING_URI=http://...) delivers them; {poll}",
            highlight=False,
        )
        return None
    secret = options.webhook_secret or secrets.token_urlsafe(32)
    os.environ["ATTRITION_WEBHOOK_SECRET"] = secret  # the server processes verify with it
    options.webhook_secret = secret
    client = registry_client(conf)
    try:
        webhook_id = registry_events.register(client, target, secret)
    except MlflowException as exc:
        reason = str(exc.message).splitlines()[0] if exc.message else type(exc).__name__
        err.print(
            f"[yellow]warning:[/] registry webhook not registered ({reason}); {poll}",
            highlight=False,
        )
        return None
    out.print(f"Registry webhook {webhook_id} calls {target} on alias changes", highlight=False)
    return client, webhook_id


def _unregister_webhook(client: Any, webhook_id: str) -> None:
    from mlflow.exceptions import MlflowException

    from attrition.serving import registry_events

    try:
        registry_events.unregister(client, webhook_id)
    except MlflowException as exc:
        err.print(f"[yellow]warning:[/] registry webhook {webhook_id} left behind: {exc.message}")


@serve_app.command("predict")
def predict(
    input_path: Annotated[
        str,
        typer.Option(
            "--input",
            help="CSV or Parquet file of employees; with --engine spark, a Parquet "
            "directory, file, glob or storage URL.",
        ),
    ],
    output_path: Annotated[
        str,
        typer.Option(
            "--output",
            help="Where scores go (.csv or .parquet; with Spark, a directory or storage URL).",
        ),
    ],
    explain: Annotated[
        bool, typer.Option("--explain", help="Add the top 3 factors per row (slow: ~2 ms a row).")
    ] = False,
    version: Annotated[
        str | None, typer.Option(help="Registered version to use instead of the champion.")
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option(help="Rows per chunk (bounds memory).", min=1)
    ] = 100_000,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish", help="Also make these scores the HR app's current population (/app/)."
        ),
    ] = False,
    engine: Annotated[
        Engine, typer.Option(help="Score here (pandas) or on a Spark session (needs the extra).")
    ] = Engine.PANDAS,
    spark_master: Annotated[
        str, typer.Option(help="Spark master URL for --engine spark.")
    ] = "local[*]",
) -> None:
    """Score a file with the Production (champion) model; bad rows go to a rejects file."""
    with one_line_errors():
        from rich.markup import escape

        from attrition.registry.governance import ChampionGuard
        from attrition.serving.batch import scoring_version
        from attrition.serving.governance import batch_admission
        from attrition.serving.manager import ModelManager
        from attrition.serving.model import load_version

        spark = engine is Engine.SPARK
        if spark and (explain or publish):
            raise fail("--explain and --publish score in this process: use --engine pandas")
        if not spark and not Path(input_path).exists():
            raise fail(f"{input_path}: no such file")
        conf = settings()
        client = registry_client(conf)
        champion = None
        if version is None:
            champion = ModelManager(conf.tracking_uri, conf.model_name).champion_version(client)
        chosen, alias = scoring_version(conf.model_name, version, champion)
        check = ChampionGuard().check(client, conf.model_name, chosen)
        warning = batch_admission(check, requested=version is not None)
        if warning:
            err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        with err.status(f"Loading {conf.model_name} version {chosen}"):
            model = load_version(client, conf.model_name, chosen, alias=alias)
        if not model.scorer.compiled:
            err.print(f"[yellow]note:[/] {model.scorer.reason}", highlight=False)
        if spark:
            summary = _score_on_spark(model, input_path, output_path, spark_master, chunk_rows)
        else:
            summary = _score_here(model, Path(input_path), Path(output_path), explain, chunk_rows)
        out.print(summary.headline(conf.model_name), highlight=False)
        if summary.rejects is not None:
            err.print(
                f"[yellow]{summary.rejected:,} row(s) rejected[/] ({summary.problems:,} "
                f"problem(s)): see {summary.rejects}",
                highlight=False,
            )
        if publish:
            _publish(conf, client, model, Path(input_path))


def _score_here(
    model: Any, input_path: Path, output_path: Path, explain: bool, chunk_rows: int
) -> Any:
    """Score the file in this process, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from attrition.serving.batch import score_file

    with Progress(
        TextColumn("Scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("score", total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        return score_file(
            model,
            input_path,
            output_path,
            explain=explain,
            chunk_rows=chunk_rows,
            progress=update,
        )


def _score_on_spark(model: Any, source: str, output: str, master: str, chunk_rows: int) -> Any:
    """Score a Parquet dataset on the active Spark session, else one started on `master`."""
    from attrition.serving.spark_batch import score_dataset, spark_session

    with err.status(f"Scoring on Spark ({master})"):
        session, started = spark_session(master)
        try:
            return score_dataset(session, model, source, output, chunk_rows=chunk_rows)
        finally:
            if started:
                session.stop()


def _publish(conf: Any, client: Any, model: Any, input_path: Path) -> None:
    """Store the scored file as the HR app's newest population batch."""
    from attrition.config import load_dataset_config
    from attrition.serving.population import (
        publish,
        read_population_file,
        score_population,
        version_semver,
    )
    from attrition.serving.prediction_store import PredictionStore

    group_by = load_dataset_config(conf.dataset_config).group_by
    with err.status("Publishing the population to the HR app"):
        population = score_population(
            model, read_population_file(input_path, model, group_by), group_by
        )
        store = PredictionStore(conf.prediction_store_url)
        try:
            batch = publish(
                store,
                population,
                model,
                source=f"attrition predict --publish {input_path.name}",
                semver=version_semver(client, model.info.name, model.info.version),
            )
        finally:
            store.dispose()
    out.print(
        f"Published as batch {batch}: the HR app (/app/) now shows these "
        f"{len(population.frame):,} employees",
        highlight=False,
    )
