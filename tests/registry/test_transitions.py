"""Gated transitions on real MLflow stores: SQLite in a temp folder and PostgreSQL."""

from __future__ import annotations

import json
import math
import multiprocessing
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.registry.fixtures import Store, save_models, temp_store

from attrition.config import GateThresholds
from attrition.errors import RegistryError
from attrition.registry.audit import read_trail
from attrition.registry.gates import GateReport, build_report, compare
from attrition.registry.lock import registry_lock
from attrition.registry.transitions import TransitionRefused, record_review, rollback, transition
from attrition.registry.versions import normalise_stage

pytestmark = pytest.mark.xdist_group("registry-transitions")

THRESHOLDS = GateThresholds()


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return save_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def sqlite_store(
    tmp_path_factory: pytest.TempPathFactory, saved_models: dict[str, str]
) -> Iterator[Store]:
    with temp_store("sqlite", tmp_path_factory.mktemp("sqlite"), saved_models) as s:
        yield s


@pytest.fixture(scope="module")
def postgres_store(
    tmp_path_factory: pytest.TempPathFactory, saved_models: dict[str, str]
) -> Iterator[Store]:
    with temp_store("postgres", tmp_path_factory.mktemp("postgres"), saved_models) as s:
        yield s


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    """Each key scenario runs on both backends."""
    return request.getfixturevalue(f"{request.param}_store")


def promote(store: Store, name: str, version: str, stage: str, **kwargs: Any) -> GateReport:
    """transition() with the test defaults (default thresholds, actor 'tester')."""
    options: dict[str, Any] = {"thresholds": THRESHOLDS, "actor": "tester", **kwargs}
    return transition(store.client, name, version, stage, **options)


def stages(store: Store, name: str) -> dict[str, str]:
    found = store.client.search_model_versions(f"name='{name}'")
    return {str(mv.version): str(mv.current_stage) for mv in found}


def aliases(store: Store, name: str) -> dict[str, str]:
    return {k: str(v) for k, v in store.client.get_registered_model(name).aliases.items()}


def run_of(store: Store, name: str, version: str) -> str:
    return str(store.client.get_model_version(name, version).run_id)


def gate_report(store: Store, name: str, version: str) -> dict[str, Any]:
    path = store.client.download_artifacts(run_of(store, name, version), "gate_report.json")
    return json.loads(Path(path).read_text())


def test_passing_model_reaches_staging_then_production_then_is_replaced(store: Store) -> None:
    name = store.new_model()
    v1, v2 = store.make_version(name), store.make_version(name)

    staged = promote(store, name, v1, "Staging")
    assert staged.passed and not staged.forced
    assert any(r.name == "performance.f1_attrition" and r.passed is None for r in staged.results)
    assert stages(store, name)[v1] == "Staging"
    assert aliases(store, name) == {"challenger": v1}

    first = promote(store, name, v1, "Production")
    rollback_result = next(r for r in first.results if r.name == "production.rollback_target")
    assert rollback_result.passed and "first deployment" in rollback_result.message.lower()
    assert aliases(store, name) == {"champion": v1}

    promote(store, name, v2, "Staging")
    assert aliases(store, name) == {"champion": v1, "challenger": v2}
    second = promote(store, name, v2, "Production")
    ab = next(r for r in second.results if r.name == "production.ab_comparison")
    assert ab.passed and "95% paired-bootstrap interval" in ab.message
    assert stages(store, name) == {v1: "Archived", v2: "Production"}
    assert aliases(store, name) == {"champion": v2}
    tags = store.client.get_model_version(name, v2).tags
    assert tags["attrition.rollback_target"] == v1
    assert tags["attrition.stage_gate"] == "passed"
    assert tags["attrition.production_gate"] == "passed"

    report = gate_report(store, name, v2)
    assert report["target_stage"] == "Production" and report["outcome"] == "passed"
    history = store.client.list_artifacts(run_of(store, name, v2), "gate_reports")
    assert len(history) == 2  # one per attempt: Staging, Production


STAGING_FAILURES = [
    ("performance.accuracy", {"test_accuracy": 0.80}, ()),
    ("performance.roc_auc", {"test_roc_auc": 0.80}, ()),
    ("performance.f1", {"test_f1_weighted": 0.70}, ()),
    ("performance.precision", {"test_precision_weighted": 0.70}, ()),
    ("performance.recall", {"test_recall_weighted": 0.70}, ()),
    (
        "fairness.Gender.statistical_parity_difference",
        {"fairness.Gender.statistical_parity_difference": -0.15},
        (),
    ),
    ("data_quality.missing_rate", {"dq_missing_rate": 0.08}, ()),
    ("data_quality.outlier_rate", {"dq_outlier_rate": 0.02}, ()),
    ("data_quality.max_abs_correlation", {"dq_max_abs_correlation": 0.93}, ()),
    ("data_quality.duplicate_rate", {"dq_duplicate_rate": 0.3}, ()),
    ("documentation.model_card", {}, ("model_card.md",)),
    ("documentation.fairness_report", {}, ("fairness_report.html",)),
]


@pytest.mark.parametrize(
    ("gate", "metrics", "omit"), STAGING_FAILURES, ids=[c[0] for c in STAGING_FAILURES]
)
def test_failing_any_one_staging_gate_is_refused_with_that_gate_named(
    sqlite_store: Store, gate: str, metrics: dict[str, float], omit: tuple[str, ...]
) -> None:
    assert_refused_with_only(sqlite_store, gate, metrics, omit)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("gate", "metrics", "omit"),
    [STAGING_FAILURES[0], STAGING_FAILURES[5], STAGING_FAILURES[-1]],
    ids=["performance", "fairness", "documentation"],
)
def test_failing_staging_gate_is_refused_on_postgres(
    postgres_store: Store, gate: str, metrics: dict[str, float], omit: tuple[str, ...]
) -> None:
    assert_refused_with_only(postgres_store, gate, metrics, omit)


def assert_refused_with_only(
    store: Store, gate: str, metrics: dict[str, float], omit: tuple[str, ...]
) -> None:
    """The version fails exactly `gate`: refused, gate named, only the record changed."""
    name = store.new_model()
    version = store.make_version(name, metrics=metrics, omit=omit)

    with pytest.raises(TransitionRefused) as refused:
        promote(store, name, version, "Staging")

    assert [r.name for r in refused.value.report.failures] == [gate]
    assert gate in str(refused.value)
    assert stages(store, name)[version] == "None" and aliases(store, name) == {}
    report = gate_report(store, name, version)
    assert report["outcome"] == "failed" and report["failed_gates"] == [gate]
    assert store.client.get_model_version(name, version).tags["attrition.stage_gate"] == "failed"
    (event,) = read_trail(store.client, name)
    assert event.outcome == "refused" and event.failed_gates == [gate]


def test_refusal_lists_every_failing_gate_with_value_and_threshold(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(
        name, metrics={"test_accuracy": 0.8, "dq_missing_rate": 0.2}, omit=("model_card.md",)
    )
    with pytest.raises(TransitionRefused) as refused:
        promote(store, name, version, "Staging")
    message = str(refused.value)
    assert "3 gate(s) failed" in message
    assert "performance.accuracy = 0.800 (needs > 0.85)" in message
    assert "data_quality.missing_rate = 0.200 (needs < 0.05)" in message
    assert "documentation.model_card = missing" in message


def test_production_needs_staging_first(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name)
    with pytest.raises(TransitionRefused) as refused:
        promote(store, name, version, "Production")
    assert "production.staging_record" in [r.name for r in refused.value.report.failures]
    assert stages(store, name)[version] == "None"


def test_force_needs_a_reason_and_is_recorded(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name, metrics={"test_roc_auc": 0.7})
    with pytest.raises(RegistryError, match="--reason"):
        promote(store, name, version, "Staging", force=True)

    report = promote(store, name, version, "Staging", force=True, reason="pilot for HR team")

    assert report.forced and report.reason == "pilot for HR team"
    assert [r.name for r in report.failures] == ["performance.roc_auc"]
    assert stages(store, name)[version] == "Staging"
    assert store.client.get_model_version(name, version).tags["attrition.stage_gate"] == "forced"
    logged = gate_report(store, name, version)
    assert logged["forced"] is True and logged["reason"] == "pilot for HR team"
    assert logged["failed_gates"] == ["performance.roc_auc"]
    (event,) = read_trail(store.client, name)
    assert (event.forced, event.reason, event.outcome) == (True, "pilot for HR team", "applied")
    # a forced Staging record counts for Production
    promote(store, name, version, "Production")
    assert aliases(store, name) == {"champion": version}


def test_rejected_review_blocks_production(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name)
    promote(store, name, version, "Staging")
    record_review(store.client, name, version, "reject", "model card incomplete", "reviewer")

    with pytest.raises(TransitionRefused) as refused:
        promote(store, name, version, "Production")
    assert [r.name for r in refused.value.report.failures] == ["production.review"]
    assert "model card incomplete" in refused.value.report.failures[0].message

    record_review(store.client, name, version, "approve", "card fixed", "reviewer")
    promote(store, name, version, "Production")
    assert stages(store, name)[version] == "Production"
    actions = [e.action for e in read_trail(store.client, name)]
    assert actions == [
        "transition",
        "review:rejected",
        "transition",
        "review:approved",
        "transition",
    ]


def test_worse_candidate_fails_the_ab_comparison(store: Store) -> None:
    name = store.new_model()
    champion = store.make_version(name)
    coin = store.make_version(name, model="coin")
    for version in (champion, coin):
        promote(store, name, version, "Staging")
    promote(store, name, champion, "Production")

    with pytest.raises(TransitionRefused) as refused:
        promote(store, name, coin, "Production")

    (ab,) = refused.value.report.failures
    assert ab.name == "production.ab_comparison"
    assert f"champion v{champion}" in ab.message and "95% paired-bootstrap interval [" in ab.message
    assert isinstance(ab.value, float) and ab.value < -THRESHOLDS.non_inferiority_margin
    assert aliases(store, name)["champion"] == champion


def test_ab_comparison_leaves_out_rows_the_champion_trained_on(store: Store) -> None:
    name = store.new_model()
    # "tenure" stands in for the employee id: the champion trained on every test row.
    seen = {"reference/train_ids.parquet": store.test_set[["tenure"]]}
    champion = store.make_version(name, extra=seen)
    candidate = store.make_version(name)
    for version in (champion, candidate):
        promote(store, name, version, "Staging")
    promote(store, name, champion, "Production")

    with pytest.raises(TransitionRefused) as refused:
        promote(store, name, candidate, "Production")

    (ab,) = refused.value.report.failures
    assert ab.name == "production.ab_comparison"
    assert "unseen by both models" in ab.message and "v1 trained on 300" in ab.message


def test_missing_monitoring_reference_is_refused(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name, omit=("reference/features.parquet",))
    promote(store, name, version, "Staging")
    with pytest.raises(TransitionRefused) as refused:
        promote(store, name, version, "Production")
    assert [r.name for r in refused.value.report.failures] == ["production.monitoring_reference"]


def _race(uri: str, name: str, version: str, barrier: Any, results: Any) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    barrier.wait(timeout=60)
    try:
        transition(
            client,
            name,
            version,
            "Production",
            thresholds=THRESHOLDS,
            actor=f"racer-{version}",
            force=True,
            reason=f"race {version}",
        )
        results.put((version, "ok"))
    except Exception as exc:
        results.put((version, repr(exc)))


def test_racing_promotions_from_two_processes_leave_one_production_version(store: Store) -> None:
    name = store.new_model()
    first, a, b = (store.make_version(name) for _ in range(3))
    for version in (first, a, b):
        promote(store, name, version, "Staging")
    promote(store, name, first, "Production")

    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    racers = [
        context.Process(target=_race, args=(store.uri, name, v, barrier, results)) for v in (a, b)
    ]
    for racer in racers:
        racer.start()
    outcomes = dict(results.get(timeout=120) for _ in racers)
    for racer in racers:
        racer.join(timeout=30)

    assert outcomes == {a: "ok", b: "ok"}
    production = [v for v, stage in stages(store, name).items() if stage == "Production"]
    assert len(production) == 1
    assert aliases(store, name) == {"champion": production[0]}
    loser = a if production[0] == b else b
    # serialised: the winner replaced the loser, whose own promotion replaced the first champion
    assert (
        store.client.get_model_version(name, production[0]).tags["attrition.rollback_target"]
        == loser
    )
    assert stages(store, name)[first] == "Archived" and stages(store, name)[loser] == "Archived"


def test_rollback_restores_previous_champion_and_alias_follows(store: Store) -> None:
    name = store.new_model()
    v1, v2 = store.make_version(name), store.make_version(name)
    with pytest.raises(RegistryError, match="no previous Production version"):
        rollback(store.client, name, actor="tester")
    for version in (v1, v2):
        promote(store, name, version, "Staging")
        promote(store, name, version, "Production")

    restored, archived = rollback(
        store.client, name, actor="oncall", reason="bad scores in HR tool"
    )

    assert (restored, archived) == (v1, v2)
    assert stages(store, name) == {v1: "Production", v2: "Archived"}
    assert aliases(store, name) == {"champion": v1}
    last = read_trail(store.client, name)[-1]
    assert (last.action, last.version, last.actor, last.reason) == (
        "rollback",
        v1,
        "oncall",
        "bad scores in HR tool",
    )


def test_audit_trail_holds_every_step(store: Store) -> None:
    name = store.new_model()
    v1, v2 = store.make_version(name), store.make_version(name)
    for version, stage in [
        (v1, "Staging"),
        (v1, "Production"),
        (v2, "Staging"),
        (v2, "Production"),
    ]:
        promote(store, name, version, stage, reason=f"step {version}->{stage}")
    rollback(store.client, name, actor="tester", reason="scores drifted")
    promote(store, name, v1, "Archived", reason="retire the model")

    trail = read_trail(store.client, name)

    assert [(e.version, e.action, e.from_stage, e.to_stage) for e in trail] == [
        (v1, "transition", "None", "Staging"),
        (v1, "transition", "Staging", "Production"),
        (v2, "transition", "None", "Staging"),
        (v1, "archive", "Production", "Archived"),
        (v2, "transition", "Staging", "Production"),
        (v2, "archive", "Production", "Archived"),
        (v1, "rollback", "Archived", "Production"),
        (v1, "transition", "Production", "Archived"),
    ]
    assert all(e.actor == "tester" and e.at.endswith("+00:00") for e in trail)
    assert trail[0].reason == f"step {v1}->Staging" and trail[-1].reason == "retire the model"
    assert trail[3].reason == f"replaced by version {v2}"
    gated = [e for e in trail[:-1] if e.action == "transition"]
    assert all(e.gates and "gates passed (passed)" in e.gates for e in gated)
    assert aliases(store, name) == {}


def test_archiving_moves_the_alias_and_same_stage_is_an_error(store: Store) -> None:
    name = store.new_model()
    version = store.make_version(name)
    promote(store, name, version, "Staging")
    with pytest.raises(RegistryError, match="already in Staging"):
        promote(store, name, version, "staging")
    report = promote(store, name, version, "Archived", reason="superseded")
    assert report.results == [] and report.passed
    assert stages(store, name)[version] == "Archived" and aliases(store, name) == {}


def test_unknown_model_version_and_stage_are_named(store: Store) -> None:
    name = store.new_model()
    with pytest.raises(RegistryError, match=f"no registered model named '{name}'"):
        promote(store, name, "1", "Staging")
    version = store.make_version(name)
    with pytest.raises(RegistryError, match="has no version '99'"):
        promote(store, name, "99", "Staging")
    with pytest.raises(RegistryError, match="unknown stage 'Prod'"):
        promote(store, name, version, "Prod")


def test_file_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    (tmp_path / "mlflow.db").touch()
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with registry_lock(uri, "m"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    start = time.monotonic()
    with pytest.raises(RegistryError, match="busy"), registry_lock(uri, "m", timeout=0.3):
        pass
    assert time.monotonic() - start >= 0.3
    release.set()
    thread.join()
    with registry_lock(uri, "m", timeout=1):
        pass
    assert (tmp_path / "mlflow.db.attrition-lock").exists()


def test_refusal_message_names_value_and_threshold_of_every_failure() -> None:
    results = [
        compare("performance.accuracy", 0.8, 0.85, ">", "Test accuracy"),
        compare("performance.roc_auc", math.nan, 0.85, ">", "Test ROC AUC"),
        compare("performance.f1", 0.9, 0.8, ">", "Test F1"),
    ]
    message = str(TransitionRefused(build_report("Staging", "2", results)))
    assert "version 2 refused for Staging: 2 gate(s) failed" in message
    assert "performance.accuracy = 0.800 (needs > 0.85)" in message
    assert "performance.roc_auc = missing (needs > 0.85)" in message


@pytest.mark.parametrize(
    ("given", "stage"), [("staging", "Staging"), (" PRODUCTION", "Production")]
)
def test_normalise_stage(given: str, stage: str) -> None:
    assert normalise_stage(given) == stage


def test_unknown_stage_names_the_valid_ones() -> None:
    with pytest.raises(RegistryError, match="Staging, Production, Archived"):
        normalise_stage("Live")


def test_the_trail_is_one_artifact_and_one_summary_tag(store: Store) -> None:
    from attrition.registry.audit import SUMMARY_TAG, TRAIL_ARTIFACT

    name = store.new_model()
    version = store.make_version(name, metrics={"test_roc_auc": 0.7})
    promote(store, name, version, "Staging", force=True, reason="pilot")
    promote(store, name, version, "Production")

    mv = store.client.get_model_version(name, version)
    assert not [k for k in mv.tags if k.startswith("attrition.audit.")]
    summary = mv.tags[SUMMARY_TAG]
    assert re.match(r"chain 2 head [0-9a-f]{64}; 2 events;", summary)
    assert "Staging->Production" in summary
    assert len(summary) < 400
    text = store.client.download_artifacts(
        mv.run_id, TRAIL_ARTIFACT, str(store.artifact_root.parent / f"dl-{name}")
    )
    lines = Path(text).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["to_stage"] for line in lines] == ["Staging", "Production"]
    assert [e.to_stage for e in read_trail(store.client, name)] == ["Staging", "Production"]


def test_per_event_tags_are_read_and_migrated(store: Store) -> None:
    from attrition.registry.audit import AuditEvent, audit_tag

    name = store.new_model()
    version = store.make_version(name, metrics={"test_roc_auc": 0.7})
    old = AuditEvent(name, version, "transition", "None", "Staging", "ann", "old", seq=1)
    old.at = "2020-01-01T00:00:00+00:00"
    store.client.set_model_version_tag(name, version, audit_tag(1), old.to_json())
    assert [e.actor for e in read_trail(store.client, name)] == ["ann"]

    promote(store, name, version, "Staging", force=True, reason="pilot")

    trail = read_trail(store.client, name)
    assert (trail[0].seq, trail[0].actor, len(trail)) == (1, "ann", 2)
    tags = store.client.get_model_version(name, version).tags
    assert audit_tag(1) not in tags and "; 2 events;" in tags["attrition.audit"]
    assert trail[0].legacy and trail[0].hash and trail[1].prev_hash == trail[0].hash
