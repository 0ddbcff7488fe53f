"""Versions, changelog, rejection loop and gc over real trainings, on SQLite and PostgreSQL.

Three trainings on generated employees (same schema, same schema after a
rejection it addresses, one input dropped by config) must give 1.0.0, 1.1.0 and
2.0.0; `set-threshold` then gives 2.0.1 on the same fitted model. gc must leave
every registered version loadable and servable and free exactly what it listed.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from mlflow.tracking import MlflowClient
from tests.registry.fixtures import postgres_database

from attrition.config import GateThresholds, Settings, load_dataset_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("maintenance-lifecycle")]
MODEL = "employee_attrition_model"
REJECTION = "fairness: parity gap for Gender; recall of leavers too low"


@dataclass
class Trained:
    uri: str
    root: Path
    client: MlflowClient
    versions: list[str]
    frame: pd.DataFrame


def _files(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_size for p in root.rglob("*") if p.is_file()}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def trained(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trained]:
    from attrition.data.generate import generate_employees
    from attrition.registry.transitions import record_review
    from attrition.training.facts import TrainOptions
    from attrition.training.run import run_training

    folder = tmp_path_factory.mktemp(f"lifecycle-{request.param}")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        if request.param == "sqlite":
            context: Any = _sqlite(folder)
        else:
            context = postgres_database()
        with context as uri:
            patch.setenv("MLFLOW_TRACKING_URI", uri)
            patch.setenv("MLFLOW_ARTIFACT_LOCATION", str(folder / "mlartifacts"))
            patch.setenv("ATTRITION_EXPERIMENT", f"lifecycle-{uuid.uuid4().hex[:6]}")
            settings = Settings()
            config = load_dataset_config()
            frame = generate_employees(700, seed=21)
            dropped = config.model_copy(update={"drop": [*config.drop, "DistanceFromHome"]})
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            versions = []
            plans = [(config, 1, None, False), (config, 2, None, True), (dropped, 3, "2", False)]
            for dataset, seed, addresses, log_trials in plans:
                if addresses:
                    record_review(client, MODEL, addresses, "reject", REJECTION, "reviewer")
                options = TrainOptions(
                    trials=2,
                    seed=seed,
                    experiment=settings.experiment,
                    profile=False,
                    log_trials=log_trials,
                    addresses=addresses,
                    note=f"training {seed}",
                    user="tester",
                )
                outcome = run_training(
                    frame, "generated:700", dataset, GateThresholds(), settings, options
                )
                versions.append(outcome.version)
            yield Trained(uri, folder / "mlartifacts", client, versions, frame)


class _sqlite:
    def __init__(self, folder: Path) -> None:
        self.uri = f"sqlite:///{folder / 'mlflow.db'}"

    def __enter__(self) -> str:
        return self.uri

    def __exit__(self, *exc: object) -> None:
        return None


def _semvers(client: MlflowClient) -> dict[str, str]:
    return {
        str(mv.version): mv.tags.get("semver", "")
        for mv in client.search_model_versions(f"name='{MODEL}'")
    }


def _scores(client: MlflowClient, version: str, frame: pd.DataFrame) -> np.ndarray:
    from attrition.serving.batch import score_frame
    from attrition.serving.model import load_version

    model = load_version(client, MODEL, version)
    return score_frame(model, frame[model.columns].head(50))["attrition_probability"].to_numpy()


def test_semvers_follow_the_input_contract(trained: Trained) -> None:
    semvers = _semvers(trained.client)
    assert [semvers[v] for v in trained.versions] == ["1.0.0", "1.1.0", "2.0.0"]
    third = trained.client.get_model_version(MODEL, trained.versions[2])
    change = json.loads(third.tags["attrition.semver_change"])
    assert change["level"] == "major" and "inputs removed: DistanceFromHome" in change["reasons"]
    run = trained.client.get_run(third.run_id or third.tags["attrition.run_id"])
    assert run.data.tags["attrition.semver"] == "2.0.0"
    assert (
        run.info.run_name.startswith("ibm_hr-") and run.data.tags["attrition.purpose"] == "retrain"
    )
    for tag in ("attrition.dataset", "attrition.data_hash", "attrition.code_version"):
        assert run.data.tags[tag]
    assert run.data.tags["attrition.user"] == "tester"
    names = {f.path for f in trained.client.list_artifacts(run.info.run_id)}
    assert {"trials.csv", "environment.json", "CHANGELOG.md", "model_card.md"} <= names
    with tempfile.TemporaryDirectory() as tmp:
        card = Path(trained.client.download_artifacts(run.info.run_id, "model_card.md", tmp))
        assert "2.0.0" in card.read_text()


def test_trial_runs_are_nested_only_when_asked(trained: Trained) -> None:
    runs = trained.client.search_runs(
        [trained.client.get_experiment_by_name(os.environ["ATTRITION_EXPERIMENT"]).experiment_id]
    )
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    second = trained.client.get_model_version(MODEL, trained.versions[1]).run_id
    assert children and {r.data.tags["mlflow.parentRunId"] for r in children} == {second}


def test_set_threshold_registers_a_patch_on_the_same_fitted_model(trained: Trained) -> None:
    from attrition.training.evaluate import classification_metrics
    from attrition.training.patch import set_threshold

    base = trained.versions[2]
    patched = set_threshold(
        trained.client, MODEL, base, 0.5, GateThresholds(), actor="tester", reason="fewer alarms"
    )
    trained.versions.append(patched.version)
    assert patched.semver == "2.0.1" == _semvers(trained.client)[patched.version]
    old = trained.client.get_model_version(MODEL, base)
    new = trained.client.get_model_version(MODEL, patched.version)
    assert new.source == old.source
    np.testing.assert_array_equal(
        _scores(trained.client, patched.version, trained.frame),
        _scores(trained.client, base, trained.frame),
    )
    with tempfile.TemporaryDirectory() as tmp:
        meta = json.loads(
            Path(
                trained.client.download_artifacts(patched.run_id, "model_metadata.json", tmp)
            ).read_text()
        )
        predictions = pd.read_parquet(
            trained.client.download_artifacts(
                patched.run_id, "reference/test_predictions.parquet", tmp
            )
        )
    assert meta["threshold"] == 0.5 and meta["decision_settings"]["patch_of"] == base
    expected = classification_metrics(predictions["label"], predictions["proba"], 0.5)
    metrics = trained.client.get_run(patched.run_id).data.metrics
    for name, value in expected.items():
        assert metrics[f"test_{name}"] == pytest.approx(value)


def test_the_changelog_has_the_right_deltas_and_links(trained: Trained) -> None:
    from attrition.registry.changelog import build_changelog
    from attrition.reports.changelog import changelog_markdown

    if len(trained.versions) < 4:
        pytest.skip("needs the set-threshold version")
    entries = build_changelog(trained.client, MODEL)
    assert [e.semver for e in entries] == ["2.0.1", "2.0.0", "1.1.0", "1.0.0"]
    patch, major, minor, first = entries
    assert major.inputs_removed == ["DistanceFromHome"] and not major.inputs_added
    assert not minor.inputs_removed and not minor.inputs_added
    runs = {e.version: trained.client.get_run(e.run_id) for e in entries if e.run_id}
    for entry in (minor, major):
        delta = next(d for d in entry.metric_deltas if d.metric == "roc_auc")
        before = runs[entry.previous].data.metrics["test_roc_auc"]
        after = runs[entry.version].data.metrics["test_roc_auc"]
        assert delta.delta == pytest.approx(after - before)
        assert delta.low is not None and delta.low <= delta.delta <= delta.high
    same = next(d for d in patch.metric_deltas if d.metric == "roc_auc")
    assert same.delta == 0 and same.low == 0 and same.high == 0
    assert patch.params_changed["threshold"][1] == "0.5"
    assert major.addresses["version"] == trained.versions[1]
    assert [r["category"] for r in major.addresses["reasons"]] == ["fairness", "performance"]
    assert minor.addressed_by == [major.version]
    assert minor.review["decision"] == "rejected" and minor.review["reasons"]
    assert [n["note"] for n in first.notes] == ["training 1"]
    text = changelog_markdown(MODEL, entries)
    assert text.index("## 2.0.1") < text.index("## 2.0.0") < text.index("## 1.0.0")
    assert "inputs removed: DistanceFromHome" in text and "Addresses version" in text


def test_the_review_report_shows_what_a_version_addresses(trained: Trained) -> None:
    from attrition.registry.review import gather_review
    from attrition.reports.review_report import render_review_report

    facts = gather_review(
        trained.client, MODEL, trained.versions[2], GateThresholds(), resamples=50
    )
    html = render_review_report(facts)
    assert "2.0.0" in html and f"version {trained.versions[1]}, rejected for" in html
    assert "[fairness] parity gap for Gender" in html


def test_gc_dry_run_changes_nothing_and_gc_frees_what_it_listed(trained: Trained) -> None:
    import mlflow
    from sklearn.dummy import DummyClassifier

    from attrition.maintenance.gc import apply_gc, plan_gc

    client = trained.client
    experiment = client.get_experiment_by_name(os.environ["ATTRITION_EXPERIMENT"]).experiment_id
    mlflow.set_tracking_uri(trained.uri)
    with mlflow.start_run(experiment_id=experiment, run_name="abandoned") as run:
        mlflow.log_text("x" * 5000, "notes.txt")
        mlflow.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), name="model")
    abandoned = run.info.run_id
    files = _files(trained.root)

    plan = plan_gc(client, timedelta(0), trials=False)
    assert [d.run_id for d in plan.doomed] == [abandoned]
    assert plan.kept["trials"] > 0 and plan.kept["registered or recorded"] >= 4
    with_trials = plan_gc(client, timedelta(0), trials=True)
    assert len(with_trials.doomed) == 1 + plan.kept["trials"]
    assert _files(trained.root) == files  # planning (the dry run) changes nothing
    assert client.get_run(abandoned).info.lifecycle_stage == "active"

    freed = apply_gc(client, trained.uri, plan)
    assert freed == plan.bytes > 5000
    gone = sum(size for path, size in files.items() if not Path(path).exists())
    assert gone == plan.bytes
    with pytest.raises(Exception, match=r"not found|does not exist|No Run"):
        client.get_run(abandoned)
    for version in trained.versions:
        assert len(_scores(client, version, trained.frame)) == 50


def test_status_figures_match_the_database_and_the_files(trained: Trained, tmp_path: Path) -> None:
    from attrition.maintenance.status import store_status
    from attrition.maintenance.stores import engine_for

    found = store_status(
        trained.client, trained.uri, str(trained.root), f"sqlite:///{tmp_path / 'pred.db'}"
    )
    assert found.artifact_bytes == sum(_files(trained.root).values())
    assert found.artifact_files == len(_files(trained.root))
    engine = engine_for(trained.uri)
    try:
        with engine.connect() as conn:
            counts = dict(
                conn.execute(
                    sa.text("SELECT experiment_id, COUNT(*) FROM runs GROUP BY experiment_id")
                ).all()
            )
            if engine.dialect.name == "postgresql":
                size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
                assert abs(found.database_bytes - size) < 64 * 1024  # autovacuum may write between
            else:
                path = Path(trained.uri.removeprefix("sqlite:///"))
                wal = Path(f"{path}-wal")
                assert found.database_bytes == path.stat().st_size + (
                    wal.stat().st_size if wal.exists() else 0
                )
    finally:
        engine.dispose()
    assert {e.experiment_id: e.runs for e in found.experiments if e.runs} == {
        str(k): v for k, v in counts.items()
    }
    assert found.prediction_rows is None
