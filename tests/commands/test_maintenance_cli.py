"""`attrition maintenance ...` and the semver commands through the CLI: output, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from attrition.cli import app


@pytest.fixture
def cli(mlflow_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ATTRITION_PREDICTION_STORE_URL", f"sqlite:///{tmp_path / 'pred.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    from mlflow.tracking import MlflowClient

    MlflowClient(tracking_uri=mlflow_store).search_experiments()  # an empty, migrated store
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_status_index_and_gc_on_an_empty_store(cli: CliRunner, tmp_path: Path) -> None:
    code, out, _ = run(cli, "maintenance", "status")
    assert code == 0 and "0 runs" in out and "absent" in out
    code, out, _ = run(cli, "maintenance", "index")
    assert code == 0 and "attrition_ix_predictions_employee" in out
    code, out, _ = run(cli, "maintenance", "index")
    assert code == 0 and "All indexes present" in out
    code, out, _ = run(cli, "maintenance", "status")
    assert "MISSING" not in out
    code, out, _ = run(cli, "maintenance", "gc", "--older-than", "0d", "--dry-run")
    assert code == 0 and "would delete 0 runs, 0 bytes" in out
    code, out, _ = run(
        cli, "maintenance", "archive-predictions", "--older-than", "365d", "--out", str(tmp_path)
    )
    assert code == 0 and "Archived 0 predictions" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("maintenance", "gc", "--older-than", "ninety days"), "--older-than must look like"),
        (("models", "changelog", "--name", "nobody"), "no registered model named 'nobody'"),
        (("train", "--addresses", "1"), "no registered model named 'employee_attrition_model'"),
        (
            ("models", "set-threshold", "--name", "nobody", "--version", "1", "--threshold", "1.5"),
            "--threshold must be between 0 and 1",
        ),
        (
            ("models", "set-threshold", "--name", "nobody", "--version", "1", "--threshold", "0.4"),
            "no registered model named 'nobody'",
        ),
    ],
)
def test_mistakes_are_one_line_errors(cli: CliRunner, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(cli, *args)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
