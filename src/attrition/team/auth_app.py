"""`attrition-auth`: MLflow's basic-auth server app plus the team's release rules.

Registered as the `mlflow.app` entry point `attrition-auth`, so `mlflow server
--app-name attrition-auth` serves it. MLflow's own check runs first (who is
calling, and does MLflow grant the request); then `release_rules` refuses, with
403, what `attrition.team.roles` keeps for higher roles, on the REST and
ajax-api paths alike. MLflow's GraphQL endpoint only reads (its one mutation is
a search), so it needs no rule. Admins pass, as they do in MLflow.
"""

from __future__ import annotations

import functools
from typing import Any

from attrition.team.roles import RELEASE_REQUESTS, TAG_REQUESTS, allows, required_role
from attrition.team.users import role_of


@functools.cache
def guarded_routes() -> dict[tuple[str, str], str]:
    """(path, HTTP method) -> MLflow request name, for every request the rules look at."""
    from mlflow.protos.model_registry_pb2 import ModelRegistryService
    from mlflow.server.handlers import get_service_endpoints

    watched = RELEASE_REQUESTS | TAG_REQUESTS
    routes: dict[tuple[str, str], str] = {}
    for path, request_class, methods in get_service_endpoints(
        ModelRegistryService, lambda cls: cls
    ):
        name = request_class.__name__
        if name in watched:
            for method in methods:
                routes[(path, method)] = name
    return routes


def _request_field(req: Any, field: str) -> str | None:
    """A field of the request, from the JSON body or the query string (MLflow accepts both)."""
    body = req.get_json(silent=True) if req.is_json else None
    if isinstance(body, dict) and field in body:
        return str(body[field])
    value = req.args.get(field)
    return None if value is None else str(value)


def release_rules() -> Any:
    """Flask before-request hook: 403 for a request the caller's team role does not cover."""
    from flask import request
    from mlflow.server.auth import make_forbidden_response, store

    name = guarded_routes().get((request.path, request.method))
    if name is None or request.authorization is None:
        return None  # not ours; MLflow's own hook has already answered unauthenticated calls
    username = request.authorization.username or ""
    needed = required_role(name, _request_field(request, "key"))
    if needed is None:
        return None
    user = store.get_user(username)
    if user.is_admin or allows(role_of(store, username), needed):
        return None
    return make_forbidden_response()


def create_app(app: Any = None) -> Any:
    """The `attrition-auth` app: MLflow's basic-auth app with `release_rules` after its check."""
    from mlflow.server import app as mlflow_app
    from mlflow.server.auth import create_app as basic_auth_app

    flask_app = app if app is not None else mlflow_app
    served = basic_auth_app(flask_app)
    # Registered after basic-auth's hook, so it runs only for authenticated callers.
    flask_app.before_request(release_rules)
    return served
