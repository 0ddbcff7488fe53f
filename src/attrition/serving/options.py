"""Serving knobs beyond the project `Settings`, from `ATTRITION_*` environment variables.

Read once where the server starts (each server process builds its app from
them), never at import.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServingOptions(BaseSettings):
    """Prediction-service options; every one has a safe default."""

    model_config = SettingsConfigDict(env_prefix="ATTRITION_", extra="ignore")

    reload_seconds: float = Field(
        default=30.0, ge=0, description="Registry poll interval (0 disables polling)."
    )
    serve_alias: str = Field(default="champion", description="Registry alias to serve.")
    serve_unverified: bool = Field(
        default=False,
        description="Escape hatch: load the alias's version even when its audit trail does not "
        "back it (the findings are still reported on /ready and logged).",
    )
    max_batch: int = Field(default=1000, ge=1, description="Largest /predict/batch request.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body; larger ones get 413."
    )
    prediction_retention_days: int | None = Field(
        default=365, ge=0, description="Purge stored predictions older than this (None: keep)."
    )
    prediction_journal: bool = Field(
        default=True,
        description="Journal each prediction on local disk before answering, so none is lost "
        "if the server is killed (off: lossy on a crash).",
    )
    prediction_journal_sync: bool = Field(
        default=False,
        description="fdatasync the journal before answering (survives a machine crash, costs "
        "one disk sync per answer); off: the kernel holds the written journal, which survives a "
        "killed server but not a power cut, like the SQLite store's own commits.",
    )
    prediction_journal_dir: Path | None = Field(
        default=None,
        description="Where the journal lives (default: beside a SQLite store, else "
        "./prediction-journal).",
    )
    public_docs: bool = Field(
        default=False,
        description="With an API key set, leave /docs, /redoc, /openapi.json and /metrics "
        "open (otherwise they need the key like every route but /health and /ready).",
    )
    max_upload_bytes: int = Field(
        default=50_000_000, ge=1024, description="Largest file accepted by the HR app's upload."
    )
    mlflow_ui_url: str | None = Field(
        default="http://127.0.0.1:5001",
        description="Where the MLflow UI is, for the HR app's links (empty: no links).",
    )
    reload_signal: Path | None = Field(
        default=None,
        description="File touched by /admin/reload so every server process re-checks soon.",
    )
    webhook_secret: str | None = Field(
        default=None,
        repr=False,
        description="Secret of the MLflow registry webhook that calls /admin/registry-event "
        "(set by `attrition serve --webhook-url`; unset: the endpoint answers 404).",
    )
