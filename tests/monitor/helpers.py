"""Helpers of the monitoring tests: the CLI, stored predictions, MLflow runs, Chromium renders."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner, Result

from attrition.commands.monitor import monitor_app

MODEL = "employee_attrition_model"
SEED_ARTIFACTS = (
    "drift_metrics.json",
    "feature_drift.png",
    "prediction_drift.png",
    "data_drift_report.html",
    "performance_metrics.json",
    "error_analysis.html",
    "latency_metrics.json",
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

_app = typer.Typer()
_app.add_typer(monitor_app, name="monitor")
_runner = CliRunner()


def invoke(*args: str) -> Result:
    """Run `attrition monitor ...` in-process (the sub-app mounted on a bare root)."""
    return _runner.invoke(_app, ["monitor", *args])


def champion_model(uri: str, version: str) -> tuple[Any, Any]:
    """The champion's model and monitoring reference, as the monitor loads them."""
    from attrition.monitor.reference import load_model, load_reference
    from attrition.tracking import client_for

    client = client_for(uri)
    return load_model(client, MODEL, version), load_reference(client, MODEL, version)


def store_predictions(
    url: str,
    employees: pd.DataFrame,
    uri: str,
    version: str,
    *,
    days: float = 120,
    seed: int = 0,
    sensitive: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Score `employees` with the champion and write them to the prediction store.

    Predictions are spread over the `days` before now (all at now for 0). Returns one row per
    prediction: employee_id, probability, decision, created_at and the label. The
    `sensitive` columns of `employees` are stored with each prediction, as the API does.
    """
    from attrition.serving.prediction_store import PredictionRecord, PredictionStore

    model, reference = champion_model(uri, version)
    features = employees[reference.feature_columns]
    proba = model.predict_proba(features)[:, 1]
    decision = (proba >= reference.threshold).astype(int)
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    created = [now - timedelta(days=float(d)) for d in rng.uniform(0, days, len(features))]
    records = [
        PredictionRecord(
            model_name=MODEL,
            model_version=version,
            employee_id=str(employee),
            probability=float(p),
            decision=int(d),
            risk_band="high" if d else ("medium" if p >= reference.threshold / 2 else "low"),
            latency_ms=float(rng.gamma(2.0, 1.5)),
            features=row,
            created_at=when,
            sensitive=attributes or None,
        )
        for employee, p, d, row, when, attributes in zip(
            employees["EmployeeNumber"],
            proba,
            decision,
            features.to_dict(orient="records"),
            created,
            employees[list(sensitive)].to_dict(orient="records")
            if sensitive
            else [{}] * len(employees),
            strict=True,
        )
    ]
    store = PredictionStore(url)
    store.write_many(records)
    store.dispose()
    return pd.DataFrame(
        {
            "employee_id": employees["EmployeeNumber"].astype(str).to_numpy(),
            "probability": proba,
            "decision": decision,
            "created_at": created,
            "left": (employees["Attrition"] == "Yes").astype(int).to_numpy(),
        }
    )


def monitoring_runs(uri: str, experiment: str) -> list[Any]:
    """Runs of the monitoring experiment beside `experiment`, newest first."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(f"{experiment}-monitoring")
    assert found is not None, "no monitoring experiment"
    return list(client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"]))


def artifact_names(uri: str, run_id: str) -> set[str]:
    """Names of a run's top-level artifacts."""
    from mlflow.tracking import MlflowClient

    return {f.path for f in MlflowClient(tracking_uri=uri).list_artifacts(run_id)}


def chromium() -> str | None:
    """The Chromium binary, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render_html(page: Path, png: Path, height: int = 2000) -> Path:
    """Screenshot `page` in headless Chromium (skips the test where Chromium is missing).

    Returns the PNG path; fails the test when Chromium cannot render the page.
    """
    binary = chromium()
    if binary is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        command = [
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size=1280,{height}",
            page.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.exists() and png.stat().st_size > 10_000, "blank or missing screenshot"
    return png


def non_white_share(png: Path) -> float:
    """Share of pixels that are not (near) white: a rendered report is not a blank page."""
    from matplotlib.image import imread

    pixels = imread(str(png))[..., :3]
    return float(np.mean(pixels.min(axis=-1) < 0.9))
