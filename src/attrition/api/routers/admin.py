"""POST /admin/reload: re-check the registry now and swap to a new champion."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from attrition.api.deps import ApiKey, State
from attrition.serving.manager import signal_reload
from attrition.serving.schemas import ReloadOutcome

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[ApiKey])


@router.post("/reload", response_model=ReloadOutcome, summary="Reload the champion")
async def reload(state: State) -> ReloadOutcome:
    """Load the registry's current champion if it changed; keep the old one if it fails."""
    result = await run_in_threadpool(lambda: state.manager.refresh(retry_failed=True))
    # Other server processes re-check within about a second.
    signal_reload(state.options.reload_signal)
    return ReloadOutcome(
        outcome=result.outcome,  # type: ignore[arg-type]
        version=result.version,
        previous_version=result.previous_version,
        error=result.error,
    )
