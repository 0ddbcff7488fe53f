"""GET /model-info: what is being served and how it was trained."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from attrition.api.deps import ApiKey, CurrentModel, ServingState, State
from attrition.serving.schemas import ModelInfo

router = APIRouter(tags=["model"], dependencies=[ApiKey])


@router.get("/model-info", response_model=ModelInfo, summary="Served model")
async def model_info(model: CurrentModel, state: State) -> ModelInfo:
    """Name, version, alias, stage, run, threshold, training time and test metrics."""
    meta = model.metadata
    test_metrics = (meta.get("metrics") or {}).get("test") or {}
    return ModelInfo(
        name=model.info.name,
        version=model.info.version,
        semver=model.info.semver,
        alias=model.info.alias,
        stage=model.info.stage,
        run_id=model.info.run_id,
        model_kind=meta.get("model_kind"),
        threshold=model.threshold,
        risk_bands=model.bands,
        trained_at=meta.get("created"),
        test_metrics={k: float(v) for k, v in test_metrics.items() if v is not None},
        fast_path=model.scorer.compiled,
        scoring=model.scorer.reason,
        features=[spec.describe() for spec in model.schemas.specs],
        loaded_at=model.loaded_at.isoformat(timespec="seconds"),
        governance=_governance(state, model.info.version),
    )


def _governance(state: ServingState, served: str) -> dict[str, Any] | None:
    """The last governance check, and why the served version is what it is."""
    keeper = state.manager.gatekeeper
    if keeper is None:
        return None
    return {**keeper.status.to_dict(), "served_reason": keeper.served_reason(served)}
