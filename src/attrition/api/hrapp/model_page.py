"""/app/model (the champion in plain words), its review report, and /app/trends."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from attrition.api.hrapp.model_facts import REVIEW_REPORT, ModelFacts, gather
from attrition.api.hrapp.render import message, page, sign_in_redirect
from attrition.api.hrapp.state import hr_state
from attrition.api.hrapp.trends import batch_series, chart, monitoring_series
from attrition.monitor.runs import experiment_name

router = APIRouter(prefix="/app", include_in_schema=False)

# A stored report is a whole document of its own: shown sandboxed, with its inline styles.
REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _facts(request: Request) -> ModelFacts | None:
    serving = request.app.state.serving
    model = serving.manager.current
    if model is None:
        return None
    hr = hr_state(request)
    facts = hr.facts.get(model.info.version)
    if facts is None:
        facts = gather(model, serving.manager.client())
        hr.facts = {model.info.version: facts}
    return facts


@router.get("/model")
async def model_page(request: Request) -> Response:
    """The served model: version, training data, accuracy, fairness, limits, links."""
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    facts = await run_in_threadpool(_facts, request)
    if facts is None:
        return message(request, "No model yet", "No model is being served yet.", 503)
    ui = hr_state(request).mlflow_ui_url
    run_url = None
    if ui and facts.run_id and facts.experiment_id:
        run_url = f"{ui.rstrip('/')}/#/experiments/{facts.experiment_id}/runs/{facts.run_id}"
    return page(
        request, "model.html.j2", {"title": "The model", "facts": facts, "run_url": run_url}
    )


@router.get("/model/review-report")
async def review_report(request: Request) -> Response:
    """The served version's review report, as `attrition review` logged it."""
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    facts = await run_in_threadpool(_facts, request)
    if facts is None or not facts.review_report or not facts.run_id:
        return message(request, "No review report", "This version has no review report.", 404)
    client = request.app.state.serving.manager.client()

    def download() -> str:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            local = client.download_artifacts(facts.run_id, REVIEW_REPORT, tmp)
            return Path(local).read_text(encoding="utf-8")

    body = await run_in_threadpool(download)
    return HTMLResponse(body, headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/trends")
async def trends(request: Request) -> Response:
    """Expected leavers per published batch, and drift and performance per monitoring run."""
    redirect = sign_in_redirect(request)
    if redirect is not None:
        return redirect
    serving = request.app.state.serving
    hr = hr_state(request)
    batches = batch_series(await run_in_threadpool(hr.populations.history))

    def monitoring() -> list[dict]:
        try:
            return monitoring_series(
                serving.manager.client(),
                experiment_name(serving.settings),
                serving.settings.model_name,
            )
        except Exception:  # an unreachable tracking store leaves the section empty
            return []

    runs = await run_in_threadpool(monitoring)
    drawn = None
    if len(batches) >= 2:
        drawn = chart(
            [b["expected"] for b in batches],
            [b["low"] if b["low"] is not None else b["expected"] for b in batches],
            [b["high"] if b["high"] is not None else b["expected"] for b in batches],
            [f"batch {b['id']}: {b['expected']:.1f} expected leavers" for b in batches],
        )
    context = {"title": "Trends", "batches": batches, "runs": runs, "chart": drawn}
    return page(request, "trends.html.j2", context)
