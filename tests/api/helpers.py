"""Building the API against the shared serving store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from tests.serving.fixtures import ServingStore

from attrition.api.app import create_app
from attrition.config import Settings
from attrition.serving.options import ServingOptions
from attrition.serving.prediction_store import PredictionStore


def make_app(
    store: ServingStore,
    name: str,
    folder: Path,
    *,
    api_key: str | None = None,
    **options: Any,
) -> tuple[FastAPI, PredictionStore]:
    """An app serving `name`'s champion, with its own prediction store and no polling."""
    settings = Settings.model_validate(
        {
            "MLFLOW_TRACKING_URI": store.uri,
            "model_name": name,
            "prediction_store_url": f"sqlite:///{folder / 'predictions.db'}",
            "api_key": api_key,
        }
    )
    serving = ServingOptions.model_validate({"reload_seconds": 0, **options})
    predictions = PredictionStore(settings.prediction_store_url)
    return create_app(settings, serving, store=predictions), predictions
