"""The command line from the outside: one-line errors, non-zero exits, nothing registered."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attrition.cli import app

runner = CliRunner()


def registered_versions(uri: str) -> int:
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        return len(client.search_model_versions("name='employee_attrition_model'"))
    except Exception:
        return 0


@pytest.fixture
def bad_files(tmp_path: Path, ibm_frame: pd.DataFrame) -> dict[str, Path]:
    files = {}
    files["no_target"] = tmp_path / "no_target.csv"
    ibm_frame.drop(columns=["Attrition"]).to_csv(files["no_target"], index=False)
    three = ibm_frame.copy()
    three.loc[three.index[:5], "Attrition"] = "Maybe"
    files["three_labels"] = tmp_path / "three_labels.csv"
    three.to_csv(files["three_labels"], index=False)
    bad_age = ibm_frame.copy()
    bad_age["Age"] = bad_age["Age"].astype(str)
    bad_age.loc[bad_age.index[:7], "Age"] = "abc"
    files["bad_age"] = tmp_path / "bad_age.csv"
    bad_age.to_csv(files["bad_age"], index=False)
    files["empty"] = tmp_path / "empty.csv"
    files["empty"].write_text("")
    files["notes"] = tmp_path / "notes.txt"
    files["notes"].write_text("hello\n")
    files["missing"] = tmp_path / "missing_file.csv"
    return files


EXPECTED = {
    "no_target": "column 'Attrition': missing column",
    "three_labels": "labels are not binary",
    "bad_age": "column 'Age': wrong type",
    "empty": "file is empty",
    "notes": "unknown file format '.txt'",
    "missing": "file not found",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_bad_input_one_line_and_nothing_registered(
    kind: str, bad_files: dict[str, Path], mlflow_store: str
) -> None:
    for args in (
        ["train", "--data", str(bad_files[kind]), "--trials", "1"],
        ["data", "validate", str(bad_files[kind])],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert EXPECTED[kind] in result.output
    assert registered_versions(mlflow_store) == 0


def test_unreachable_database(mlflow_store: str) -> None:
    result = runner.invoke(app, ["train", "--data", "postgresql://nobody@127.0.0.1:1/hr#employees"])
    assert result.exit_code == 1
    assert "database unreachable" in result.output
    assert registered_versions(mlflow_store) == 0


def test_bad_mitigation_value(mlflow_store: str) -> None:
    result = runner.invoke(app, ["train", "--mitigate", "magic"])
    assert result.exit_code == 2 and "--mitigate" in result.output
    assert "'demographic_parity', 'equalized_odds'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert registered_versions(mlflow_store) == 0


def test_generate_then_validate(tmp_path: Path) -> None:
    out = tmp_path / "gen.csv"
    result = runner.invoke(
        app, ["data", "generate", "--rows", "500", "--out", str(out), "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 500
    result = runner.invoke(app, ["data", "validate", str(out)])
    assert result.exit_code == 0 and "valid (500 rows, 35 columns)" in result.output


def test_generate_refuses_unknown_format(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["data", "generate", "--rows", "5", "--out", str(tmp_path / "x.xlsx")]
    )
    assert result.exit_code == 1 and "unknown file format" in result.output


def test_doctor_on_fresh_store(mlflow_store: str) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "tracking store" in result.output and "model registry" in result.output


def test_doctor_reports_unwritable_artifacts(
    mlflow_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ARTIFACT_LOCATION", "/proc/attrition-cannot-write-here")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "artifact location" in result.output


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:{port}", "postgresql://postgres@127.0.0.1:{port}/mlflow"]
)
def test_serve_fails_fast_on_an_unreachable_registry(
    uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri.format(port=port))
    started = time.perf_counter()
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 1
    assert "unreachable" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert time.perf_counter() - started < 15
