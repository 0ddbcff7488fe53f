"""The real thing: `attrition serve` with two uvicorn workers over loopback HTTP."""

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
from tests.serving.fixtures import ServingStore, employee_rows

from attrition.serving.prediction_store import PredictionStore

pytestmark = pytest.mark.xdist_group("serving-store")

SERVE = "from attrition.commands.serve import serve_app; serve_app(prog_name='attrition')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_command_with_two_workers_stores_every_prediction(
    store: ServingStore, tmp_path: Path
) -> None:
    name, v = store.copy_model(("good",))
    store.set_champion(v["good"], name)
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store.uri,
        "ATTRITION_MODEL_NAME": name,
        "ATTRITION_PREDICTION_STORE_URL": f"sqlite:///{tmp_path / 'predictions.db'}",
        "ATTRITION_API_KEY": "k",
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    rows = employee_rows(20)
    try:
        with httpx.Client(base_url=base, headers={"X-API-Key": "k"}, timeout=10) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "server did not become ready"
                time.sleep(0.3)
            answers = [client.post("/predict", json=rows[i % 20]) for i in range(60)]
            assert {a.status_code for a in answers} == {200}
            assert (
                client.post("/predict", headers={"X-API-Key": "no"}, json=rows[0]).status_code
                == 401
            )
            metrics = client.get("/metrics").text
            total = sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith("attrition_predictions_total{")
            )
            assert total == 60  # aggregated over both worker processes
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
    assert PredictionStore(env["ATTRITION_PREDICTION_STORE_URL"]).count() == 60
    text = (tmp_path / "serve.log").read_text()
    assert f"serving {name} version {v['good']}" in text
    assert "Age" not in text  # no feature payloads in the log
