"""The background writer: nothing lost under concurrency, on failure, or at shutdown."""

from __future__ import annotations

import threading
from pathlib import Path

from attrition.serving.prediction_store import PredictionRecord, PredictionStore
from attrition.serving.recorder import PredictionRecorder


def record(i: int, version: str = "1") -> PredictionRecord:
    return PredictionRecord(
        model_name="m",
        model_version=version,
        employee_id=str(i),
        probability=0.5,
        decision=1,
        risk_band="high",
        latency_ms=0.4,
        features={"Age": 30 + i % 5, "OverTime": "Yes"},
    )


def test_records_from_many_threads_all_arrive(tmp_path: Path) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    recorder = PredictionRecorder(store, batch_size=50, linger_s=0.01)
    recorder.start()

    def produce(offset: int) -> None:
        for i in range(250):
            recorder.record(record(offset + i))

    threads = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert recorder.flush(timeout_s=30)
    assert store.count() == 1000
    recorder.close()


def test_close_writes_what_is_still_queued(tmp_path: Path) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    recorder = PredictionRecorder(store, linger_s=5.0)
    recorder.start()
    recorder.record_many([record(i) for i in range(37)])
    recorder.close()
    assert PredictionStore(store.url).count() == 37


class FlakyStore:
    """Fails the first `failures` writes, then behaves."""

    def __init__(self, inner: PredictionStore, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.url = inner.url

    def write_many(self, records: list[PredictionRecord]) -> int:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("database is down")
        return self.inner.write_many(records)

    def purge(self, older_than_days: int) -> int:
        return 0

    def dispose(self) -> None:
        self.inner.dispose()


def test_writes_are_retried_until_the_store_answers(tmp_path: Path) -> None:
    inner = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    recorder = PredictionRecorder(FlakyStore(inner, failures=3), linger_s=0.01)  # type: ignore[arg-type]
    recorder.start()
    recorder.record_many([record(i) for i in range(10)])
    assert recorder.flush(timeout_s=30)
    recorder.close()
    assert inner.count() == 10
    assert recorder.failures == 3


def test_unwritable_records_are_spilled_at_shutdown_not_dropped(tmp_path: Path) -> None:
    inner = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    recorder = PredictionRecorder(
        FlakyStore(inner, failures=10_000),  # type: ignore[arg-type]
        linger_s=5.0,
        spill_dir=tmp_path,
    )
    recorder.start()
    recorder.record_many([record(i) for i in range(5)])
    recorder.close()
    spilled = list(tmp_path.glob("unsaved-predictions-*.jsonl"))
    assert len(spilled) == 1
    assert len(spilled[0].read_text().splitlines()) == 5


def test_retention_purges_old_predictions(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    old = record(1)
    old.created_at = datetime.now(UTC) - timedelta(days=40)
    store.write_many([old, record(2)])
    recorder = PredictionRecorder(store, retention_days=30)
    recorder.start()
    recorder.close()
    assert PredictionStore(store.url).count() == 1


def test_a_record_that_cannot_be_stored_does_not_block_the_others(tmp_path: Path) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    recorder = PredictionRecorder(store, linger_s=0.01, spill_dir=tmp_path)
    recorder.start()
    poison = record(0)
    poison.probability = "not a number"  # type: ignore[assignment]
    recorder.record_many([record(1), poison, record(2)])
    assert recorder.flush(timeout_s=10)
    recorder.close()
    assert PredictionStore(store.url).count() == 2
    assert len(list(tmp_path.glob("unsaved-predictions-*.jsonl"))) == 1
