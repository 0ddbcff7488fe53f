"""The `attrition` command: one Typer app assembled from the command modules.

Each command lives in `attrition.commands.<group>`; this module only mounts
them. Every failure ends in one line on stderr and a non-zero exit, never a
traceback: 1 for a failure, 2 for a mistake on the command line.
"""

from __future__ import annotations

import sys

import typer

from attrition.commands.common import OneLineUsageGroup
from attrition.commands.data import data_app
from attrition.commands.doctor import doctor_app
from attrition.commands.maintenance import maintenance_app
from attrition.commands.models import models_app
from attrition.commands.monitor import monitor_app
from attrition.commands.review import review_app
from attrition.commands.serve import serve_app
from attrition.commands.server import server_app
from attrition.commands.train import train_app
from attrition.commands.tune import tune_app
from attrition.commands.ui import ui_app
from attrition.commands.verify import verify_app
from attrition.commands.versions import versions_app
from attrition.redact import install_log_redaction

app = typer.Typer(
    cls=OneLineUsageGroup,
    help="Employee attrition: train, review, promote, serve and monitor models in MLflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_app, name="data")
for commands in (train_app, tune_app, review_app, serve_app, doctor_app, ui_app):
    app.registered_commands.extend(commands.registered_commands)
models_app.registered_commands.extend(versions_app.registered_commands)
models_app.registered_commands.extend(verify_app.registered_commands)
app.add_typer(models_app, name="models", help="Registry: list, describe, transition, rollback.")
app.add_typer(monitor_app, name="monitor", help="Drift, realised performance, the scheduled job.")
app.add_typer(maintenance_app, name="maintenance", help="Store status, gc, archives, indexes.")
app.add_typer(server_app, name="server", help="A team's shared tracking server and its members.")


def main() -> None:
    """Console entry point."""
    install_log_redaction()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
