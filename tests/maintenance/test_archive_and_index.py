"""Prediction archives and indexes on real SQLite and PostgreSQL stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from attrition.maintenance.archive import archive_predictions, read_window
from attrition.maintenance.indexes import create_indexes, index_states
from attrition.maintenance.stores import engine_for, table_bytes
from attrition.serving.prediction_store import PredictionRecord, PredictionStore

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def make_record(at: datetime, n: int) -> PredictionRecord:
    return PredictionRecord(
        model_name="staff_model",
        model_version=str(1 + n % 3),
        model_semver=f"1.{n % 3}.0",
        employee_id=None if n % 7 == 0 else f"E{n:05d}",
        probability=(n % 97) / 97,
        decision=int(n % 97 > 40),
        risk_band=("low", "medium", "high")[n % 3],
        latency_ms=0.5 + n / 1000,
        features={"Age": 20 + n % 40, "OverTime": "Yes" if n % 2 else "No", "Rate": n / 3},
        created_at=at,
    )


@pytest.fixture
def store(database_url: str) -> PredictionStore:
    """A prediction store with 2 years of predictions, three a week."""
    predictions = PredictionStore(database_url)
    start = NOW - timedelta(days=730)
    predictions.write_many(
        make_record(start + timedelta(days=n * 7 / 3, seconds=n), n) for n in range(313)
    )
    return predictions


def everything(store: PredictionStore) -> pd.DataFrame:
    return read_window(store.engine, NOW - timedelta(days=4000), NOW + timedelta(days=1))


def test_old_predictions_round_trip_exactly_through_monthly_zstd_parquet(
    store: PredictionStore, tmp_path: Path
) -> None:
    before = everything(store)
    cutoff = NOW - timedelta(days=365)
    old = before[before["created_at"] < cutoff].reset_index(drop=True)

    done = archive_predictions(store.url, timedelta(days=365), tmp_path / "archive", now=NOW)

    assert done.rows == len(old) > 100
    files = sorted((tmp_path / "archive").rglob("*.parquet"))
    assert len(files) == len(done.files)
    months = {f.parent.name for f in files}
    assert months == {f"month={m}" for m in old["created_at"].dt.strftime("%Y-%m")}
    back = pd.concat([pd.read_parquet(f) for f in files]).sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, old, check_dtype=False)
    for f in files:
        column = pq.ParquetFile(f).metadata.row_group(0).column(0)
        assert column.compression == "ZSTD"
    remaining = everything(store)
    assert len(remaining) == len(before) - len(old)
    assert (remaining["created_at"] >= cutoff).all()

    again = archive_predictions(store.url, timedelta(days=365), tmp_path / "archive", now=NOW)
    assert again.rows == 0 and len(list((tmp_path / "archive").rglob("*.parquet"))) == len(files)


def test_a_failed_read_back_deletes_nothing(
    store: PredictionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attrition.errors import AttritionError

    count = store.count()
    real = pd.read_parquet

    def corrupt(*args: object, **kwargs: object) -> pd.DataFrame:
        frame = real(*args, **kwargs)  # type: ignore[arg-type]
        return frame.assign(probability=frame["probability"] + 1)

    monkeypatch.setattr(pd, "read_parquet", corrupt)
    with pytest.raises(AttritionError, match="did not read back equal"):
        archive_predictions(store.url, timedelta(days=365), tmp_path / "archive", now=NOW)
    assert store.count() == count
    assert not list((tmp_path / "archive").rglob("*.parquet"))


def test_indexes_are_created_once_and_then_reported_present(store: PredictionStore) -> None:
    engine = engine_for(store.url)
    try:
        before = {s.spec.name: s.present for s in index_states(engine, "predictions")}
        assert not before["attrition_ix_predictions_employee"]
        created = create_indexes(engine, "predictions")
        assert set(created) == {name for name, present in before.items() if not present}
        assert create_indexes(engine, "predictions") == []
        assert all(s.present for s in index_states(engine, "predictions"))
        names = {i["name"] for i in sa.inspect(engine).get_indexes("predictions")}
        assert set(created) <= names
        assert (table_bytes(engine, "predictions") or 0) > 0
    finally:
        engine.dispose()
