"""Training from a SQL table, end to end on SQLite and PostgreSQL; no password ever printed.

validate -> train -> register (Staging, Production) -> doctor -> serve one prediction. On
PostgreSQL both the data URL and the tracking store's URL carry a planted password (the
test server trusts every local connection, so any password is accepted): it must appear
in no command output, no server log line and no stored artifact.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.api.server import free_port, start_server, stop_group
from typer.testing import CliRunner

from attrition.cli import app

PASSWORD = "Planted9Passw0rd"
MODEL = "employee_attrition_model"
FORCE = ("--force", "--reason", "test")  # gates judge generated data harshly
runner = CliRunner()


@contextlib.contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL to write the table with, the same URL as a user would type it)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'hr.db'}"
        yield url, url
        return
    from tests.registry.fixtures import postgres_database

    with postgres_database() as url:
        yield url, url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_train_and_serve_from_a_sql_table(
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    generated_frame: pd.DataFrame,
) -> None:
    monkeypatch.chdir(tmp_path)
    with database(backend, tmp_path) as (plain, typed):
        engine = sa.create_engine(plain)
        generated_frame.head(1500).to_sql("employees", engine, index=False)
        engine.dispose()
        tracking = typed if backend == "postgresql" else f"sqlite:///{tmp_path / 'mlflow.db'}"
        env = {
            "MLFLOW_TRACKING_URI": tracking,
            "MLFLOW_ARTIFACT_LOCATION": str(tmp_path / "mlartifacts"),
            "ATTRITION_PREDICTION_STORE_URL": f"sqlite:///{tmp_path / 'predictions.db'}",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        source = f"{typed}#employees"
        outputs = []
        for args in (
            ["data", "validate", source],
            ["train", "--data", source, "--trials", "2", "--no-profile"],
            *(
                [
                    "models",
                    "transition-stage",
                    "--version",
                    "1",
                    "--stage",
                    stage,
                    "--force",
                    "--reason",
                    "test",
                ]
                for stage in ("Staging", "Production")
            ),
            ["doctor"],
        ):
            result = runner.invoke(app, args)
            outputs.append(result.output)
            assert result.exit_code == 0, (args, result.output)
        assert "1500" in outputs[0] or "passed" in outputs[0].lower()

        log = tmp_path / "serve.log"
        port = free_port()
        server = start_server({**os.environ, **env}, port, log)
        try:
            row = generated_frame.drop(columns=["Attrition"]).iloc[0].to_dict()
            row = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            info = httpx.get(f"http://127.0.0.1:{port}/model-info", timeout=10).json()
            wanted = {f["name"] for f in info["features"]} | {"EmployeeNumber"}
            answer = httpx.post(
                f"http://127.0.0.1:{port}/predict",
                json={k: v for k, v in row.items() if k in wanted},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            assert 0.0 <= answer.json()["attrition_probability"] <= 1.0
        finally:
            stop_group(server)
    captured = capfd.readouterr()
    everything = "\n".join([*outputs, captured.out, captured.err, log.read_text()])
    assert "Prediction API on" in everything  # the banner is among what was checked
    assert PASSWORD not in everything
    for path in (tmp_path / "mlartifacts").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml", ".md", ".txt", ".html", ""):
            assert PASSWORD not in path.read_text(errors="ignore"), path
