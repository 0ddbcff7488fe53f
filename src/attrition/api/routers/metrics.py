"""GET /metrics: Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter, Response

from attrition.api.deps import DocsKey, State

router = APIRouter(tags=["metrics"], dependencies=[DocsKey])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(state: State) -> Response:
    """Request counts, latency histogram, predictions by risk band, model version."""
    state.metrics.store_pending.set(state.recorder.pending)
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)
