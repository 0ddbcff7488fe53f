"""Team members in MLflow's auth database: accounts, and one team role each.

The roles are MLflow roles (3.17's RBAC) in the default workspace, named after
the team roles and carrying `roles.GRANTS`, so MLflow itself applies their
permissions and its admin UI shows them. The auth database is opened directly,
so members can be set up before the server first starts or while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from attrition.errors import TeamError
from attrition.team.roles import GRANTS, RANK, ROLES

if TYPE_CHECKING:
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

WORKSPACE = "default"  # where MLflow keeps role grants while workspaces are off


@dataclass(frozen=True)
class Member:
    """One account: its name, its team role (None: read only) and whether it is an admin."""

    name: str
    role: str | None
    is_admin: bool


def open_store(database_uri: str) -> SqlAlchemyStore:
    """MLflow's auth store on `database_uri`, its schema created or upgraded."""
    import warnings

    with warnings.catch_warnings():  # MLflow's server modules warn about Starlette on import
        warnings.filterwarnings("ignore", message=".*deprecated", module=".*fastapi_app")
        from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore()
    store.init_db(database_uri)
    return store


def ensure_roles(store: SqlAlchemyStore) -> dict[str, int]:
    """Create the team roles and their grants where missing; return each role's id."""
    from mlflow.exceptions import MlflowException

    ids: dict[str, int] = {}
    for name in ROLES:
        try:
            role = store.get_role_by_name(WORKSPACE, name)
        except MlflowException:
            role = store.create_role(name, WORKSPACE, description=f"attrition {name}")
        have = {(p.resource_type, p.resource_pattern) for p in store.list_role_permissions(role.id)}
        for resource_type, pattern, permission in GRANTS[name]:
            if (resource_type, pattern) not in have:
                store.add_role_permission(role.id, resource_type, pattern, permission)
        ids[name] = role.id
    return ids


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise TeamError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")


def add_member(store: SqlAlchemyStore, name: str, password: str, role: str) -> Member:
    """Create account `name` with `password` and give it team role `role`."""
    _check_role(role)
    if store.has_user(name):
        raise TeamError(f"user {name!r} exists already (use 'users set-role' to change its role)")
    if not password:
        raise TeamError("the password is empty")
    store.create_user(name, password)
    return set_role(store, name, role)


def set_role(store: SqlAlchemyStore, name: str, role: str) -> Member:
    """Give member `name` team role `role` in place of any team role it had."""
    _check_role(role)
    if not store.has_user(name):
        raise TeamError(f"no user {name!r} (add it with 'users add')")
    ids = ensure_roles(store)
    user = store.get_user(name)
    held = {r.name for r in store.list_user_roles(user.id) if r.workspace == WORKSPACE}
    for other in held & set(ROLES) - {role}:
        store.unassign_role_from_user(user.id, ids[other])
    if role not in held:
        store.assign_role_to_user(user.id, ids[role])
    return Member(name, role, bool(user.is_admin))


def team_role(role_names: list[str]) -> str | None:
    """The highest team role among MLflow role names, None when there is none."""
    held = [r for r in role_names if r in RANK]
    return max(held, key=RANK.__getitem__) if held else None


def members(store: SqlAlchemyStore) -> list[Member]:
    """Every account with its team role, by name."""
    found = [
        Member(
            user.username,
            team_role([r.name for r in roles if r.workspace == WORKSPACE]),
            bool(user.is_admin),
        )
        for user, roles in store.list_users_with_roles()
    ]
    return sorted(found, key=lambda m: m.name)


def role_of(store: SqlAlchemyStore, name: str) -> str | None:
    """The team role of account `name`, None when it has none."""
    user = store.get_user(name)
    return team_role([r.name for r in store.list_user_roles(user.id) if r.workspace == WORKSPACE])
