"""Writes served predictions to the prediction store from a background thread.

With a journal directory, a request's records are first made durable in the
process's journal (`attrition.serving.journal`, group commit) and only then
answered; without one, handlers only put records on an in-memory queue. One
writer thread drains the queue in batches, one transaction per batch, and
retries when the database is unavailable. `close` writes everything still
queued; records that cannot be written even then are spilled to a JSON-lines
file and logged, never silently dropped. At start, journals left by crashed
server processes are replayed into the store.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections import Counter
from pathlib import Path

from attrition.serving.journal import Journal, replay
from attrition.serving.prediction_store import PredictionRecord, PredictionStore

log = logging.getLogger("attrition.serving")

PURGE_EVERY_S = 6 * 3600
FINAL_ATTEMPTS = 5  # tries per batch once shutting down, before spilling it to a file


class PredictionRecorder:
    """Batches prediction records into a `PredictionStore`.

    Args:
        store: where records go.
        batch_size: most records per transaction.
        linger_s: how often the writer wakes to write what arrived (a single employee's
            prediction reaches the store at most about this much later).
        retention_days: purge older predictions at start and every six hours (None: keep).
        spill_dir: where unwritable records land at shutdown.
        journal_dir: where the crash journal lives (None: no journal; a crash loses
            what was answered but not yet written).
        journal_sync: `fdatasync` the journal before each answer.
    """

    def __init__(
        self,
        store: PredictionStore,
        *,
        batch_size: int = 500,
        linger_s: float = 0.2,
        retention_days: int | None = None,
        spill_dir: Path | None = None,
        journal_dir: Path | None = None,
        journal_sync: bool = True,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.linger_s = linger_s
        self.retention_days = retention_days
        self.spill_dir = spill_dir or Path.cwd()
        self.journal_dir = journal_dir
        self.journal_sync = journal_sync
        self.journal: Journal | None = None
        self.failures = 0
        # Each record with its journal segment (None: not journaled).
        self._queue: queue.SimpleQueue[tuple[PredictionRecord, int | None]] = queue.SimpleQueue()
        self._submitted = 0
        self._written = 0
        self._done = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._last_purge = 0.0

    @property
    def pending(self) -> int:
        """Records accepted but not yet written."""
        return self._submitted - self._written

    def start(self) -> None:
        """Replay the journals of stopped servers, open this one's, start the writer thread."""
        if self.journal_dir is not None and self.journal is None:
            replay(self.journal_dir, self.store)
            self.journal = Journal(self.journal_dir, self._journaled, sync=self.journal_sync)
            self.journal.open()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="attrition-prediction-writer", daemon=True
            )
            self._thread.start()

    def record(self, record: PredictionRecord) -> None:
        """Queue one record (thread-safe, never blocks; lost if the process is killed)."""
        self._submitted += 1
        self._queue.put((record, None))

    async def record_durably(self, records: list[PredictionRecord]) -> None:
        """Return once `records` survive a crash of this process (journaled), then store them.

        Raises `JournalError` when they cannot be journaled. Without a journal, queues them.
        """
        if self.journal is None:
            self.record_many(records)
            return
        await self.journal.append(records)

    def _journaled(self, records: list[PredictionRecord], segment: int) -> None:
        self._submitted += len(records)
        for record in records:
            self._queue.put((record, segment))

    def record_many(self, records: list[PredictionRecord]) -> None:
        """Queue several records."""
        for record in records:
            self.record(record)

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        target = self._submitted
        deadline = time.monotonic() + timeout_s
        with self._done:
            while self._written < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._done.wait(left)
        return True

    def close(self, timeout_s: float = 60.0) -> None:
        """Write everything queued, then stop the writer (and remove the journal, all stored)."""
        if self._thread is None:
            return
        if self.journal is not None:
            self.journal.stop()  # nothing more arrives
        self._closing.set()
        self._thread.join(timeout=timeout_s)
        finished = not self._thread.is_alive()
        if not finished:
            log.error("prediction writer did not finish in %.0f s", timeout_s)
        self._thread = None
        if self.journal is not None and finished:
            self.journal.close(remove=True)
            self.journal = None
        self.store.dispose()

    def _drain(self) -> list[tuple[PredictionRecord, int | None]]:
        records: list[tuple[PredictionRecord, int | None]] = []
        while True:
            try:
                records.append(self._queue.get_nowait())
            except queue.Empty:
                return records

    def _run(self) -> None:
        # The writer sleeps on its own event rather than blocking on the queue: a
        # blocked `get` would be woken (and take the GIL) by every request's `put`.
        self._maybe_purge()
        while True:
            closing = self._closing.wait(self.linger_s)
            records = self._drain()
            for start in range(0, len(records), self.batch_size):
                chunk = records[start : start + self.batch_size]
                self._write([record for record, _ in chunk], final=closing)
                if self.journal is not None:
                    self.journal.stored(Counter(seg for _, seg in chunk if seg is not None))
            if closing and self._queue.empty():
                return
            self._maybe_purge()

    def _write(self, batch: list[PredictionRecord], final: bool) -> None:
        """Write one batch, retrying until it lands (or, when shutting down, spilling it)."""
        batch = self._serialisable(batch)
        delay = 0.1
        tries = 0
        while True:
            tries += 1
            try:
                self.store.write_many(batch)
                break
            except Exception as exc:
                self.failures += 1
                log.error(
                    "prediction store write of %d record(s) failed (try %d): %s",
                    len(batch),
                    tries,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                )
                if (final or self._closing.is_set()) and tries >= FINAL_ATTEMPTS:
                    self._spill(batch)
                    break
                self._closing.wait(delay if not self._closing.is_set() else 0.1)
                delay = min(delay * 2, 5.0)
        with self._done:
            self._written += len(batch)
            self._done.notify_all()

    def _serialisable(self, batch: list[PredictionRecord]) -> list[PredictionRecord]:
        """Records that can become rows; any other is spilled now, not retried forever."""
        good, bad = [], []
        for record in batch:
            try:
                record.row()
            except (TypeError, ValueError):
                bad.append(record)
            else:
                good.append(record)
        if bad:
            log.error("%d prediction record(s) could not be serialised", len(bad))
            self._spill(bad, raw=True)
            with self._done:
                self._written += len(bad)
                self._done.notify_all()
        return good

    def _spill(self, batch: list[PredictionRecord], raw: bool = False) -> None:
        path = self.spill_dir / f"unsaved-predictions-{os.getpid()}-{int(time.time())}.jsonl"
        with path.open("a", encoding="utf-8") as handle:
            for record in batch:
                row = (
                    {k: v for k, v in vars(record).items() if k != "features"}
                    if raw
                    else record.row()
                )
                row["created_at"] = record.created_at.isoformat()
                handle.write(json.dumps(row, default=str) + "\n")
        log.error("wrote %d unsaved prediction(s) to %s", len(batch), path)

    def _maybe_purge(self) -> None:
        if self.retention_days is None:
            return
        now = time.monotonic()
        if self._last_purge and now - self._last_purge < PURGE_EVERY_S:
            return
        self._last_purge = now
        try:
            removed = self.store.purge(self.retention_days)
        except Exception as exc:
            log.error("prediction store purge failed: %s", str(exc).splitlines()[0])
            return
        if removed:
            log.info("purged %d prediction(s) older than %d days", removed, self.retention_days)
