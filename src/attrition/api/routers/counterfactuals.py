"""POST /counterfactuals: the smallest actionable changes that lower one employee's risk."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from attrition.api.deps import API_KEY_SECURITY, scoring
from attrition.api.hrapp.state import hr_state
from attrition.serving.counterfactuals import CAVEAT, DEFAULT_MAX_CHANGES, suggest_changes
from attrition.serving.schemas import error_details

router = APIRouter(tags=["counterfactuals"])

MAX_CHANGES_LIMIT = 4
MAX_CHANGES_PARAMETER = {
    "name": "max_changes",
    "in": "query",
    "required": False,
    "description": "Most fields changed in one suggestion (also accepted as a body field).",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_CHANGES_LIMIT, "default": 3},
}


def _max_changes(value: Any, loc: list[str]) -> int | Response:
    if value is None:
        return DEFAULT_MAX_CHANGES
    ok = isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit()
    if ok and 1 <= int(value) <= MAX_CHANGES_LIMIT:
        return int(value)
    detail = {
        "loc": loc,
        "msg": f"Input should be a whole number from 1 to {MAX_CHANGES_LIMIT}",
        "type": "max_changes",
    }
    return JSONResponse({"detail": [detail]}, status_code=422)


@router.post(
    "/counterfactuals",
    responses={
        200: {"description": "Suggestions, best first (empty when nothing actionable helps)"},
        401: {"description": "Missing or invalid API key"},
        422: {"description": "Invalid employee data; `detail` names each bad field"},
        503: {"description": "No model loaded yet"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EmployeeFeatures"}}
            },
        },
        "parameters": [MAX_CHANGES_PARAMETER],
        **API_KEY_SECURITY,
    },
    summary="Suggest actionable changes",
)
async def counterfactuals(request: Request) -> Response:
    """Smallest sets of changes to actionable fields that lower the risk, each with its risk."""
    context = await scoring(request)
    model = context.model
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        detail = {"loc": ["body"], "msg": "Input should be a JSON object", "type": "dict_type"}
        return JSONResponse({"detail": [detail]}, status_code=422)
    from_body = body.pop("max_changes", None)
    limit = _max_changes(
        request.query_params.get("max_changes", from_body),
        ["query", "max_changes"]
        if "max_changes" in request.query_params
        else ["body", "max_changes"],
    )
    if isinstance(limit, Response):
        return limit
    try:
        employee = model.schemas.employee.model_validate_json(json.dumps(body))
    except ValidationError as exc:
        return JSONResponse({"detail": error_details(exc)}, status_code=422)
    hr = hr_state(request)
    row = {c: employee.__dict__[c] for c in model.columns}
    suggestions = await run_in_threadpool(
        suggest_changes,
        row,
        model.scorer,
        model.schemas.specs,
        model.threshold,
        hr.actionable,
        hr.frozen,
        max_changes=limit,
    )
    return JSONResponse([s.to_dict() for s in suggestions], headers={"X-Attrition-Caveat": CAVEAT})
