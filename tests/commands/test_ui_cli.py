"""`attrition ui`: a live MLflow server whose training-runs view is printed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mlflow.tracking import MlflowClient

from attrition.tracking import ensure_experiment

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ui_prints_the_machine_learning_runs_view(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment = ensure_experiment(MlflowClient(tracking_uri=uri), "employee_attrition", None)
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "COLUMNS": "300"}
    binary = str(Path(sys.executable).with_name("attrition"))
    ui = subprocess.Popen(
        [binary, "ui", "--no-open", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert ui.stdout is not None
        lines = [ui.stdout.readline() for _ in range(2)]
        expected = (
            f"http://127.0.0.1:{port}/#/experiments/{experiment}/runs?workflowType=machine_learning"
        )
        assert f"Training runs: {expected}" in "".join(lines)
        for _ in range(120):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError("the MLflow server never answered")
    finally:
        os.killpg(ui.pid, signal.SIGINT)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait(timeout=10)
