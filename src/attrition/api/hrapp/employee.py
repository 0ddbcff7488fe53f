"""One employee (/app/employee/{id}): risk, reasons, what-if and suggested changes."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from attrition.api.hrapp import security, views
from attrition.api.hrapp.render import message, page, sign_in_redirect
from attrition.api.hrapp.state import HrState, hr_state
from attrition.serving.counterfactuals import CAVEAT, candidate_values, suggest_changes
from attrition.serving.model import LoadedModel
from attrition.serving.population import PROBABILITY
from attrition.serving.schemas import FeatureSpec, error_details

router = APIRouter(prefix="/app", include_in_schema=False)

TOP_FACTORS = 5


class WhatIfError(ValueError):
    """A what-if value that is not one of the field's choices."""


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def record_of(model: LoadedModel, row: Any) -> dict[str, Any]:
    """The model inputs of a population row, as the request schema types them."""
    record = {}
    for spec in model.schemas.specs:
        value = _plain(row[spec.name])
        record[spec.name] = _coerce(spec, value)
    return record


def _coerce(spec: FeatureSpec, value: Any) -> Any:
    if spec.type == "integer":
        return int(float(value))
    if spec.type == "number":
        return float(value)
    if spec.type == "boolean":
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
    return str(value)


def what_if_fields(hr: HrState, model: LoadedModel, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The actionable fields with the employee's value and the values it may take."""
    fields = []
    for spec in model.schemas.specs:
        rule = hr.actionable.get(spec.name)
        if rule is None or spec.name in hr.frozen:
            continue
        current = record[spec.name]
        options = [current, *candidate_values(spec, rule, current)]
        if spec.type in ("integer", "number"):
            options = sorted(options)
        fields.append(
            {"name": spec.name, "type": spec.type, "current": current, "options": options}
        )
    return fields


def apply_changes(
    model: LoadedModel, fields: list[dict[str, Any]], record: dict[str, Any], changes: Any
) -> dict[str, Any]:
    """The record with what-if changes applied; each must be one of the field's choices."""
    if not isinstance(changes, dict):
        raise WhatIfError("changes must map field names to values")
    by_name = {f["name"]: f for f in fields}
    specs = {s.name: s for s in model.schemas.specs}
    changed = dict(record)
    for name, raw in changes.items():
        field = by_name.get(name)
        if field is None:
            raise WhatIfError(f"'{name}' is not a field that can be changed here")
        try:
            value = _coerce(specs[name], raw)
        except (TypeError, ValueError):
            raise WhatIfError(f"'{raw}' is not a value of {name}") from None
        if value not in field["options"]:
            raise WhatIfError(f"'{raw}' is not one of the values {name} may take")
        changed[name] = value
    return changed


def risk_view(model: LoadedModel, probability: float) -> dict[str, Any]:
    """A probability as the page shows it."""
    scored = model.judge(probability)
    return {
        "probability": probability,
        "percent": views.percent_beside(probability, model.threshold),
        "risk_band": scored.risk_band,
        "decision": scored.decision,
        "threshold": views.percent(model.threshold),
    }


def _employee_context(
    hr: HrState, model: LoadedModel, row: Any, params: dict[str, str]
) -> dict[str, Any]:
    record = record_of(model, row)
    fields = what_if_fields(hr, model, record)
    requested = {k: v for k, v in params.items() if k in {f["name"] for f in fields}}
    changed = apply_changes(model, fields, record, requested) if requested else None
    factors = model.explain(model.frame([record]), k=TOP_FACTORS)[0]
    suggestions = suggest_changes(
        record, model.scorer, model.schemas.specs, model.threshold, hr.actionable, hr.frozen
    )
    return {
        "record": record,
        "risk": risk_view(model, model.scorer.one(record)),
        "what_if": risk_view(model, model.scorer.one(changed)) if changed else None,
        "chosen": changed or record,
        "fields": fields,
        "factors": factors,
        "suggestions": [
            {
                **s.to_dict(),
                "risk": risk_view(model, s.probability),
                "json": json.dumps({c.field: c.after for c in s.changes}),
            }
            for s in suggestions
        ],
        "caveat": CAVEAT,
    }


@router.get("/employee/{employee_id}")
async def employee(request: Request, employee_id: str) -> Response:
    """Risk, band and decision, the top reasons, what-if and suggested changes."""
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    hr = hr_state(request)
    model = request.app.state.serving.manager.current
    if model is None:
        return message(request, "No model yet", "No model is being served yet.", 503)
    current, _ = await run_in_threadpool(hr.populations.latest)
    row = current.employee(employee_id) if current is not None else None
    if current is None or row is None:
        text = f"No employee with id {employee_id} in the current population."
        return message(request, "Employee not found", text, 404)
    params = dict(request.query_params)
    try:
        context = await run_in_threadpool(_employee_context, hr, model, row, params)
    except WhatIfError as exc:
        return message(request, "Cannot show that change", str(exc), 422)
    context.update(
        {
            "title": f"Employee {employee_id}",
            "employee_id": employee_id,
            "groups": {g: row[g] for g in current.group_by},
            "batch": current.info,
            "batch_probability": float(row[PROBABILITY]),
            "model_version": model.info.version,
        }
    )
    return page(request, "employee.html.j2", context)


@router.post("/employee/{employee_id}/whatif")
async def what_if(request: Request, employee_id: str) -> Response:
    """Rescore the employee with changed actionable fields (JSON in, JSON out)."""
    hr = hr_state(request)
    if not security.signed_in(request, request.app.state.serving.settings.api_key):
        return JSONResponse({"detail": "sign in first"}, status_code=401)
    security.check_csrf(request, request.headers.get(security.CSRF_HEADER))
    model = request.app.state.serving.manager.current
    if model is None:
        return JSONResponse({"detail": "no model loaded yet"}, status_code=503)
    current, _ = await run_in_threadpool(hr.populations.latest)
    row = current.employee(employee_id) if current is not None else None
    if row is None:
        return JSONResponse({"detail": f"no employee {employee_id}"}, status_code=404)
    try:
        body = json.loads(await request.body())
        record = record_of(model, row)
        changed = apply_changes(
            model, what_if_fields(hr, model, record), record, body.get("changes")
        )
        model.schemas.employee.model_validate(changed)
    except (ValueError, AttributeError) as exc:
        if isinstance(exc, ValidationError):
            return JSONResponse({"detail": error_details(exc)}, status_code=422)
        return JSONResponse({"detail": str(exc)}, status_code=422)
    before = model.scorer.one(record)
    after = model.scorer.one(changed)
    return JSONResponse(
        {**risk_view(model, after), "change": views.points(after - before)},
    )
