"""The HR app: who is at risk, why, and what would lower it, served beside the API under /app/.

It reuses the API process's served model (compiled scorer and explainer) and
prediction store; its pages are rendered on the server from the templates in
this package, with a small script for the instant what-if and no outside assets.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from attrition.api.deps import ServingState
from attrition.api.hrapp import employee, model_page, overview, signin
from attrition.api.hrapp.security import SecurityHeaders
from attrition.api.hrapp.state import HrState, PopulationCache
from attrition.config import load_dataset_config

ROUTERS = (signin.router, overview.router, employee.router, model_page.router)


def install(app: FastAPI, state: ServingState) -> None:
    """Add the app's routes, static files, state and security headers to the API app."""
    options = state.options
    app.state.hr = HrState(
        config=load_dataset_config(state.settings.dataset_config),
        populations=PopulationCache(state.recorder.store),
        max_upload_bytes=options.max_upload_bytes,
        mlflow_ui_url=options.mlflow_ui_url or None,
    )
    for router in ROUTERS:
        app.include_router(router)
    static = resources.files("attrition.api.hrapp").joinpath("static")
    app.mount("/app/static", StaticFiles(directory=str(static)), name="app-static")
    app.add_middleware(SecurityHeaders)
