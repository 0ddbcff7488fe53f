"""Before training: the store is opened under the lock, and artifacts must be writable."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attrition.cli import app

OPEN = """
import sys, time
from attrition.config import Settings
from attrition.training.preflight import prepare_store
settings = Settings.model_validate(
    {"MLFLOW_TRACKING_URI": sys.argv[1], "MLFLOW_ARTIFACT_LOCATION": sys.argv[2]}
)
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # all at once, as two first trains
prepare_store(settings, "employee_attrition")
"""


def test_concurrent_first_runs_on_a_fresh_store_all_succeed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    (tmp_path / "fresh").mkdir()
    start_at = str(time.time() + 10)  # past every process's imports
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, uri, str(tmp_path / "a"), start_at],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=180)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
    client = MlflowClient(tracking_uri=uri)
    assert client.search_experiments()  # a working store


def test_unwritable_artifacts_fail_before_any_training(
    mlflow_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ARTIFACT_LOCATION", "/proc/attrition-cannot-write-here")
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["train", "--trials", "2", "--no-profile"])
    assert result.exit_code == 1
    assert "not writable" in result.output and "MLFLOW_ARTIFACT_LOCATION" in result.output
    assert time.perf_counter() - started < 30  # no search ran
    client = MlflowClient(tracking_uri=mlflow_store)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert runs == []  # no trial runs left behind
