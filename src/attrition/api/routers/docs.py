"""GET /openapi.json, /docs and /redoc, behind the API key when one is set.

FastAPI's own documentation routes cannot take dependencies, so the app turns
them off and serves the same pages here. `ATTRITION_PUBLIC_DOCS=1` opens them
(and /metrics) again. Swagger UI's script, style sheet and icon are served from the
installed `swagger-ui-py` distribution, so /docs works with no network access.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from attrition.api.deps import DocsKey

router = APIRouter(dependencies=[DocsKey], include_in_schema=False)
OPENAPI_URL = "/openapi.json"
ASSETS_URL = "/docs/assets"
ASSETS = Path(swagger_ui.__file__).parent / "static"
SERVED = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@router.get(OPENAPI_URL)
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
async def swagger(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{request.app.title} - docs",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
    )


@router.get(ASSETS_URL + "/{name}")
async def asset(name: str) -> FileResponse:
    """One of Swagger UI's files, from the installed distribution (no CDN)."""
    if name not in SERVED:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(ASSETS / name, media_type=SERVED[name])


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} - ReDoc")
