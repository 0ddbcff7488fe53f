"""The team tracking server's command line, auth config and databases.

Pure functions build what `attrition server start` runs: MLflow's tracking
server on a PostgreSQL backend, artifacts proxied to an object store, and the
`attrition-auth` app (basic auth plus the team's release rules) on its own
auth database. `ensure_database` creates a PostgreSQL database that is missing.
"""

from __future__ import annotations

import configparser
import io
from dataclasses import dataclass

from attrition.errors import TeamError

APP_NAME = "attrition-auth"  # the `mlflow.app` entry point of attrition.team.auth_app
ADMIN_USERNAME = "admin"
AUTH_CACHE_S = 60  # how long a worker trusts a checked password


@dataclass(frozen=True)
class ServerPlan:
    """What one team server needs: its stores, its address and its worker count."""

    backend_store_uri: str
    auth_database_uri: str
    artifacts_destination: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 4
    allowed_hosts: str | None = None


def auth_database_for(backend_store_uri: str) -> str:
    """The default auth database: `<backend database>_auth` on the same PostgreSQL server."""
    from sqlalchemy.engine import make_url

    url = make_url(backend_store_uri)
    if not url.database:
        raise TeamError("the backend store URI names no database")
    return url.set(database=f"{url.database}_auth").render_as_string(hide_password=False)


def check_plan(plan: ServerPlan) -> None:
    """Refuse stores a team server cannot share: it needs PostgreSQL and a network object store."""
    for label, uri in (
        ("backend store", plan.backend_store_uri),
        ("auth database", plan.auth_database_uri),
    ):
        if not uri.lower().startswith("postgresql"):
            raise TeamError(f"the {label} must be a postgresql:// URI, not {uri.split(':', 1)[0]}")
    if plan.backend_store_uri == plan.auth_database_uri:
        raise TeamError("the auth database must differ from the backend store")
    if "://" not in plan.artifacts_destination or plan.artifacts_destination.startswith("file:"):
        raise TeamError(
            "--artifacts-destination must be an object store URI such as s3://bucket/prefix"
        )
    if plan.workers < 1:
        raise TeamError("--workers must be at least 1")


def auth_config(
    plan: ServerPlan, default_permission: str = "READ", sign_in_cache_s: int = AUTH_CACHE_S
) -> str:
    """The basic-auth ini MLflow reads from MLFLOW_AUTH_CONFIG_PATH.

    Signed-in members without a team role read everything and change nothing.
    The admin password stays out of the file (MLFLOW_AUTH_ADMIN_PASSWORD).
    Checking a password costs a deliberately slow hash (about a second on a
    busy machine) on every request, so each worker remembers a good sign-in for
    `sign_in_cache_s`: a changed password or removed user may still sign in on
    another worker for that long.
    """
    config = configparser.ConfigParser()
    config["mlflow"] = {
        "default_permission": default_permission,
        "database_uri": plan.auth_database_uri,
        "admin_username": ADMIN_USERNAME,
        "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
        "grant_default_workspace_access": "false",
        "auth_cache_ttl_seconds": str(sign_in_cache_s),
    }
    text = io.StringIO()
    config.write(text)
    return text.getvalue()


def server_command(mlflow_bin: str, plan: ServerPlan) -> list[str]:
    """`mlflow server` with the team's app, stores and proxied artifacts."""
    command = [
        mlflow_bin,
        "server",
        "--app-name",
        APP_NAME,
        "--backend-store-uri",
        plan.backend_store_uri,
        "--serve-artifacts",
        "--artifacts-destination",
        plan.artifacts_destination,
        "--host",
        plan.host,
        "--port",
        str(plan.port),
        "--workers",
        str(plan.workers),
    ]
    if plan.allowed_hosts:
        command += ["--allowed-hosts", plan.allowed_hosts]
    return command


def ensure_database(uri: str) -> bool:
    """Create PostgreSQL database of `uri` when it is missing; True when it was created."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(uri)
    name = url.database
    if not name:
        raise TeamError("the database URI names no database")
    admin = sa.create_engine(
        url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if found:
                return False
            quoted = admin.dialect.identifier_preparer.quote(name)
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()
