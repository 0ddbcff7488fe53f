"""`attrition train --study-storage/--workers` and `attrition tune-worker` from the outside."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState
from typer.testing import CliRunner

from attrition.cli import app
from attrition.training.study import load_shared_study

runner = CliRunner()


def test_several_workers_need_a_study_storage(mlflow_store: str) -> None:
    result = runner.invoke(app, ["train", "--trials", "1", "--workers", "2"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: --workers needs --study-storage: worker processes share a stored study"
    )


def test_the_study_may_not_live_in_mlflows_database(mlflow_store: str) -> None:
    result = runner.invoke(app, ["train", "--trials", "1", "--study-storage", mlflow_store])
    assert result.exit_code == 1
    assert "a database of its own" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_joining_a_missing_study_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    result = runner.invoke(app, ["tune-worker", "--study", "absent", "--storage", url])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: no study named 'absent' in {url}"


def help_text(command: str) -> str:
    """The command's help as one line of words, without the boxes around it."""
    output = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
    return " ".join(output.replace("│", " ").split())


def test_help_states_what_is_deterministic() -> None:
    text = help_text("train")
    assert "each trial's score given its parameters" in text
    assert "with --workers 1 the whole search, equal to the in-memory one" in text
    assert "Not deterministic with several workers: which parameters are sampled" in text
    assert "depends on the trials completed before" in help_text("tune-worker")


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_on_postgres_run_the_budget_log_the_best_and_register(
    mlflow_store: str,
) -> None:
    from tests.registry.fixtures import postgres_database

    with postgres_database(prefix="tune_") as storage:
        args = ["train", "--trials", "4", "--seed", "7", "--no-profile"]
        args += ["--study-storage", storage, "--workers", "2", "--study-name", "pg-two"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        study = load_shared_study(storage, "pg-two")
        trials = study.get_trials()
        # Four trials, fewer than the pruner's five startup trials: every one completes.
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
        best = max(trials, key=lambda t: (t.value, -t.number))
        client = MlflowClient(tracking_uri=mlflow_store, registry_uri=mlflow_store)
        (version,) = client.search_model_versions("name='employee_attrition_model'")
        run = client.get_run(str(version.run_id))
        params = run.data.params
        assert params["study_name"] == "pg-two" and params["workers"] == "2"
        assert params["study_storage"] == storage
        assert params["model_kind"] == best.params["kind"]
        logged = {k.removeprefix("best."): v for k, v in params.items() if k.startswith("best.")}
        assert {k: str(v) for k, v in best.params.items() if k != "kind"}.items() <= logged.items()
        assert "Search study 'pg-two'" in result.output
        study.set_user_attr("checked", True)  # the study stays usable after the run


@pytest.mark.slow
def test_a_tune_worker_joins_a_running_training_and_shares_its_budget(
    mlflow_store: str, tmp_path: Path
) -> None:
    attrition = str(Path(sys.executable).with_name("attrition"))
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    args = [attrition, "train", "--trials", "16", "--no-profile", "--study-storage", storage]
    training = subprocess.Popen(
        [*args, "--study-name", "joined"],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # join once the study exists
            try:
                load_shared_study(storage, "joined")
                break
            except Exception:
                time.sleep(1)
        joined = subprocess.run(
            [attrition, "tune-worker", "--study", "joined", "--storage", storage, "--jobs", "1"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        output, _ = training.communicate(timeout=600)
    finally:
        if training.poll() is None:
            os.killpg(training.pid, 9)
    assert joined.returncode == 0, joined.stdout + joined.stderr
    assert training.returncode == 0, output
    ran = int(joined.stdout.split()[1])
    assert joined.stdout.startswith(f"Ran {ran} of the 16 trials of study 'joined'")
    study = load_shared_study(storage, "joined")
    budget = [t for t in study.trials if t.number < 16]
    assert len(budget) == 16 and all(t.state.is_finished() for t in budget)
    assert len(study.trials) - 16 <= 1  # a surplus trial at most
    assert 1 <= ran < 16  # both processes ran trials of the one budget
