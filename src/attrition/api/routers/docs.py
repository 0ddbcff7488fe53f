"""GET /openapi.json, /docs and /redoc, behind the API key when one is set.

FastAPI's own documentation routes cannot take dependencies, and its pages load
Swagger UI or ReDoc from a CDN. The app turns them off; here `/docs` (and
`/redoc`, the same page) is rendered on the server from the OpenAPI schema: every
route, its parameters, request fields with their accepted values, the synthetic
example and the answers, with nothing loaded from outside the package.
`ATTRITION_PUBLIC_DOCS=1` opens these routes (and /metrics) again.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from attrition.api.deps import DocsKey

router = APIRouter(dependencies=[DocsKey], include_in_schema=False)
OPENAPI_URL = "/openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


@router.get(OPENAPI_URL)
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
@router.get("/redoc")
async def docs(request: Request) -> HTMLResponse:
    schema = request.app.openapi()
    page = (
        _environment()
        .get_template("api_docs.html.j2")
        .render(
            title=schema["info"]["title"],
            version=schema["info"]["version"],
            description=schema["info"].get("description", ""),
            openapi_url=OPENAPI_URL,
            operations=operations(schema),
        )
    )
    return HTMLResponse(page)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("attrition.api", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """What the page shows of each documented route."""
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "keyed": bool(op.get("security")),
                    "parameters": [
                        {
                            "name": p["name"],
                            "type": p.get("schema", {}).get("type", ""),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                        if p.get("in") == "query"
                    ],
                    "body": _body(op, components),
                    "responses": [
                        (code, answer.get("description", ""))
                        for code, answer in op.get("responses", {}).items()
                    ],
                }
            )
    return found


def _body(op: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return None
    ref = content.get("schema", {}).get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    model = components.get(name, {})
    required = set(model.get("required", []))
    examples = model.get("examples") or []
    return {
        "name": name,
        "description": model.get("description", ""),
        "fields": [
            {
                "name": field,
                "type": _type(spec),
                "accepted": _accepted(spec),
                "required": field in required,
            }
            for field, spec in model.get("properties", {}).items()
        ],
        "example": json.dumps(examples[0], indent=2) if examples else "",
    }


def _type(spec: dict[str, Any]) -> str:
    if "anyOf" in spec:
        return " or ".join(_type(option) for option in spec["anyOf"])
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    if spec.get("type") == "array":
        return f"list of {_type(spec.get('items', {}))}"
    return str(spec.get("type", "any"))


def _accepted(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return ", ".join(str(v) for v in spec["enum"])
    if "const" in spec:
        return str(spec["const"])
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is not None or high is not None:
        return f"{'' if low is None else low} to {'' if high is None else high}"
    if "maxLength" in spec:
        return f"up to {spec['maxLength']} characters"
    return ""
