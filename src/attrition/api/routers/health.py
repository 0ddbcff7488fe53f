"""GET /health (the process answers) and GET /ready (a model is loaded and serving)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from attrition.api.deps import State
from attrition.serving.schemas import Readiness

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    """The server process is up (says nothing about the model)."""
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "No model loaded yet"}},
    summary="Readiness",
)
async def ready(state: State) -> JSONResponse:
    """Whether a model is loaded, which one, and what the last registry check found."""
    manager = state.manager
    model = manager.current
    status = manager.status
    last = status.to_dict()
    reason: str | None = None
    keeper = manager.gatekeeper
    governance = keeper.status.to_dict() if keeper else None
    if model is None:
        if status.outcome == "refused" and keeper is not None:
            reason = f"not loaded: {keeper.status.reason}"
        elif status.outcome == "failed" and status.failed_version is None:
            reason = f"registry check failed: {status.error}"
        elif status.outcome == "failed":
            reason = f"version {status.failed_version} failed to load: {status.error}"
        else:
            reason = (
                f"no '{manager.alias}' version of '{manager.model_name}' in the registry yet"
                if status.checked_at
                else "the registry has not been checked yet"
            )
        body = Readiness(
            ready=False,
            model_name=manager.model_name,
            reason=reason,
            last_reload=last,
            governance=governance,
        )
        return JSONResponse(body.model_dump(), status_code=503)
    if status.failed_version is not None:
        reason = (
            f"still serving version {model.info.version}: version {status.failed_version} "
            f"failed to load ({status.error})"
        )
    elif status.outcome == "failed":
        reason = f"still serving version {model.info.version}: {status.error}"
    elif keeper is not None:
        reason = keeper.served_reason(model.info.version)
    body = Readiness(
        ready=True,
        model_name=manager.model_name,
        model_version=model.info.version,
        reason=reason,
        last_reload=last,
        governance=governance,
    )
    return JSONResponse(body.model_dump())
