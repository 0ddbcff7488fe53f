"""Team members in a real MLflow auth database (SQLite here; PostgreSQL end to end)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from attrition.cli import app
from attrition.errors import TeamError
from attrition.team.roles import GRANTS
from attrition.team.users import add_member, ensure_roles, members, open_store, role_of, set_role


@pytest.fixture
def auth_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'auth.db'}"


def test_roles_carry_their_grants_and_are_made_once(auth_uri: str) -> None:
    store = open_store(auth_uri)
    first = ensure_roles(store)
    assert ensure_roles(store) == first
    for name, role_id in first.items():
        held = {
            (p.resource_type, p.resource_pattern, p.permission)
            for p in store.list_role_permissions(role_id)
        }
        assert held == set(GRANTS[name])


def test_members_get_one_team_role_each(auth_uri: str) -> None:
    store = open_store(auth_uri)
    add_member(store, "tina", "pw-tina-123456", "trainer")
    add_member(store, "rex", "pw-rex-123456", "releaser")
    assert store.authenticate_user("tina", "pw-tina-123456")
    assert role_of(store, "tina") == "trainer"
    set_role(store, "tina", "reviewer")
    assert role_of(store, "tina") == "reviewer"
    assert [(m.name, m.role) for m in members(store)] == [("rex", "releaser"), ("tina", "reviewer")]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda s: add_member(s, "tina", "pw-2", "trainer"), "exists already"),
        (lambda s: add_member(s, "bob", "pw", "boss"), "unknown role 'boss'"),
        (lambda s: add_member(s, "bob", "", "trainer"), "password is empty"),
        (lambda s: set_role(s, "nobody", "trainer"), "no user 'nobody'"),
    ],
)
def test_mistakes_name_the_problem(auth_uri: str, action, message: str) -> None:  # type: ignore[no-untyped-def]
    store = open_store(auth_uri)
    add_member(store, "tina", "pw-tina-123456", "trainer")
    with pytest.raises(TeamError, match=message):
        action(store)


def test_users_commands(auth_uri: str) -> None:
    def users(*args: str) -> Result:
        return CliRunner().invoke(app, ["server", "users", *args, "--auth-database-uri", auth_uri])

    added = users("add", "rita", "--role", "reviewer", "--password", "pw-rita-123456")
    assert added.exit_code == 0, added.output
    assert "added rita as reviewer" in added.output
    listed = users("list")
    assert "rita" in listed.output and "reviewer" in listed.output
    changed = users("set-role", "rita", "--role", "releaser")
    assert changed.exit_code == 0 and "rita is now releaser" in changed.output
    assert users("add", "bob", "--role", "boss", "--password", "pw-123456789").exit_code == 2
    twice = users("add", "rita", "--role", "trainer", "--password", "pw-123456789")
    assert twice.exit_code == 1 and "exists already" in twice.output


def test_users_commands_need_the_auth_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    monkeypatch.delenv("ATTRITION_AUTH_DATABASE_URI", raising=False)
    listed = CliRunner().invoke(app, ["server", "users", "list"])
    assert listed.exit_code == 1
    assert "name the auth database: --auth-database-uri" in listed.output
