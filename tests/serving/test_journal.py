"""The prediction journal: durable before the answer, replayed once after a crash."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attrition.serving.journal import Journal, decode, default_directory, encode, replay
from attrition.serving.prediction_store import PredictionRecord, PredictionStore
from attrition.serving.recorder import PredictionRecorder


def record(i: int) -> PredictionRecord:
    return PredictionRecord(
        model_name="m",
        model_version="3",
        employee_id=str(i),
        probability=0.25 + i / 10_000,
        decision=i % 2,
        risk_band="low",
        latency_ms=0.3,
        features={"Age": 20 + i % 40, "OverTime": "No", "Rate": float("nan")},
    )


def test_a_line_gives_back_the_record() -> None:
    original = record(7)
    again = decode(encode(original))
    assert again is not None
    assert again.row()["features"] == original.row()["features"]
    assert (again.request_id, again.created_at, again.probability) == (
        original.request_id,
        original.created_at,
        original.probability,
    )
    assert decode(b'{"request_id": "x"') is None


def test_default_directory_sits_beside_a_sqlite_store(tmp_path: Path) -> None:
    assert default_directory(f"sqlite:///{tmp_path / 'p.db'}") == tmp_path / "p-journal"


def test_concurrent_requests_share_one_fsync(tmp_path: Path) -> None:
    commits: list[int] = []

    class Counting(Journal):
        def _commit(self, records):  # type: ignore[no-untyped-def]
            commits.append(len(records))
            return super()._commit(records)

    arrived: list[PredictionRecord] = []
    journal = Counting(tmp_path, lambda records, _segment: arrived.extend(records))
    journal.open()

    async def many() -> None:
        await asyncio.gather(*(journal.append([record(i)]) for i in range(200)))

    asyncio.run(many())
    journal.close(remove=False)
    assert len(arrived) == 200
    assert sum(commits) == 200
    assert len(commits) < 200  # grouped: fewer commits than requests
    lines = b"".join(p.read_bytes() for p in tmp_path.glob("journal-*.jsonl")).splitlines()
    assert len(lines) == 200


CRASH = """
import asyncio, os, sys
from pathlib import Path
from attrition.serving.journal import Journal
from tests.serving.test_journal import record
journal = Journal(Path(sys.argv[1]), lambda records, segment: None, sync=sys.argv[3] == "1")
journal.open()
async def main():
    for i in range(int(sys.argv[2])):
        await journal.append([record(i)])
asyncio.run(main())
print(journal.tag, flush=True)
os._exit(0)  # dies without storing or removing anything
"""


def crash_after(directory: Path, n: int, sync: bool = True) -> None:
    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-c", CRASH, str(directory), str(n), "1" if sync else "0"],
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
    )


@pytest.mark.parametrize("sync", [True, False])
def test_replay_stores_a_dead_process_journal_once(tmp_path: Path, sync: bool) -> None:
    journal_dir = tmp_path / "journal"
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    crash_after(journal_dir, 120, sync)  # without fdatasync the kernel still has it all
    # Part of it reached the store before the crash, and the tail of the last line is torn.
    segment = next(journal_dir.glob("journal-*.jsonl"))
    lines = segment.read_bytes().splitlines(keepends=True)
    store.write_many([decode(line) for line in lines[:50]])  # type: ignore[misc]
    with segment.open("ab") as handle:
        handle.write(b'{"request_id": "torn"')
    assert replay(journal_dir, store) == 70
    assert store.count() == 120
    assert list(journal_dir.iterdir()) == []
    assert replay(journal_dir, store) == 0
    frame = store.read()
    assert frame["request_id"].is_unique


def test_replay_leaves_a_live_journal_alone(tmp_path: Path) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    journal = Journal(tmp_path, lambda records, segment: None)
    journal.open()
    journal.append_blocking([record(1), record(2)])
    assert replay(tmp_path, store) == 0
    assert store.count() == 0
    journal.close(remove=False)  # unlocked but kept: as after a crash
    assert replay(tmp_path, store) == 2


def test_recorder_journals_stores_and_cleans_up(tmp_path: Path) -> None:
    journal_dir = tmp_path / "journal"
    crash_after(journal_dir, 30)
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    recorder = PredictionRecorder(store, linger_s=0.01, journal_dir=journal_dir)
    recorder.start()  # replays the crashed process's 30
    assert store.count() == 30

    async def serve() -> None:
        await asyncio.gather(*(recorder.record_durably([record(i)]) for i in range(40)))

    asyncio.run(serve())
    assert recorder.flush(timeout_s=30)
    recorder.close()
    assert PredictionStore(store.url).count() == 70
    assert list(journal_dir.iterdir()) == []


def test_stored_segments_are_deleted_while_serving(tmp_path: Path) -> None:
    store = PredictionStore(f"sqlite:///{tmp_path / 'p.db'}")
    recorder = PredictionRecorder(store, linger_s=0.01, journal_dir=tmp_path / "j")
    recorder.start()
    assert recorder.journal is not None
    recorder.journal.segment_bytes = 1  # every commit starts a new segment

    async def serve() -> None:
        for i in range(30):
            await recorder.record_durably([record(i)])
            await asyncio.sleep(0.002)

    asyncio.run(serve())
    assert recorder.flush(timeout_s=30)
    recorder.journal.stored({})  # nothing new: the current segment stays
    assert len(list((tmp_path / "j").glob("*.jsonl"))) <= 2
    recorder.close()
    assert store.count() == 30


def test_an_unwritable_journal_refuses_the_answer(tmp_path: Path) -> None:
    from attrition.serving.journal import JournalError

    journal = Journal(tmp_path, lambda records, segment: None)
    journal.open()
    assert journal._fd is not None
    os.close(journal._fd)
    journal._fd = os.open(os.devnull, os.O_RDONLY)  # writes now fail
    with pytest.raises(JournalError):
        journal.append_blocking([record(1)])
    journal.close(remove=True)
