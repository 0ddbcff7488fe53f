"""The prediction store on SQLite and, for real, on PostgreSQL."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from attrition.serving.prediction_store import COLUMNS, PredictionRecord, PredictionStore


def record(i: int, version: str = "1", days_ago: float = 0.0) -> PredictionRecord:
    return PredictionRecord(
        model_name="employee_attrition_model",
        model_version=version,
        employee_id=None if i % 10 == 0 else str(1000 + i),
        probability=i / 1000,
        decision=int(i % 2),
        risk_band=("low", "medium", "high")[i % 3],
        latency_ms=0.5,
        features={"Age": 20 + i % 40, "OverTime": "Yes" if i % 2 else "No", "Rate": 0.25},
        created_at=datetime.now(UTC) - timedelta(days=days_ago),
        sensitive={"Gender": "Female" if i % 3 else "Male", "Age": 99} if i % 4 else None,
    )


def check_store(store: PredictionStore) -> None:
    """The contract every backend must meet."""
    assert store.count() == 0
    assert store.read().empty
    first_batch = [record(i) for i in range(20)]
    assert store.write_many(first_batch) == 20
    assert store.write_many([record(i, version="2", days_ago=10) for i in range(5)]) == 5
    assert store.write_many([]) == 0
    assert store.count() == 25
    # A retried or replayed batch stores only the requests not stored yet.
    assert store.write_many([*first_batch[:3], first_batch[0]]) == 0
    assert store.count() == 25

    frame = store.read()
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert {"Age", "OverTime", "Rate"} <= set(frame.columns)
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert frame["request_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert frame["employee_id"].isna().sum() == 3
    first = frame[frame["employee_id"] == "1001"].iloc[0]
    assert first["Age"] == 21 and first["OverTime"] == "Yes" and first["probability"] == 0.001
    assert first["Gender"] == "Female"  # a sensitive attribute; Age stays the feature's value
    assert frame["Gender"].isna().sum() == 5 + 2  # records without attributes: i % 4 == 0

    assert len(store.read(model_version="2")) == 5
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert len(store.read(since=week_ago)) == 20
    assert len(store.read(until=week_ago)) == 5
    assert len(store.read(since=week_ago.replace(tzinfo=None))) == 20  # naive = UTC

    assert store.purge(older_than_days=7) == 5
    assert store.count() == 20
    with pytest.raises(ValueError, match="older_than_days"):
        store.purge(-1)


def test_sqlite_store(tmp_path: Path) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'nested' / 'predictions.db'}")
    check_store(store)
    store.dispose()


def test_missing_feature_values_are_stored_as_null(tmp_path: Path) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    odd = record(1)
    odd.features = {"Age": float("nan"), "OverTime": "Yes"}
    store.write_many([odd])
    assert store.read()["Age"].isna().all()


OLD_COLUMNS = [c for c in COLUMNS if c != "sensitive"]


def old_table(url: str) -> None:
    """The predictions table as a version without the `sensitive` column made it, one row in."""
    import sqlalchemy as sa

    from attrition.serving.prediction_store import make_engine, predictions

    engine = make_engine(url)
    old = sa.Table(
        "predictions",
        sa.MetaData(),
        *(column.copy() for column in predictions.columns if column.name != "sensitive"),
    )
    old.create(engine)
    row = record(1).row()
    with engine.begin() as conn:
        conn.execute(old.insert(), [{k: row[k] for k in OLD_COLUMNS if k != "id"}])
    engine.dispose()


def check_migration(url: str) -> None:
    old_table(url)
    store = PredictionStore(url)
    store.write_many([record(3)])
    frame = store.read()
    assert len(frame) == 2 and frame["sensitive"].isna().tolist() == [True, False]
    assert frame["Gender"].isna().tolist() == [True, False]
    PredictionStore(url).dispose()  # a second start finds nothing to add
    store.dispose()


def test_an_older_sqlite_table_gains_the_sensitive_column(tmp_path: Path) -> None:
    check_migration(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
def test_an_older_postgres_table_gains_the_sensitive_column() -> None:
    from tests.registry.fixtures import postgres_database

    with postgres_database() as url:
        check_migration(url)


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    bad = record(1)
    bad.created_at = datetime.now()
    with pytest.raises(Exception, match="timezone-aware"):
        store.write_many([bad])


def _writer(url: str, offset: int, batches: int) -> None:
    store = PredictionStore(url)
    for b in range(batches):
        store.write_many([record(offset + b * 10 + i) for i in range(10)])
    store.dispose()


def concurrent_writers(url: str, processes: int = 3, batches: int = 40) -> None:
    """Several processes (like several server workers) writing at once."""
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_writer, args=(url, k * 100_000, batches)) for k in range(processes)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0


def test_sqlite_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    PredictionStore(url).dispose()  # table exists before the race, as after server start
    concurrent_writers(url)
    assert PredictionStore(url).count() == 3 * 40 * 10


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this module, dropped afterwards."""
    from tests.registry.fixtures import postgres_database

    with postgres_database() as url:
        yield url


@pytest.mark.postgres
def test_postgres_store(postgres_url: str) -> None:
    store = PredictionStore(postgres_url)
    assert store.engine.dialect.name == "postgresql"
    check_store(store)
    frame = store.read()
    assert pd.api.types.is_datetime64_any_dtype(frame["created_at"])
    store.dispose()


@pytest.mark.postgres
def test_postgres_concurrent_processes_lose_nothing(postgres_url: str) -> None:
    store = PredictionStore(postgres_url)
    before = store.count()
    concurrent_writers(postgres_url, processes=2, batches=20)
    assert store.count() == before + 2 * 20 * 10
    store.dispose()


def _rewriter(url: str, records: list[PredictionRecord], reverse: bool) -> None:
    store = PredictionStore(url)
    ordered = records[::-1] if reverse else records
    for start in range(0, len(ordered), 25):
        store.write_many(ordered[start : start + 25])
    store.dispose()


@pytest.mark.postgres
def test_postgres_processes_writing_the_same_requests_store_each_once(postgres_url: str) -> None:
    """Like a journal replayed while another process retries the same batch: no error, no twin."""
    store = PredictionStore(postgres_url)
    before = store.count()
    records = [record(i) for i in range(400)]
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_rewriter, args=(postgres_url, records, reverse))
        for reverse in (False, True)
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0]
    assert store.count() == before + 400
    stored = set(store.read()["request_id"])
    assert {r.request_id for r in records} <= stored
    store.dispose()
