"""What every command shares: consoles, settings, options, progress, and one-line errors.

Commands read settings once, call the core, and print. Every failure ends in one
line on stderr and exit code 1, never a traceback (ATTRITION_DEBUG=1 shows it); a
bad or missing option value is one line too, with the usage-error exit code 2.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from attrition.config import Settings
from attrition.errors import AttritionError
from attrition.redact import install_log_redaction, redact_text, redact_url

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


class Stage(StrEnum):
    """Registry stages a version can be moved to (`registry.versions.STAGES`)."""

    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


class Mitigation(StrEnum):
    """Fairness mitigation constraints (`mitigation.CONSTRAINTS`)."""

    DEMOGRAPHIC_PARITY = "demographic_parity"
    EQUALIZED_ODDS = "equalized_odds"


class ModelFamily(StrEnum):
    """Model families `train` may search (`pipeline.KINDS`); auto searches them all."""

    AUTO = "auto"
    LOGREG = "logreg"
    LIGHTGBM = "lightgbm"


class PolicyName(StrEnum):
    """Named fairness policies (`fairness.policy.POLICIES`)."""

    SEED = "seed"
    ASSISTIVE = "assistive"
    PUNITIVE = "punitive"


class Period(StrEnum):
    """Calendar periods realised performance is grouped by (`monitor.segments.PERIODS`)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class LogLevel(StrEnum):
    """Log levels of the prediction server."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


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
ModelNameOption = Annotated[
    str | None,
    typer.Option("--name", "--model-name", help="Registered model name. Default: settings."),
]

# Piped output (logs, CI, scripts) gets wide tables instead of truncated cells.
_WIDTH = None if sys.stdout.isatty() else 160
out = Console(soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=_WIDTH)


def settings() -> Settings:
    """Read settings once per command.

    Also keeps MLflow's note on each new database engine out of the command's output:
    errors and results stay the only lines a command prints.
    """
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    return Settings()


def current_actor() -> str:
    """Who is acting, as recorded in the audit trail: the MLflow user signed in to a
    tracking server (MLFLOW_TRACKING_USERNAME), else the operating-system user."""
    signed_in = os.environ.get("MLFLOW_TRACKING_USERNAME", "").strip()
    if signed_in:
        return signed_in
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def fail(message: str) -> typer.Exit:
    """Print one line to stderr and return the exit to raise."""
    err.print(
        f"[bold red]error:[/] {escape(redact_text(message))}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code=1)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn any failure inside a command into one line and exit code 1."""
    from mlflow.exceptions import MlflowException

    install_log_redaction()  # no password in any log line of the command
    try:
        yield
    except typer.Exit:
        raise
    except (AttritionError, FileNotFoundError, PermissionError) as exc:
        raise fail(first_line(exc)) from None
    except MlflowException as exc:
        if exc.get_http_status_code() == 403 or "error code 403" in str(exc):
            raise fail(f"the tracking server refused: {_refused_request(exc)}") from None
        raise fail(f"MLflow: {first_line(exc)}") from None
    except KeyboardInterrupt:
        raise fail("interrupted") from None
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("ATTRITION_DEBUG"):
            raise
        raise fail(
            f"{type(exc).__name__}: {first_line(exc)} (set ATTRITION_DEBUG=1 for details)"
        ) from None


def _refused_request(exc: BaseException) -> str:
    """What a tracking server refused (HTTP 403), in words for the person signed in."""
    import re

    endpoint = re.search(r"endpoint (\S+)", str(exc))
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or "this user"
    what = endpoint.group(1) if endpoint else "the request"
    return f"{user} may not call {what} (its team role does not cover it)"


class OneLineUsageGroup(TyperGroup):
    """A command group whose commands report a bad or missing option value in one line.

    Typer would print the usage, a hint and a boxed message; the rest of the CLI
    speaks in one line, so this does too, keeping the usage-error exit code (2).
    """

    def invoke(self, ctx: Any) -> Any:
        # A subcommand parses its options inside its group's invoke.
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:
            # The choice list of a missing option is spread over indented lines, and
            # Typer's value check puts pydantic's "Value error, " before its sentence.
            message = " ".join(exc.format_message().replace("Value error, ", "").split())
            if exc.ctx is not None:
                message = f"{message.rstrip('.')} (see '{exc.ctx.command_path} --help')"
            err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
            raise typer.Exit(code=exc.exit_code) from None


@contextmanager
def progress_bar() -> Iterator[Callable[[str, float | None], None]]:
    """A Rich progress bar driven by (message, fraction or None) updates."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("Starting", total=1.0)

        def update(message: str, fraction: float | None) -> None:
            bar.update(task, description=message, completed=fraction)

        yield update
        bar.update(task, description="Done", completed=1.0)


def check_reachable(uri: str) -> None:
    """Fail fast with one line instead of MLflow's minutes of retries on a dead store."""
    from sqlalchemy.engine import make_url

    from attrition.errors import RegistryError

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
                f"tracking store {redact_url(uri)} is "
                f"unreachable: {first_line(getattr(exc, 'orig', None) or exc)}"
            ) from None
        finally:
            engine.dispose()
    elif scheme in ("http", "https"):
        import httpx

        try:
            httpx.get(uri.rstrip("/") + "/health", timeout=5)
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"tracking server {redact_url(uri)} is unreachable: {exc}"
            ) from None


def registry_client(conf: Settings) -> MlflowClient:
    """A client on the configured store, after checking that the store answers."""
    from attrition import tracking

    # MLflow's per-file download bars would bury the tables on the terminal.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    check_reachable(conf.tracking_uri)
    return tracking.client_for(conf.tracking_uri)


class _Stopped(Exception):
    """This command got SIGTERM or SIGHUP."""


def wait_or_stop(process: subprocess.Popen[bytes]) -> int:
    """Wait for a server started in its own process group; stop the whole group on Ctrl-C,
    SIGTERM or SIGHUP. Returns the server's exit code, 0 when this command stopped it."""
    import signal

    def stop(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        return process.wait()
    except (KeyboardInterrupt, _Stopped):
        stop_group(process)
        return 0


def stop_group(process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    """SIGTERM to the child's whole process group; SIGKILL to what is left after `timeout_s`."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout_s)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers that ignored SIGTERM
    process.wait()
