"""`attrition models ...` on a real SQLite MLflow store: tables, refusals, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.registry.fixtures import Store, save_models, temp_store
from typer.testing import CliRunner

from attrition.commands.models import models_app


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    models = save_models(tmp_path_factory.mktemp("models"))
    with temp_store("sqlite", tmp_path_factory.mktemp("cli-store"), models) as s:
        yield s


@pytest.fixture
def cli(store: Store, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    monkeypatch.setenv("COLUMNS", "240")
    monkeypatch.delenv("ATTRITION_GATES_CONFIG", raising=False)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(models_app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def move(cli: CliRunner, name: str, version: str, stage: str, *extra: str) -> tuple[int, str, str]:
    return run(
        cli,
        "transition-stage",
        "--model-name",
        name,
        "--version",
        version,
        "--stage",
        stage,
        *extra,
    )


def test_transition_prints_the_gate_table_and_reaches_production(
    cli: CliRunner, store: Store
) -> None:
    name = store.new_model()
    version = store.make_version(name)

    code, out, _ = move(cli, name, version, "Staging")
    assert code == 0
    assert "performance.accuracy" in out and "documentation.model_card" in out
    assert f"{name} version {version}: None -> Staging" in out

    code, out, _ = move(cli, name, version, "production")
    assert code == 0
    assert "First deployment" in out and "-> Production" in out


def test_refused_transition_lists_each_failing_gate_and_exits_1(
    cli: CliRunner, store: Store
) -> None:
    name = store.new_model()
    version = store.make_version(name, metrics={"test_accuracy": 0.81, "dq_outlier_rate": 0.03})

    code, out, err = move(cli, name, version, "Staging")

    assert code == 1
    refused = [line for line in err.splitlines() if line.startswith("refused:")]
    assert len(refused) == 2
    assert refused[0].startswith("refused: performance.accuracy = 0.810 (needs > 0.85)")
    assert refused[1].startswith("refused: data_quality.outlier_rate = 0.030 (needs < 0.01)")
    assert "stays in None" in err and "Traceback" not in out + err
    assert "performance.accuracy" in out  # the full gate table is shown too


def test_force_with_reason_is_shown_and_force_without_reason_is_an_error(
    cli: CliRunner, store: Store
) -> None:
    name = store.new_model()
    version = store.make_version(name, metrics={"test_accuracy": 0.81})

    code, _, err = move(cli, name, version, "Staging", "--force")
    assert code == 1 and "--force needs --reason" in err

    code, out, _ = move(cli, name, version, "Staging", "--force", "--reason", "HR pilot")
    assert code == 0 and "forced: HR pilot" in out


def test_list_describe_and_rollback(cli: CliRunner, store: Store) -> None:
    name = store.new_model()
    v1, v2 = store.make_version(name), store.make_version(name)
    for version in (v1, v2):
        assert move(cli, name, version, "Staging")[0] == 0
        assert move(cli, name, version, "Production")[0] == 0

    code, out, _ = run(cli, "list")
    assert code == 0 and name in out and "champion" in out and "0.910" in out

    code, out, _ = run(cli, "rollback", "--name", name, "--reason", "bad batch scores")
    assert code == 0
    assert f"version {v1} is back in Production" in out and f"version {v2} archived" in out

    code, out, _ = run(cli, "describe", "--name", name)
    assert code == 0
    assert "audit trail" in out and "latest gate results" in out
    assert "rollback" in out and "bad batch scores" in out
    assert "Staging -> Production" in out and "Production -> Archived" in out
    assert "champion" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["describe", "--name", "no_such_model"], "no registered model named 'no_such_model'"),
        (["rollback", "--name", "no_such_model"], "no registered model named 'no_such_model'"),
        (
            [
                "transition-stage",
                "--model-name",
                "no_such_model",
                "--version",
                "1",
                "--stage",
                "Staging",
            ],
            "no registered model named 'no_such_model'",
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    cli: CliRunner, args: list[str], message: str
) -> None:
    code, out, err = run(cli, *args)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["transition-stage", "--version", "1", "--stage", "Live"],
            "Invalid value for '--stage': 'Live' is not one of 'staging', 'production', 'archived'",
        ),
        (["transition-stage", "--stage", "Staging"], "Missing option '--version'"),
        (
            ["transition-stage", "--version", "1"],
            "Missing option '--stage'. Choose from: staging, production, archived",
        ),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(
    cli: CliRunner, args: list[str], message: str
) -> None:
    code, out, err = run(cli, *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Usage:" not in out + err and "Traceback" not in out + err


def test_model_name_is_accepted_under_both_spellings(cli: CliRunner, store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name)
    code, out, _ = run(
        cli, "transition-stage", "--name", name, "--version", version, "--stage", "staging"
    )
    assert code == 0 and f"{name} version {version}: None -> Staging" in out
    for spelling in ("--name", "--model-name"):
        code, out, _ = run(cli, "describe", spelling, name)
        assert code == 0 and f"{name}: versions" in out


def test_unknown_version_is_one_line(cli: CliRunner, store: Store) -> None:
    name = store.new_model()
    store.make_version(name)
    code, _, err = move(cli, name, "42", "Staging")
    assert code == 1 and f"model '{name}' has no version '42'" in err


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("postgresql://postgres@127.0.0.1:9/nowhere", "unreachable"),
        (
            "sqlite:////nonexistent-folder/mlflow.db",
            "no MLflow store at /nonexistent-folder/mlflow.db",
        ),
    ],
)
def test_unreachable_store_is_one_line(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, uri: str, message: str
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code, out, err = run(cli, "list")
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
    assert not Path("/nonexistent-folder").exists()
