"""The overview (/app/), its CSV export, and publishing a population by upload."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from attrition.api.hrapp import security, views
from attrition.api.hrapp.render import message, page, sign_in_redirect
from attrition.api.hrapp.state import HrState, Population, hr_state
from attrition.errors import BatchInputError
from attrition.serving.population import (
    DECISION,
    PROBABILITY,
    headline,
    publish,
    read_population_file,
    score_population,
    version_semver,
)

router = APIRouter(prefix="/app", include_in_schema=False)

UPLOAD_SUFFIXES = (".csv", ".parquet", ".pq")
REJECTS_SHOWN = 200


def _overview(current: Population, previous: Population | None, params: Any) -> dict[str, Any]:
    filters = views.parse_filters(params, current.group_by)
    frame = current.listing
    selected = views.select(frame, filters)
    order = views.order_of(selected, filters.sort)
    listing = views.page_of(selected, filters.page, order=order)
    return {
        "title": "Who is at risk",
        "population": current,
        "previous": previous,
        "filters": filters,
        "sorts": views.SORTS,
        "bands": views.BANDS,
        "everyone": current.remember(
            ("headline",),
            lambda: headline(frame[PROBABILITY].to_numpy(), frame[DECISION].to_numpy()),
        ),
        "top": headline(selected[PROBABILITY].to_numpy(), selected[DECISION].to_numpy()),
        "filtered": bool(filters.groups or filters.band),
        "breakdowns": {g: views.breakdown(selected, g) for g in current.group_by},
        "drivers": current.remember(
            ("drivers", *sorted(filters.groups.items())),
            lambda: views.common_drivers(views.select(frame, views.Filters(groups=filters.groups))),
        ),
        "listing": listing,
        "compare": current.comparison(previous) if previous is not None else None,
    }


@router.get("/")
def overview(request: Request) -> Response:
    """Headline figures, breakdown by group, the risk list and the common drivers."""
    started = time.perf_counter()
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    hr = hr_state(request)
    current, previous = hr.populations.latest()
    if current is None:
        return page(request, "empty.html.j2", {"title": "No population yet"})
    context = _overview(current, previous, request.query_params)
    elapsed = (time.perf_counter() - started) * 1000
    response = page(request, "overview.html.j2", context)
    total = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"compute;dur={elapsed:.1f}, total;dur={total:.1f}"
    return response


@router.get("/export.csv")
def export(request: Request) -> Response:
    """The selected employees (every page) as a CSV download."""
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    current, _ = hr_state(request).populations.latest()
    if current is None:
        return message(request, "No population yet", "Nothing has been published yet.", 404)
    filters = views.parse_filters(request.query_params, current.group_by)
    selected = views.ordered(views.select(current.listing, filters), filters.sort)
    body = views.export_csv(selected, current.group_by)
    name = f"attrition-risk-batch-{current.info['id']}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/rejects")
def rejects(request: Request) -> Response:
    """The rows of the latest batch that could not be scored, with the reasons."""
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    current, _ = hr_state(request).populations.latest()
    if current is None:
        return message(request, "No population yet", "Nothing has been published yet.", 404)
    table = current.rejects()
    context = {
        "title": "Rows that could not be scored",
        "info": current.info,
        "rejects": table.head(REJECTS_SHOWN).to_dict(orient="records"),
        "total_problems": len(table),
        "rejected": current.info["rejected"],
    }
    return page(request, "rejects.html.j2", context)


@router.get("/upload")
def upload_form(request: Request) -> Response:
    """The upload form."""
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    hr = hr_state(request)
    return page(request, "upload.html.j2", _upload_context(hr, None))


def _upload_context(hr: HrState, error: str | None) -> dict[str, Any]:
    return {
        "title": "Publish a population",
        "error": error,
        "limit_mb": hr.max_upload_bytes / 1_000_000,
        "suffixes": UPLOAD_SUFFIXES,
    }


def _score_upload(request: Request, path: Path, filename: str) -> int:
    serving = request.app.state.serving
    hr = hr_state(request)
    model = serving.manager.current
    if model is None:
        raise BatchInputError("no model is being served yet, so nothing can be scored")
    raw = read_population_file(path, model, hr.config.group_by)
    population = score_population(model, raw, hr.config.group_by)
    semver = version_semver(serving.manager.client(), model.info.name, model.info.version)
    return publish(
        hr.populations.store, population, model, source=f"upload: {filename}", semver=semver
    )


@router.post("/upload")
async def upload(
    request: Request,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Score an uploaded CSV or Parquet file and publish it as the current population."""
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    security.check_csrf(request, csrf_token)
    hr = hr_state(request)
    filename = Path(file.filename or "upload").name[:200]
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        error = f"'{filename}' is not a CSV or Parquet file (.csv, .parquet)."
        return page(request, "upload.html.j2", _upload_context(hr, error), status_code=415)
    with tempfile.TemporaryDirectory(prefix="attrition-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        size = 0
        with path.open("wb") as handle:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > hr.max_upload_bytes:
                    error = f"The file is larger than {hr.max_upload_bytes / 1_000_000:g} MB."
                    return page(request, "upload.html.j2", _upload_context(hr, error), 413)
                handle.write(chunk)
        try:
            batch_id = await run_in_threadpool(_score_upload, request, path, filename)
        except BatchInputError as exc:
            text = str(exc).replace(str(path), filename).replace(path.name, filename)
            return page(request, "upload.html.j2", _upload_context(hr, text), status_code=422)
    current = hr.populations.by_id(batch_id)
    table = current.rejects()
    context = {
        "title": "Population published",
        "info": current.info,
        "rejects": table.head(REJECTS_SHOWN).to_dict(orient="records"),
        "total_problems": len(table),
        "rejected": current.info["rejected"],
    }
    return page(request, "uploaded.html.j2", context)
