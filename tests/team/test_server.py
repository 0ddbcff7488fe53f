"""The team server's plan: auth config, command line, checks, and its databases."""

from __future__ import annotations

import configparser
import uuid

import pytest
from tests.registry.fixtures import PG_SERVER, postgres_reachable

from attrition.errors import TeamError
from attrition.team.auth_app import guarded_routes
from attrition.team.server import (
    APP_NAME,
    ServerPlan,
    auth_config,
    auth_database_for,
    check_plan,
    ensure_database,
    server_command,
)

BACKEND = "postgresql://mlflow:secret@db.internal:5432/attrition"


def plan(**changes: object) -> ServerPlan:
    fields: dict[str, object] = {
        "backend_store_uri": BACKEND,
        "auth_database_uri": auth_database_for(BACKEND),
        "artifacts_destination": "s3://bucket/prefix",
    }
    return ServerPlan(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_auth_database_sits_beside_the_backend() -> None:
    assert (
        auth_database_for(BACKEND) == "postgresql://mlflow:secret@db.internal:5432/attrition_auth"
    )
    with pytest.raises(TeamError, match="names no database"):
        auth_database_for("postgresql://db.internal")


def test_the_auth_config_is_what_mlflow_reads() -> None:
    config = configparser.ConfigParser()
    config.read_string(auth_config(plan(), sign_in_cache_s=30))
    section = config["mlflow"]
    assert section["database_uri"].endswith("/attrition_auth")
    assert section["default_permission"] == "READ"
    assert section["admin_username"] == "admin"
    assert section["auth_cache_ttl_seconds"] == "30"
    assert "admin_password" not in section


def test_the_command_runs_the_team_app_with_proxied_artifacts() -> None:
    command = server_command("mlflow", plan(host="0.0.0.0", port=5050, workers=3))
    joined = " ".join(command)
    assert command[:2] == ["mlflow", "server"]
    assert f"--app-name {APP_NAME}" in joined
    assert "--serve-artifacts --artifacts-destination s3://bucket/prefix" in joined
    assert "--host 0.0.0.0 --port 5050 --workers 3" in joined
    assert "--allowed-hosts" not in joined
    assert "--allowed-hosts a.internal:5050" in " ".join(
        server_command("mlflow", plan(allowed_hosts="a.internal:5050"))
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backend_store_uri": "sqlite:///mlflow.db"}, "backend store must be a postgresql"),
        ({"auth_database_uri": "sqlite:///auth.db"}, "auth database must be a postgresql"),
        ({"auth_database_uri": BACKEND}, "must differ from the backend"),
        ({"artifacts_destination": "./mlartifacts"}, "object store URI"),
        ({"artifacts_destination": "file:///srv/artifacts"}, "object store URI"),
        ({"workers": 0}, "at least 1"),
    ],
)
def test_plans_a_team_cannot_share_are_refused(changes: dict[str, object], message: str) -> None:
    check_plan(plan())
    with pytest.raises(TeamError, match=message):
        check_plan(plan(**changes))


def test_the_rules_watch_both_api_prefixes() -> None:
    routes = guarded_routes()
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        assert routes[(f"{prefix}/registered-models/alias", "POST")] == "SetRegisteredModelAlias"
        assert routes[(f"{prefix}/registered-models/alias", "DELETE")] == (
            "DeleteRegisteredModelAlias"
        )
        assert routes[(f"{prefix}/model-versions/transition-stage", "POST")] == (
            "TransitionModelVersionStage"
        )
        assert routes[(f"{prefix}/model-versions/set-tag", "POST")] == "SetModelVersionTag"
    assert all(name != "CreateModelVersion" for name in routes.values())


@pytest.mark.postgres
def test_a_missing_database_is_created_once() -> None:
    import sqlalchemy as sa

    problem = postgres_reachable()
    if problem:
        pytest.skip(f"PostgreSQL at {PG_SERVER} unreachable: {problem}")
    name = f"srv_{uuid.uuid4().hex[:10]}"
    try:
        assert ensure_database(f"{PG_SERVER}/{name}") is True
        assert ensure_database(f"{PG_SERVER}/{name}") is False
    finally:
        admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
