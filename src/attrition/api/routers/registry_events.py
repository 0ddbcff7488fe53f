"""POST /admin/registry-event: MLflow's registry webhook says the served alias moved.

Authenticated by the webhook's HMAC signature, not the API key (MLflow cannot send
one). The answer goes back at once; the new champion is loaded after it, by this
process and, through the reload signal, by its sibling worker processes.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, status

from attrition.api.deps import State
from attrition.serving.manager import signal_reload
from attrition.serving.registry_events import RegistryEventError, concerns, verify
from attrition.serving.responses import RegistryEventOutcome

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/registry-event",
    response_model=RegistryEventOutcome,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        401: {"description": "Unsigned, wrongly signed or stale event"},
        404: {"description": "No webhook secret configured"},
    },
    summary="Registry webhook",
)
async def registry_event(
    request: Request, state: State, background: BackgroundTasks
) -> RegistryEventOutcome:
    """Re-check the champion now: called by MLflow's registry webhook when an alias changes."""
    secret = state.options.webhook_secret
    if not secret:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail="registry events are off: start attrition serve with --webhook-url",
        )
    body = await request.body()
    try:
        event = verify(secret, request.headers, body, time.time())
    except RegistryEventError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=str(exc)) from None
    manager = state.manager
    if not concerns(event, manager.model_name, manager.alias):
        return RegistryEventOutcome(outcome="ignored")
    signal_reload(state.options.reload_signal)  # sibling workers re-check within a second
    background.add_task(manager.refresh)
    return RegistryEventOutcome(outcome="reloading")
