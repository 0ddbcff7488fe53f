"""`attrition models`: list, describe, gated stage transitions and rollback.

Thin layer: read settings once, call `attrition.registry`, print Rich tables.
Every failure is one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from attrition.config import ConfigError, Settings, load_gate_thresholds

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from attrition.gates import GateReport

models_app = typer.Typer(
    help="Registry: list, describe, promote through quality gates, roll back.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


def settings() -> Settings:
    """Read settings once per command."""
    return Settings()


def current_actor() -> str:
    """Who is acting: the operating-system user (recorded in the audit trail)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def _one_line_errors() -> Iterator[None]:
    from mlflow.exceptions import MlflowException

    from attrition.registry import RegistryError

    try:
        yield
    except typer.Exit:
        raise
    except (RegistryError, ConfigError) as exc:
        raise _fail(_first_line(exc)) from None
    except MlflowException as exc:
        raise _fail(f"MLflow: {_first_line(exc)}") from None
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("ATTRITION_DEBUG"):
            raise
        raise _fail(
            f"{type(exc).__name__}: {_first_line(exc)} (set ATTRITION_DEBUG=1 for details)"
        ) from None


def _check_reachable(uri: str) -> None:
    """Fail fast with one line instead of MLflow's minutes of retries on a dead store."""
    from sqlalchemy.engine import make_url

    from attrition.registry import RegistryError

    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme.startswith("sqlite"):
        database = make_url(uri).database
        if database and database != ":memory:" and not Path(database).exists():
            raise RegistryError(
                f"no MLflow store at {database} (train a model first, or set MLFLOW_TRACKING_URI)"
            )
    elif scheme.startswith(("postgres", "mysql", "mssql")):
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        args = {"connect_timeout": 5} if scheme.startswith("postgres") else {}
        engine = sa.create_engine(uri, poolclass=NullPool, connect_args=args)
        try:
            with engine.connect():
                pass
        except Exception as exc:
            raise RegistryError(
                f"tracking store {make_url(uri).render_as_string(hide_password=True)} is "
                f"unreachable: {_first_line(getattr(exc, 'orig', None) or exc)}"
            ) from None
        finally:
            engine.dispose()
    elif scheme in ("http", "https"):
        import httpx

        try:
            httpx.get(uri.rstrip("/") + "/health", timeout=5)
        except httpx.HTTPError as exc:
            raise RegistryError(f"tracking server {uri} is unreachable: {exc}") from None


def _client(conf: Settings) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    # MLflow's per-file download bars would bury the gate table on the terminal.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    _check_reachable(conf.tracking_uri)
    return MlflowClient(tracking_uri=conf.tracking_uri, registry_uri=conf.tracking_uri)


def _when(value: int | str | None) -> str:
    if value in (None, "", 0):
        return ""
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    return str(value)[:19].replace("T", " ")


def _num(value: Any, spec: str = ".3f") -> str:
    if isinstance(value, float):
        return format(value, spec)
    return "" if value is None else str(value)


def _verdict(passed: bool | None) -> str:
    if passed is None:
        return "[dim]info[/]"
    return "[green]pass[/]" if passed else "[red]FAIL[/]"


def gate_table(report: GateReport) -> Table:
    """Every gate of one transition attempt, with value, threshold and verdict."""
    table = Table(
        title=f"{report.model_name} v{report.version}: {report.from_stage} -> {report.target_stage}"
    )
    for column in ("gate", "value", "threshold", "result", "detail"):
        table.add_column(column, overflow="fold")
    for r in report.results:
        threshold = f"{r.comparison or ''} {_num(r.threshold, 'g')}".strip()
        table.add_row(r.name, _num(r.value), threshold, _verdict(r.passed), r.message)
    return table


ModelName = Annotated[str | None, typer.Option("--name", help="Registered model name.")]


@models_app.command("list")
def list_models() -> None:
    """Every registered model: versions with stage, aliases, run and test ROC AUC."""
    with _one_line_errors():
        from attrition.registry import version_rows

        client = _client(settings())
        models = client.search_registered_models()
        if not models:
            out.print("No registered models yet: run `attrition train`.")
            return
        for model in models:
            table = Table(title=model.name)
            for column in (
                "version",
                "stage",
                "aliases",
                "created (UTC)",
                "run id",
                "test ROC AUC",
            ):
                table.add_column(column)
            for row in version_rows(client, model.name):
                table.add_row(
                    row.version,
                    row.stage,
                    ", ".join(row.aliases),
                    _when(row.created),
                    row.run_id or "",
                    _num(row.test_roc_auc),
                )
            out.print(table)


@models_app.command("describe")
def describe(name: ModelName = None) -> None:
    """One model's versions, stages, aliases, latest gate results and audit trail."""
    with _one_line_errors():
        from attrition.audit import latest_gate_reports, read_trail
        from attrition.registry import REVIEW_TAG, version_rows

        conf = settings()
        name = name or conf.model_name
        client = _client(conf)
        rows = version_rows(client, name)
        table = Table(title=f"{name}: versions")
        for column in (
            "version",
            "stage",
            "aliases",
            "created (UTC)",
            "test ROC AUC",
            "review",
            "run id",
        ):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row.version,
                row.stage,
                ", ".join(row.aliases),
                _when(row.created),
                _num(row.test_roc_auc),
                row.tags.get(REVIEW_TAG, ""),
                row.run_id or "",
            )
        out.print(table)

        gates = Table(title=f"{name}: latest gate results per version and target stage")
        for column in (
            "version",
            "to",
            "when (UTC)",
            "outcome",
            "gates",
            "failing gates (value vs threshold)",
        ):
            gates.add_column(column, overflow="fold")
        for row in rows:
            for stage, report in sorted(latest_gate_reports(row.tags).items()):
                failing = [
                    f"{r['name']}={_num(r['value'])} "
                    f"(needs {r['comparison'] or ''} {_num(r['threshold'], 'g')})"
                    for r in report.get("results", [])
                    if r.get("passed") is False
                ]
                gated = [r for r in report.get("results", []) if r.get("passed") is not None]
                ok = sum(1 for r in gated if r.get("passed"))
                gates.add_row(
                    row.version,
                    stage,
                    _when(report.get("timestamp")),
                    report.get("outcome", ""),
                    f"{ok}/{len(gated)} passed",
                    "; ".join(failing),
                )
        out.print(gates)

        trail = Table(title=f"{name}: audit trail")
        trail.add_column("when (UTC)", no_wrap=True)
        trail.add_column("who", no_wrap=True)
        trail.add_column("v", no_wrap=True)
        for column in ("change", "outcome", "why"):
            trail.add_column(column, overflow="fold")
        for event in read_trail(client, name):
            outcome = event.outcome + (" (forced)" if event.forced else "")
            if event.gates:
                outcome += f"; {event.gates.split(' (')[0]}"
            trail.add_row(
                _when(event.at),
                event.actor,
                event.version,
                f"{event.action}: {event.from_stage} -> {event.to_stage}",
                outcome,
                event.reason or "",
            )
        out.print(trail)


@models_app.command("transition-stage")
def transition_stage(
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Registered model name.")
    ] = None,
    version: Annotated[str, typer.Option("--version", help="Model version number.")] = "",
    stage: Annotated[str, typer.Option("--stage", help="Staging, Production or Archived.")] = "",
    force: Annotated[
        bool, typer.Option("--force", help="Override failing gates (needs --reason).")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
    ] = None,
    first_deployment: Annotated[
        bool,
        typer.Option("--first-deployment", help="Allow Production without a rollback target."),
    ] = False,
) -> None:
    """Move a version to a stage through its quality gates; refused if any gate fails."""
    with _one_line_errors():
        from attrition.registry import TransitionRefused, normalise_stage, transition

        if not version.strip():
            raise _fail("--version is required")
        if not stage.strip():
            raise _fail("--stage is required (Staging, Production or Archived)")
        target = normalise_stage(stage)
        if force and not (reason and reason.strip()):
            raise _fail("--force needs --reason: say why the gates are overridden")
        conf = settings()
        thresholds = load_gate_thresholds(conf.gates_config)
        client = _client(conf)
        name = model_name or conf.model_name
        try:
            report = transition(
                client,
                name,
                version,
                target,
                thresholds=thresholds,
                actor=current_actor(),
                force=force,
                reason=reason,
                first_deployment=first_deployment,
            )
        except TransitionRefused as refused:
            out.print(gate_table(refused.report))
            for r in refused.report.failures:
                threshold = f"{r.comparison or ''} {_num(r.threshold, 'g')}".strip()
                err.print(
                    f"refused: {r.name} = {_num(r.value) or 'missing'} "
                    f"(needs {threshold}): {r.message}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
            raise _fail(
                f"version {version} of {name} stays in {refused.report.from_stage}: "
                f"{len(refused.report.failures)} gate(s) failed (override: --force --reason '...')"
            ) from None
        if report.results:
            out.print(gate_table(report))
        forced = f", forced: {report.reason}" if report.forced else ""
        summary = f" ({report.summary()}{forced})" if report.results else ""
        out.print(f"{name} version {version}: {report.from_stage} -> {target}{summary}")


@models_app.command("rollback")
def rollback_command(
    name: ModelName = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
    ] = None,
) -> None:
    """Put the previous Production version back; the current one is archived."""
    with _one_line_errors():
        from attrition.registry import rollback

        conf = settings()
        client = _client(conf)
        model = name or conf.model_name
        restored, archived = rollback(client, model, actor=current_actor(), reason=reason)
        was = f" (version {archived} archived)" if archived else ""
        out.print(f"{model}: version {restored} is back in Production as @champion{was}")
