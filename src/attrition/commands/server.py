"""`attrition server`: a team's shared MLflow tracking server, and its members.

`server start` runs MLflow's tracking server on PostgreSQL with artifacts proxied
to an object store and sign-in required; `server users` adds members and sets
their team role (trainer, reviewer, releaser) in the server's auth database.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from attrition.commands.common import (
    OneLineUsageGroup,
    err,
    fail,
    one_line_errors,
    out,
    settings,
    wait_or_stop,
)
from attrition.config import Settings
from attrition.errors import TeamError
from attrition.redact import redact_url

server_app = typer.Typer(cls=OneLineUsageGroup, no_args_is_help=True)
users_app = typer.Typer(cls=OneLineUsageGroup, no_args_is_help=True)
server_app.add_typer(users_app, name="users", help="Team members and their roles.")

BackendOption = Annotated[
    str | None,
    typer.Option(
        "--backend-store-uri",
        help="PostgreSQL URI of the tracking store. Default: MLFLOW_TRACKING_URI if PostgreSQL.",
    ),
]
AuthDatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--auth-database-uri",
        help="PostgreSQL URI of the users and roles database. "
        "Default: ATTRITION_AUTH_DATABASE_URI, else '<backend database>_auth'.",
    ),
]


class TeamRole(StrEnum):
    """Team roles (`team.roles.ROLES`)."""

    TRAINER = "trainer"
    REVIEWER = "reviewer"
    RELEASER = "releaser"


RoleOption = Annotated[
    TeamRole, typer.Option("--role", help="What the member may do (README, Team deployment).")
]


def _backend(conf: Settings, given: str | None) -> str:
    uri = given or conf.tracking_uri
    if not uri.lower().startswith("postgresql"):
        raise TeamError(
            "a team server needs a PostgreSQL backend: pass --backend-store-uri postgresql://..."
        )
    return uri


def _auth_database(conf: Settings, backend: str | None, given: str | None) -> str:
    from attrition.team.server import auth_database_for

    if given or conf.auth_database_uri:
        return str(given or conf.auth_database_uri)
    if not (backend or conf.tracking_uri).lower().startswith("postgresql"):
        raise TeamError(
            "name the auth database: --auth-database-uri postgresql://... "
            "(or ATTRITION_AUTH_DATABASE_URI, or the server's --backend-store-uri)"
        )
    return auth_database_for(_backend(conf, backend))


@server_app.command("start")
def start(
    artifacts_destination: Annotated[
        str,
        typer.Option(
            "--artifacts-destination", help="Object store the server proxies artifacts to."
        ),
    ],
    backend_store_uri: BackendOption = None,
    auth_database_uri: AuthDatabaseOption = None,
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the tracking server.")] = 5000,
    workers: Annotated[int, typer.Option(help="Server worker processes.")] = 4,
    allowed_hosts: Annotated[
        str | None,
        typer.Option(
            help="Host names clients may use (MLflow's --allowed-hosts), comma-separated."
        ),
    ] = None,
) -> None:
    """Start the team's MLflow tracking server (sign-in required; Ctrl-C or SIGTERM stops it)."""
    with one_line_errors():
        from attrition.serving.lifetime import parent_death_signal
        from attrition.team.server import (
            ADMIN_USERNAME,
            ServerPlan,
            auth_config,
            check_plan,
            ensure_database,
            server_command,
        )
        from attrition.team.users import ensure_roles, open_store

        conf = settings()
        backend = _backend(conf, backend_store_uri)
        plan = ServerPlan(
            backend_store_uri=backend,
            auth_database_uri=_auth_database(conf, backend, auth_database_uri),
            artifacts_destination=artifacts_destination,
            host=host,
            port=port,
            workers=workers,
            allowed_hosts=allowed_hosts,
        )
        check_plan(plan)
        for uri in (plan.backend_store_uri, plan.auth_database_uri):
            if ensure_database(uri):
                err.print(f"created database {redact_url(uri)}", highlight=False)
        # Set up the auth schema, the admin and the roles once here, not in every worker.
        store = open_store(plan.auth_database_uri)
        if not store.has_user(ADMIN_USERNAME):
            password = os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD")
            if not password:
                raise TeamError(
                    "set MLFLOW_AUTH_ADMIN_PASSWORD: the first start creates the admin account"
                )
            store.create_user(ADMIN_USERNAME, password, is_admin=True)
        ensure_roles(store)
        store.engine.dispose()

        folder = Path(tempfile.mkdtemp(prefix="attrition-server-"))
        config = folder / "auth.ini"
        config.touch(mode=0o600)
        config.write_text(auth_config(plan))
        env = dict(os.environ, MLFLOW_AUTH_CONFIG_PATH=str(config))
        # MLflow's job runner serves GenAI evaluation jobs, which attrition does not use;
        # left off it saves processes and start-up time (set the variable to turn it on).
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        if not env.get("MLFLOW_FLASK_SERVER_SECRET_KEY"):
            # One key shared by this server's workers; several servers need the same one set.
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = secrets.token_hex(32)
        mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
        if not Path(mlflow_bin).exists():
            mlflow_bin = shutil.which("mlflow") or "mlflow"
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        out.print(
            f"Team tracking server on http://{shown}:{port} (Ctrl-C to stop); backend "
            f"{redact_url(plan.backend_store_uri)}, artifacts {plan.artifacts_destination}",
            highlight=False,
        )
        try:
            # Its own process group: MLflow's workers are stopped together with it.
            process = subprocess.Popen(
                server_command(mlflow_bin, plan),
                env=env,
                start_new_session=True,
                preexec_fn=parent_death_signal,
            )
            code = wait_or_stop(process)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if code:
            raise fail(f"mlflow server exited with code {code}")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name of the new member.")],
    role: RoleOption,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="ATTRITION_USER_PASSWORD",
            help="Password (prompted when not given; or ATTRITION_USER_PASSWORD).",
        ),
    ],
    auth_database_uri: AuthDatabaseOption = None,
    backend_store_uri: BackendOption = None,
) -> None:
    """Add a team member with a role."""
    with one_line_errors():
        from attrition.team.users import add_member, open_store

        store = open_store(_auth_database(settings(), backend_store_uri, auth_database_uri))
        member = add_member(store, name, password, role.value)
        out.print(f"added {member.name} as {member.role}", highlight=False)


@users_app.command("set-role")
def users_set_role(
    name: Annotated[str, typer.Argument(help="Sign-in name of the member.")],
    role: RoleOption,
    auth_database_uri: AuthDatabaseOption = None,
    backend_store_uri: BackendOption = None,
) -> None:
    """Change a member's role."""
    with one_line_errors():
        from attrition.team.users import open_store, set_role

        store = open_store(_auth_database(settings(), backend_store_uri, auth_database_uri))
        member = set_role(store, name, role.value)
        out.print(f"{member.name} is now {member.role}", highlight=False)


@users_app.command("list")
def users_list(
    auth_database_uri: AuthDatabaseOption = None,
    backend_store_uri: BackendOption = None,
) -> None:
    """List the members and their roles."""
    with one_line_errors():
        from rich.table import Table

        from attrition.team.users import members, open_store

        store = open_store(_auth_database(settings(), backend_store_uri, auth_database_uri))
        table = Table("user", "role", "admin")
        for member in members(store):
            table.add_row(
                member.name, member.role or "(read only)", "yes" if member.is_admin else ""
            )
        out.print(table)
