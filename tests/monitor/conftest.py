"""Fixtures of the monitoring tests: one trained champion per session, a fresh scene per test.

The champion is a real `run_training` run on generated employees, registered and
moved to Production through the registry (forced: generated data need not pass
the default gates). Each test gets its own monitoring experiment and prediction
store, so the "since the last check" windows of tests never meet.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

MODEL = "employee_attrition_model"


@dataclass
class ChampionStore:
    """A real MLflow store holding a trained champion."""

    uri: str
    artifacts: Path
    version: str
    training: pd.DataFrame


@dataclass
class Scene:
    """The environment of one test: store URLs and a working folder."""

    store: ChampionStore
    folder: Path
    predictions_url: str
    experiment: str


@pytest.fixture(scope="session")
def champion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChampionStore]:
    """Train, register and promote one model (2,000 generated employees, one trial)."""
    from attrition.config import Settings, load_dataset_config, load_gate_thresholds
    from attrition.data.generate import generate_employees
    from attrition.registry.transitions import transition
    from attrition.tracking import client_for
    from attrition.training.run import TrainOptions, run_training

    root = tmp_path_factory.mktemp("monitor-store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    patch.setenv("MLFLOW_ARTIFACT_LOCATION", str(root / "artifacts"))
    try:
        settings = Settings()
        training = generate_employees(2000, seed=11)
        outcome = run_training(
            training,
            "generated:2000",
            load_dataset_config(),
            load_gate_thresholds(),
            settings,
            TrainOptions(trials=1, seed=3, experiment="monitor-tests", profile=False),
        )
        client = client_for(uri)
        for stage in ("Staging", "Production"):
            transition(
                client,
                MODEL,
                outcome.version,
                stage,
                thresholds=load_gate_thresholds(),
                actor="tests",
                force=True,
                reason="monitoring tests need a champion",
            )
    finally:
        patch.undo()
    yield ChampionStore(uri, root / "artifacts", str(outcome.version), training)


@pytest.fixture
def scene(
    champion: ChampionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scene]:
    """Point the settings at the champion's store, a fresh prediction store and experiment."""
    experiment = f"test-{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", champion.uri)
    monkeypatch.setenv("MLFLOW_ARTIFACT_LOCATION", str(champion.artifacts))
    monkeypatch.setenv("ATTRITION_EXPERIMENT", experiment)
    monkeypatch.setenv("ATTRITION_PREDICTION_STORE_URL", url)
    monkeypatch.delenv("ATTRITION_GATES_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    yield Scene(champion, tmp_path, url, experiment)
    import mlflow

    if mlflow.active_run():
        mlflow.end_run()


@pytest.fixture(scope="session")
def same_distribution() -> pd.DataFrame:
    """5,000 new employees from the generator the champion was trained on (another seed)."""
    from attrition.data.generate import generate_employees

    return generate_employees(5000, seed=12)


def shift(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """More overtime (70% Yes) and lower job and environment satisfaction (-1, within 1-4)."""
    shifted = frame.copy()
    rng = np.random.default_rng(seed)
    shifted["OverTime"] = np.where(rng.random(len(shifted)) < 0.7, "Yes", "No")
    for column in ("JobSatisfaction", "EnvironmentSatisfaction"):
        shifted[column] = np.clip(shifted[column] - 1, 1, 4)
    return shifted


@pytest.fixture(scope="session")
def shifted(same_distribution: pd.DataFrame) -> pd.DataFrame:
    """The same employees with the acceptance test's shift."""
    return shift(same_distribution)


@dataclass
class Receiver:
    """A local webhook receiver: its address and the requests it got (path, headers, body)."""

    host: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server: POST /fail answers 500, /slow answers after a second, others 204."""
    got = Receiver(host="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.received.append((self.path, dict(self.headers), body))
            if self.path == "/slow":
                time.sleep(1.0)
            self.send_response(500 if self.path == "/fail" else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got.host = f"127.0.0.1:{server.server_port}"
    yield got
    server.shutdown()
    server.server_close()
