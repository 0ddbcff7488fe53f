"""POST /predict and /predict/batch: the hot path.

The request schema belongs to the model being served, so the body is validated
here against that model's generated schema (pydantic-core parses and validates
the raw JSON in one pass) rather than by a static parameter type. Answers are
serialised directly: FastAPI's response-model pass would cost more than scoring.
For the same reason these two routes take only the `Request`: FastAPI's
per-request solving of dependencies and query parameters measured ~100 us, more
than validating and scoring together (~30 us); `scoring` (the API-key check and
model lookup every other route gets as a dependency) is called directly and the
`explain` flag is parsed here, both still documented in the OpenAPI schema.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from attrition.api.deps import API_KEY_SECURITY, scoring
from attrition.serving.journal import JournalError
from attrition.serving.model import LoadedModel
from attrition.serving.prediction_store import PredictionRecord
from attrition.serving.schemas import Prediction, PredictionBatch, error_details

router = APIRouter(tags=["predictions"])

EXPLAIN_PARAMETER = {
    "name": "explain",
    "in": "query",
    "required": False,
    "description": "Also return the top factors behind each score (SHAP; ~10 ms a row).",
    "schema": {"type": "boolean", "default": False},
}
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    413: {"description": "Request body too large"},
    415: {"description": "The body is not sent as application/json"},
    422: {"description": "Invalid employee data; `detail` names each bad field"},
    503: {"description": "No model loaded yet"},
}


def _openapi(schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
        "parameters": [EXPLAIN_PARAMETER],
        **API_KEY_SECURITY,
    }


def _invalid(exc: ValidationError, prefix: tuple[str | int, ...] = ("body",)) -> Response:
    return JSONResponse({"detail": error_details(exc, prefix)}, status_code=422)


def _not_json(request: Request) -> Response | None:
    """415 unless the body is declared JSON: a browser's cross-site form or `text/plain` POST
    (sent without a preflight) must not reach the prediction store."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return None
    return JSONResponse(
        {"detail": "send the body as JSON with 'Content-Type: application/json'"},
        status_code=415,
    )


def _explain(request: Request) -> bool | Response:
    """The `explain` query flag, or the 422 answer to an unreadable one."""
    if not request.url.query:
        return False
    value = request.query_params.get("explain", "").strip().lower()
    if value in TRUE or value in FALSE:
        return value in TRUE
    detail = {
        "loc": ["query", "explain"],
        "msg": "Input should be a valid boolean",
        "type": "bool_parsing",
    }
    return JSONResponse({"detail": [detail]}, status_code=422)


def _answer(
    model: LoadedModel, row: dict[str, Any], probability: float, request_id: str
) -> dict[str, Any]:
    id_column = model.id_column
    scored = model.judge(probability)
    return {
        "employee_id": row.get(id_column) if id_column else None,
        "attrition_probability": probability,
        "decision": scored.decision,
        "risk_band": scored.risk_band,
        "model_version": model.info.version,
        "model_semver": model.info.semver,
        "request_id": request_id,
    }


def _record(
    model: LoadedModel, answer: dict[str, Any], row: dict[str, Any], latency_ms: float
) -> PredictionRecord:
    employee_id = answer["employee_id"]
    return PredictionRecord(
        model_name=model.info.name,
        model_version=model.info.version,
        model_semver=model.info.semver,
        employee_id=None if employee_id is None else str(employee_id),
        probability=answer["attrition_probability"],
        decision=int(answer["decision"]),
        risk_band=answer["risk_band"],
        latency_ms=latency_ms,
        features={c: row[c] for c in model.columns},
        request_id=answer["request_id"],
        created_at=datetime.now(UTC),
        sensitive=model.schemas.declared.attributes(row),
    )


@router.post(
    "/predict",
    response_model=Prediction,
    responses=ERRORS,
    openapi_extra=_openapi("EmployeeFeatures"),
    summary="Score one employee",
)
async def predict(request: Request) -> Response:
    """Attrition probability, decision at the tuned threshold and risk band for one employee."""
    started = time.perf_counter()
    context = await scoring(request)
    model, state = context.model, context.state
    explain = _not_json(request) or _explain(request)
    if isinstance(explain, Response):
        return explain
    body = await request.body()
    try:
        employee = model.schemas.employee.model_validate_json(body)
    except ValidationError as exc:
        return _invalid(exc)
    row = employee.__dict__
    answer = _answer(model, row, model.scorer.one(row), uuid.uuid4().hex)
    if explain:
        factors = await run_in_threadpool(model.explain, model.frame([row]))
        answer["factors"] = factors[0]
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        await state.recorder.record_durably([_record(model, answer, row, latency_ms)])
    except JournalError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=503)
    state.metrics.predictions.labels(answer["risk_band"], model.info.version).inc()
    return Response(json.dumps(answer), media_type="application/json")


@router.post(
    "/predict/batch",
    response_model=PredictionBatch,
    responses=ERRORS,
    openapi_extra=_openapi("EmployeeBatch"),
    summary="Score a batch of employees",
)
async def predict_batch(request: Request) -> Response:
    """Score up to the configured batch size of employees in one request, in order."""
    started = time.perf_counter()
    context = await scoring(request)
    model, state = context.model, context.state
    explain = _not_json(request) or _explain(request)
    if isinstance(explain, Response):
        return explain
    body = await request.body()
    try:
        batch = model.schemas.batch.model_validate_json(body)
    except ValidationError as exc:
        return _invalid(exc)
    rows = [employee.__dict__ for employee in batch.employees]  # type: ignore[attr-defined]
    frame = model.frame(rows)
    probabilities = await run_in_threadpool(model.scorer.many, frame)
    answers = [
        _answer(model, row, float(p), uuid.uuid4().hex)
        for row, p in zip(rows, probabilities, strict=True)
    ]
    if explain:
        factors = await run_in_threadpool(model.explain, frame)
        for answer, row_factors in zip(answers, factors, strict=True):
            answer["factors"] = row_factors
    latency_ms = (time.perf_counter() - started) * 1000 / len(rows)
    records = [_record(model, a, row, latency_ms) for row, a in zip(rows, answers, strict=True)]
    try:
        await state.recorder.record_durably(records)
    except JournalError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=503)
    counter = state.metrics.predictions
    for answer in answers:
        counter.labels(answer["risk_band"], model.info.version).inc()
    payload = {
        "model_version": model.info.version,
        "model_semver": model.info.semver,
        "predictions": answers,
    }
    return Response(json.dumps(payload), media_type="application/json")
