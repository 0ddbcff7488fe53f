"""Dependencies shared by the routers: the serving state, the loaded model, the API key.

All are `async` so FastAPI runs them on the event loop instead of a thread pool.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from attrition.config import Settings
from attrition.serving.manager import ModelManager
from attrition.serving.metrics import ServingMetrics
from attrition.serving.model import LoadedModel
from attrition.serving.options import ServingOptions
from attrition.serving.recorder import PredictionRecorder

API_KEY_HEADER = "X-API-Key"


@dataclass
class ServingState:
    """Everything the routes share, built once per server process."""

    settings: Settings
    options: ServingOptions
    manager: ModelManager
    recorder: PredictionRecorder
    metrics: ServingMetrics


async def serving_state(request: Request) -> ServingState:
    """The app's serving state."""
    state: ServingState = request.app.state.serving
    return state


State = Annotated[ServingState, Depends(serving_state)]


async def current_model(state: State) -> LoadedModel:
    """The model being served; 503 while there is none."""
    model = state.manager.current
    if model is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no model loaded: '{state.manager.model_name}' has no "
            f"'{state.manager.alias}' version yet (see /ready)",
        )
    return model


CurrentModel = Annotated[LoadedModel, Depends(current_model)]

_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def check_api_key(expected: str | None, key: str | None) -> None:
    """401 unless `key` is the configured key (constant-time compare); no key configured: open."""
    if not expected:
        return
    if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"missing or invalid API key (send it in the {API_KEY_HEADER} header)",
            headers={"WWW-Authenticate": "ApiKey"},
        )


async def require_api_key(
    state: State, key: Annotated[str | None, Depends(_api_key_header)]
) -> None:
    """Reject the request unless it carries the configured API key (when one is set)."""
    check_api_key(state.settings.api_key, key)


ApiKey = Depends(require_api_key)


async def require_api_key_unless_public(
    state: State, key: Annotated[str | None, Depends(_api_key_header)]
) -> None:
    """The key check of the documentation and metrics routes, which a setting can open."""
    if not state.options.public_docs:
        check_api_key(state.settings.api_key, key)


DocsKey = Depends(require_api_key_unless_public)


@dataclass
class Scoring:
    """What a prediction route needs: the state and the model, the API key already checked."""

    state: ServingState
    model: LoadedModel


async def scoring(request: Request) -> Scoring:
    """The key check and model lookup of the scoring routes, called by them directly.

    They skip FastAPI's per-request dependency solving, which costs more than
    scoring (see `attrition.api.routers.predictions`).
    """
    state: ServingState = request.app.state.serving
    check_api_key(state.settings.api_key, request.headers.get(API_KEY_HEADER))
    return Scoring(state, await current_model(state))


# Documents the key on routes that check it inside `scoring` rather than through `ApiKey`.
API_KEY_SECURITY: dict[str, object] = {"security": [{"APIKeyHeader": []}]}
