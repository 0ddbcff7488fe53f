"""Every HTML artifact as a reviewer opens it: inside the MLflow UI's artifact viewer.

A live `mlflow server` on a temporary store holds two training runs on generated
data (one forced to Staging and reviewed, both compared) and a monitoring run on
shifted data. Headless Chromium opens each artifact in the run page, where MLflow
shows HTML in an iframe sandboxed with `allow-scripts` and without same-origin,
and reads the text the reviewer sees. Screenshots go to `$ATTRITION_SCREENSHOT_DIR`
when set, else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.monitor.helpers import CHROMIUM_FLAGS

from attrition.fairness import format_metric

CHROMIUM = Path("/usr/bin/chromium")
MODEL = "employee_attrition_model"
NOT_RENDERED_IN_SANDBOX = {"data_drift_report_interactive.html"}  # Evidently's scripted page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


@dataclass
class Scene:
    base: str
    uri: str
    folder: Path
    shots: Path
    training: list[Any]  # mlflow Run, oldest first
    monitoring: Any
    experiments: dict[str, str]  # run id -> experiment id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def attrition(env: dict[str, str], *args: str) -> str:
    binary = str(Path(sys.executable).with_name("attrition"))
    done = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    from mlflow.tracking import MlflowClient

    from attrition.data.generate import generate_employees

    folder = tmp_path_factory.mktemp("mlflow-ui")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    artifacts = folder / "mlartifacts"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_ARTIFACT_LOCATION": str(artifacts),
        "ATTRITION_PREDICTION_STORE_URL": f"sqlite:///{folder / 'predictions.db'}",
    }
    data = folder / "employees.csv"
    generate_employees(1500, seed=41).to_csv(data, index=False)
    common = ("--data", str(data), "--seed", "5", "--no-profile")
    attrition(env, "train", *common, "--trials", "2")
    attrition(env, "train", *common, "--trials", "4")
    attrition(
        env, "models", "transition-stage", "--version", "1", "--stage", "Staging", "--force",
        "--reason", "browser test",
    )  # fmt: skip
    attrition(env, "review", "--version", "1", "--out", str(folder / "review_report.html"))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = sorted(client.search_model_versions(f"name='{MODEL}'"), key=lambda v: int(v.version))
    training = [client.get_run(v.run_id) for v in versions]
    ids = ",".join(run.info.run_id for run in training)
    attrition(env, "compare", "--run-ids", ids, "--out", str(folder / "comparison.html"))
    shifted = generate_employees(800, seed=42)
    rng = np.random.default_rng(0)
    shifted["OverTime"] = np.where(rng.random(len(shifted)) < 0.75, "Yes", "No")
    shifted.to_csv(folder / "shifted.csv", index=False)
    attrition(env, "monitor", "drift", "--current", str(folder / "shifted.csv"), "--version", "1")
    (monitoring,) = client.search_runs(
        [client.get_experiment_by_name("employee_attrition-monitoring").experiment_id]
    )
    training = [client.get_run(run.info.run_id) for run in training]  # descriptions, artifacts
    port = free_port()
    log = (folder / "server.log").open("w")
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    server = subprocess.Popen(
        [mlflow_bin, "server", "--backend-store-uri", uri, "--default-artifact-root",
         str(artifacts), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start: " + (folder / "server.log").read_text())
        shots = Path(os.environ.get("ATTRITION_SCREENSHOT_DIR") or folder / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        runs = [*training, monitoring]
        yield Scene(
            base,
            uri,
            folder,
            shots,
            training,
            monitoring,
            {run.info.run_id: run.info.experiment_id for run in runs},
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def page(scene: Scene) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS)
        )
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        context.close()
        browser.close()


def artifact_text(scene: Scene, page: Any, run_id: str, path: str, shot: str | None = None) -> str:
    """The visible text of one artifact in the run page's artifact viewer."""
    experiment = scene.experiments[run_id]
    page.goto("about:blank")  # a fresh page: a fragment change alone keeps the old iframe
    page.goto(
        f"{scene.base}/#/experiments/{experiment}/runs/{run_id}/artifacts/{path}?workflowType=machine_learning"
    )
    if path.endswith(".html"):
        frame = page.frame_locator("iframe.mlflow-html-iframe")
        body = frame.locator("body")
        body.wait_for(state="attached")
        page.wait_for_timeout(500)
        text = str(body.inner_text())
    else:
        page.get_by_text(path.rsplit("/", 1)[-1]).first.wait_for()
        page.wait_for_timeout(1500)
        text = str(page.locator("body").inner_text())
    if shot:
        page.screenshot(path=str(scene.shots / shot), full_page=False)
    return re.sub(r"\s+", " ", text)


def html_artifacts(scene: Scene, run_id: str) -> set[str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=scene.uri)
    return {f.path for f in client.list_artifacts(run_id) if f.path.endswith(".html")}


def download_json(scene: Scene, run_id: str, path: str) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=scene.uri)
    local = client.download_artifacts(run_id, path, str(scene.folder / f"dl-{run_id}"))
    return dict(json.loads(Path(local).read_text(encoding="utf-8")))


def test_training_run_artifacts_are_legible_inside_mlflow(scene: Scene, page: Any) -> None:
    first = scene.training[0]
    run_id = first.info.run_id
    html = html_artifacts(scene, run_id)
    assert {
        "data_drift_report.html",
        "data_drift_report_interactive.html",
        "fairness_report.html",
        "review_report.html",
    } <= html
    drift = download_json(scene, run_id, "metrics.json")["train_test_drift"]
    text = artifact_text(scene, page, run_id, "data_drift_report.html", "drift_summary_train.png")
    assert f"{drift['n_drifted']} of {drift['n_features']} columns drifted" in text
    assert "training split" in text and "test split" in text
    assert f"{MODEL} version 1" in text
    assert "driver #1" in text

    text = artifact_text(scene, page, run_id, "fairness_report.html")
    fairness = {k: v for k, v in first.data.metrics.items() if k.startswith("fairness.")}
    assert fairness
    for key, value in fairness.items():
        assert key in text and format_metric(value) in text

    text = artifact_text(scene, page, run_id, "review_report.html", "review_report_mlflow.png")
    assert f"Staging review: {MODEL} version 1" in text
    assert f"{first.data.metrics['test_roc_auc']:.3f}" in text
    # the banner states the forced transition, who forced it and why, before the summary
    banner = text[: text.index("Summary")]
    assert "forced past" in banner and "browser test" in banner
    # the model card is rendered as HTML: its heading shows without Markdown marks
    assert f"Model card: {MODEL} v1" in text and "# Model card" not in text
    frame = page.frame_locator("iframe.mlflow-html-iframe")
    hrefs = frame.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "fairness_report.html" in hrefs and not any("file:" in h for h in hrefs if h)

    text = artifact_text(scene, page, run_id, "model_card.md")
    assert f"{first.data.metrics['test_roc_auc']:.3f}" in text

    for path in html - NOT_RENDERED_IN_SANDBOX:  # nothing blank, whatever else is logged
        assert len(artifact_text(scene, page, run_id, path)) > 200, path


def test_comparison_report_is_legible_inside_mlflow(scene: Scene, page: Any) -> None:
    baseline, last = scene.training
    text = artifact_text(
        scene, page, last.info.run_id, "comparison_report.html", "comparison_report.png"
    )
    assert "paired bootstrap intervals)." in text
    assert f"{baseline.data.metrics['test_roc_auc']:.3f}" in text
    assert f"{last.data.metrics['test_roc_auc']:.3f}" in text
    assert "Fairness per group" in text and "Top drivers" in text


def test_monitoring_drift_summary_is_legible_inside_mlflow(scene: Scene, page: Any) -> None:
    run_id = scene.monitoring.info.run_id
    assert html_artifacts(scene, run_id) == {
        "data_drift_report.html",
        "data_drift_report_interactive.html",
    }
    metrics = download_json(scene, run_id, "drift_metrics.json")
    text = artifact_text(scene, page, run_id, "data_drift_report.html", "drift_summary_monitor.png")
    n = len(metrics["drifted_features"])
    assert f"{n} of {metrics['n_features']} columns drifted" in text
    rate = metrics["predicted_rate"]
    assert f"flagged share {rate['reference_rate']:.0%} -> {rate['current_rate']:.0%}" in text
    assert "OverTime" in metrics["drifted_features"] and "OverTime=Yes" in text
    assert "reference (training)" in text and "current" in text


def test_runs_view_lists_named_runs_with_datasets_and_descriptions(scene: Scene, page: Any) -> None:
    from attrition.tracking import runs_view_url

    first = scene.training[0]
    assert re.fullmatch(r"[A-Za-z0-9_.]+-[a-z_]+-\d{8}-\d{4}", first.info.run_name)
    note = first.data.tags["mlflow.note.content"]
    assert f"ROC AUC {first.data.metrics['test_roc_auc']:.3f}" in note
    assert "Staging: forced" in note and "review_report.html" in note
    inputs = {d.dataset.name: d.dataset for d in first.inputs.dataset_inputs}
    assert {"employees-training", "employees-test"} <= set(inputs)
    assert all(d.digest and d.source for d in inputs.values())

    page.goto(runs_view_url(scene.base, first.info.experiment_id))
    page.get_by_text(first.info.run_name).first.wait_for()
    page.wait_for_timeout(1000)
    text = str(page.locator("body").inner_text())
    assert scene.training[1].info.run_name in text
    assert "employees-training" in text or "employees-test" in text
    page.screenshot(path=str(scene.shots / "mlflow_runs_view.png"))
    assert pd.notna(first.info.start_time)
